#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>
#include <s8net/core/format.hpp>
#include <s8net/data/archive_reader.hpp>
#include <s8net/data/image_codec.hpp>
#include <s8net/data/image_folder.hpp>

#include <tbb/parallel_for.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

namespace s8net {
namespace {

namespace fs = std::filesystem;

struct ImageFile {
  std::string name;  // as found: a path inside the directory or archive
  int split = 0;     // 0 train, 1 test
  int label = 0;
  std::vector<uint8_t> bytes;
};

bool has_image_extension(const fs::path& name) {
  std::string extension = name.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return extension == ".jpg" || extension == ".jpeg" || extension == ".png";
}

std::string too_large_for_an_image() { return ", more than an image may have (" + mebibytes(kMaxImageFileBytes) + ")"; }

std::string known_classes() {
  std::string list;
  for (const auto name : kClassNames) (list += list.empty() ? "" : ", ") += name;
  return list;
}

// Classifies one file; nullopt for files that are not images (READMEs and the like are skipped).
std::optional<ImageFile> classify(const std::string& where, const std::string& name, std::vector<uint8_t>&& bytes) {
  const fs::path file(name);
  if (!has_image_extension(file)) return std::nullopt;
  const std::string class_folder = file.parent_path().filename().string();
  const std::string split_folder = file.parent_path().parent_path().filename().string();
  const std::string shown = where + ": " + name;
  if (split_folder != "train" && split_folder != "test")
    throw Error(shown + ": expected <train|test>/<class>/<image>, but the folder above the class is '" + split_folder +
                "'");
  const int label = class_index(class_folder);
  if (label < 0) throw Error(shown + ": unknown class folder '" + class_folder + "' (known: " + known_classes() + ")");
  return ImageFile{name, split_folder == "test" ? 1 : 0, label, std::move(bytes)};
}

// The image files under root, depth first. A folder that cannot be listed is refused by its own
// path (the standard iterator's error names none when it fails while advancing).
std::vector<fs::path> image_files_under(const fs::path& root) {
  std::vector<fs::path> found, folders{root};
  while (!folders.empty()) {
    const fs::path folder = std::move(folders.back());
    folders.pop_back();
    std::error_code error;
    fs::directory_iterator entries(folder, error);
    for (; !error && entries != fs::directory_iterator(); entries.increment(error)) {
      std::error_code ignored;
      // Linked folders are not followed (a link cycle would never end); linked images are read.
      if (fs::is_directory(entries->symlink_status(ignored)))
        folders.push_back(entries->path());
      else if (entries->is_regular_file(ignored) && has_image_extension(entries->path()))
        found.push_back(entries->path());
    }
    if (error) throw Error(folder.string() + ": cannot list the folder: " + error.message());
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::vector<ImageFile> collect(const fs::path& path) {
  std::vector<ImageFile> files;
  auto add = [&](const std::string& name, std::vector<uint8_t>&& bytes) {
    if (auto file = classify(path.string(), name, std::move(bytes))) files.push_back(std::move(*file));
  };
  if (fs::is_directory(path)) {
    for (const fs::path& file : image_files_under(path)) {
      // The path as found, not as resolved: a symlinked image belongs to the folder the link sits in.
      const std::string name = file.lexically_relative(path).string();
      if (const auto size = static_cast<int64_t>(fs::file_size(file)); size > kMaxImageFileBytes)
        throw Error(path.string() + ": " + name + " is " + with_thousands(size) + " bytes" + too_large_for_an_image());
      add(name, read_file_bytes(file));
    }
  } else if (fs::exists(path)) {
    const ArchiveSelection images{[](const std::string& name) { return has_image_extension(name); }, kMaxImageFileBytes,
                                  "an image"};
    for_each_archive_file(path, images, add);
  } else {
    throw Error(path.string() + ": no such file or directory");
  }
  return files;
}

// Each class's files by name, then classes in turn.
std::vector<const ImageFile*> interleaved(const std::vector<ImageFile>& files, int split) {
  std::array<std::vector<const ImageFile*>, kClassCount> by_class;
  for (const ImageFile& f : files)
    if (f.split == split) by_class[static_cast<size_t>(f.label)].push_back(&f);
  size_t longest = 0;
  for (auto& list : by_class) {
    std::sort(list.begin(), list.end(), [](const ImageFile* a, const ImageFile* b) { return a->name < b->name; });
    longest = std::max(longest, list.size());
  }
  std::vector<const ImageFile*> order;
  for (size_t i = 0; i < longest; ++i)
    for (const auto& list : by_class)
      if (i < list.size()) order.push_back(list[i]);
  return order;
}

Dataset decode_split(const std::vector<const ImageFile*>& order, const std::string& where, int64_t& done, int64_t total,
                     const ImportProgress& progress) {
  Dataset set;
  set.pixels.resize(order.size() * kImageBytes);
  set.labels.resize(order.size());
  std::vector<std::string> errors(order.size());
  constexpr size_t kChunk = 4096;  // progress granularity
  for (size_t begin = 0; begin < order.size(); begin += kChunk) {
    const size_t end = std::min(order.size(), begin + kChunk);
    tbb::parallel_for(begin, end, [&](size_t i) {
      const ImageFile& file = *order[i];
      try {
        const std::string source = where + ": " + file.name;
        const RgbImage image = decode_image(file.bytes, source);
        if (image.width != kImageSide || image.height != kImageSide)
          throw Error(source + ": image is " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                      ", expected 32x32");
        const auto planar = to_planar(image);
        std::copy(planar.begin(), planar.end(), set.pixels.begin() + static_cast<std::ptrdiff_t>(i * kImageBytes));
        set.labels[i] = static_cast<uint8_t>(file.label);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
    // The first failure in data order, whatever the threads' timing.
    for (size_t i = begin; i < end; ++i)
      if (!errors[i].empty()) throw Error(errors[i]);
    done += static_cast<int64_t>(end - begin);
    if (progress) progress(done, total);
  }
  return set;
}

}  // namespace

CifarData import_image_folder(const fs::path& path, const ImportProgress& progress) {
  const std::vector<ImageFile> files = collect(path);
  const auto train_order = interleaved(files, 0), test_order = interleaved(files, 1);
  if (train_order.empty()) throw Error(path.string() + ": no training images (expected train/<class>/*.jpg or *.png)");
  if (test_order.empty()) throw Error(path.string() + ": no test images (expected test/<class>/*.jpg or *.png)");
  const int64_t total = static_cast<int64_t>(files.size());
  int64_t done = 0;
  CifarData data;
  data.train = decode_split(train_order, path.string(), done, total, progress);
  data.test = decode_split(test_order, path.string(), done, total, progress);
  return data;
}

}  // namespace s8net
