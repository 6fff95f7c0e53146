#include <s8net/core/error.hpp>
#include <s8net/data/archive_reader.hpp>

#include <archive.h>
#include <archive_entry.h>

#include <memory>

namespace s8net {
namespace {

struct ArchiveCloser {
  void operator()(archive* a) const noexcept { archive_read_free(a); }
};

}  // namespace

bool is_archive_path(const std::filesystem::path& path) {
  const std::string name = path.filename().string();
  auto ends_with = [&](std::string_view suffix) { return name.size() >= suffix.size() && name.ends_with(suffix); };
  return !std::filesystem::is_directory(path) && (ends_with(".tar.gz") || ends_with(".tgz") || ends_with(".tar"));
}

namespace {

using ArchiveReader = std::unique_ptr<archive, ArchiveCloser>;

ArchiveReader open_archive(const std::filesystem::path& path) {
  ArchiveReader reader(archive_read_new());
  if (!reader) throw Error("cannot read " + path.string() + ": out of memory");
  archive_read_support_filter_all(reader.get());
  archive_read_support_format_all(reader.get());
  if (archive_read_open_filename(reader.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
    throw Error("cannot open archive " + path.string() + ": " + archive_error_string(reader.get()));
  return reader;
}

// The next regular file's entry, or nullptr at the end.
archive_entry* next_file(archive* reader, const std::filesystem::path& path) {
  archive_entry* entry = nullptr;
  for (;;) {
    const int status = archive_read_next_header(reader, &entry);
    if (status == ARCHIVE_EOF) return nullptr;
    if (status != ARCHIVE_OK && status != ARCHIVE_WARN)
      throw Error(path.string() + ": damaged archive: " + archive_error_string(reader));
    if (archive_entry_filetype(entry) == AE_IFREG) return entry;
  }
}

}  // namespace

std::vector<std::string> list_archive_files(const std::filesystem::path& path) {
  const ArchiveReader reader = open_archive(path);
  std::vector<std::string> names;
  while (archive_entry* entry = next_file(reader.get(), path)) names.emplace_back(archive_entry_pathname(entry));
  return names;
}

void for_each_archive_file(const std::filesystem::path& path,
                           const std::function<void(const std::string&, std::vector<uint8_t>&&)>& visit) {
  const ArchiveReader reader = open_archive(path);
  while (archive_entry* entry = next_file(reader.get(), path)) {
    const std::string name = archive_entry_pathname(entry);
    std::vector<uint8_t> contents(static_cast<size_t>(archive_entry_size(entry)));
    size_t done = 0;
    while (done < contents.size()) {
      const la_ssize_t n = archive_read_data(reader.get(), contents.data() + done, contents.size() - done);
      if (n < 0) throw Error(path.string() + ": damaged entry " + name + ": " + archive_error_string(reader.get()));
      if (n == 0) throw Error(path.string() + ": entry " + name + " is truncated");
      done += static_cast<size_t>(n);
    }
    visit(name, std::move(contents));
  }
}

}  // namespace s8net
