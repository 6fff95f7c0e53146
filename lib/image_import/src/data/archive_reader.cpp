#include <s8net/core/error.hpp>
#include <s8net/core/format.hpp>
#include <s8net/data/archive_reader.hpp>

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <array>
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

std::string mebibytes(int64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

namespace {

// The entry's bytes, never more than the selection allows, whatever its header claims.
std::vector<uint8_t> read_entry(archive* reader, archive_entry* entry, const std::string& name,
                                const std::filesystem::path& path, const ArchiveSelection& selection) {
  const std::string refusal = path.string() + ": entry " + name;
  const std::string too_large = ", more than " + selection.kind + " may have (" + mebibytes(selection.max_bytes) + ")";
  const bool size_known = archive_entry_size_is_set(entry) != 0;
  const int64_t claimed = archive_entry_size(entry);
  if (size_known && claimed > selection.max_bytes)
    throw Error(refusal + " claims " + with_thousands(claimed) + " bytes" + too_large);
  // A claim within the limit is still only a claim (a damaged archive holds less): room for at most
  // this much is set aside before the bytes arrive.
  constexpr int64_t kLargestReservation = int64_t{64} << 20;
  std::vector<uint8_t> contents;
  contents.reserve(static_cast<size_t>(std::clamp<int64_t>(claimed, 0, kLargestReservation)));
  std::array<uint8_t, 1 << 16> chunk;
  for (;;) {
    const la_ssize_t n = archive_read_data(reader, chunk.data(), chunk.size());
    if (n < 0) throw Error(path.string() + ": damaged entry " + name + ": " + archive_error_string(reader));
    if (n == 0) break;
    if (static_cast<int64_t>(contents.size()) + n > selection.max_bytes)
      throw Error(refusal + " holds more bytes" + too_large);
    contents.insert(contents.end(), chunk.begin(), chunk.begin() + n);
  }
  if (size_known && static_cast<int64_t>(contents.size()) != claimed) throw Error(refusal + " is truncated");
  return contents;
}

}  // namespace

void for_each_archive_file(const std::filesystem::path& path, const ArchiveSelection& selection,
                           const std::function<void(const std::string&, std::vector<uint8_t>&&)>& visit) {
  const ArchiveReader reader = open_archive(path);
  // Reading the next header skips whatever of the previous entry was not read.
  while (archive_entry* entry = next_file(reader.get(), path)) {
    const std::string name = archive_entry_pathname(entry);
    if (!selection.wanted(name)) continue;
    visit(name, read_entry(reader.get(), entry, name, path, selection));
  }
}

}  // namespace s8net
