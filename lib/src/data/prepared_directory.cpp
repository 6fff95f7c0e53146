#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>
#include <s8net/data/cifar_binary.hpp>
#include <s8net/data/data_manifest.hpp>
#include <s8net/data/prepared_directory.hpp>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace s8net {
namespace {

namespace fs = std::filesystem;

// OUT as one absolute path without a trailing separator, through any symlink, so that the swap
// replaces the directory the name leads to and a link to it keeps leading to the new data.
fs::path resolved(const fs::path& out) {
  fs::path path = fs::exists(out) ? fs::canonical(out) : fs::absolute(out).lexically_normal();
  if (!path.has_filename()) path = path.parent_path();
  return path;
}

fs::path sibling(const fs::path& out, const std::string& kind, pid_t pid) {
  return out.parent_path() / (out.filename().string() + "." + kind + "-" + std::to_string(pid));
}

bool is_number(std::string_view text) {
  return !text.empty() && text.size() <= 9 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The process id that ends "OUT.tmp-123" after `prefix` ("OUT.tmp-"), or -1.
pid_t pid_after(const std::string& name, const std::string& prefix) {
  if (!name.starts_with(prefix) || !is_number(std::string_view(name).substr(prefix.size()))) return -1;
  return static_cast<pid_t>(std::stol(name.substr(prefix.size())));
}

// "NAME.tmp.123" -> true: write_file_atomically's temporary of a file a prepare writes.
bool is_leftover_of(const std::string& name, const std::string& file) { return pid_after(name, file + ".tmp.") >= 0; }

bool is_prepare_output(const std::string& name) {
  for (const std::string& file : cifar_binary_file_names())
    if (name == file || is_leftover_of(name, file)) return true;
  return name == kManifestFile || is_leftover_of(name, kManifestFile);
}

bool process_is_running(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

// Removes the directory when it goes out of scope, whatever it then holds: the new files after a
// failure, or the previous data set after the exchange.
class RemovedAtExit {
 public:
  explicit RemovedAtExit(fs::path path) : path_(std::move(path)) {}
  ~RemovedAtExit() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  RemovedAtExit(const RemovedAtExit&) = delete;
  RemovedAtExit& operator=(const RemovedAtExit&) = delete;

 private:
  fs::path path_;
};

void sync_directory(const fs::path& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // the renames happened; their durability is best effort
  ::fsync(fd);
  ::close(fd);
}

[[noreturn]] void fail_to_rename(const fs::path& from, const fs::path& to) {
  throw Error("cannot rename " + from.string() + " to " + to.string() + ": " + std::strerror(errno));
}

// Puts `fresh` in `out`'s place; `fresh` then names the previous data set, if there was one.
void swap_into_place(const fs::path& fresh, const fs::path& out) {
  if (!fs::exists(out)) {
    if (::rename(fresh.c_str(), out.c_str()) != 0) fail_to_rename(fresh, out);
    return;
  }
  // One atomic step where the file system can: OUT is never missing, not even for a moment.
  if (::renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, out.c_str(), RENAME_EXCHANGE) == 0) return;
  if (errno != EINVAL && errno != ENOSYS) fail_to_rename(fresh, out);
  const fs::path previous = sibling(out, "old", ::getpid());
  if (::rename(out.c_str(), previous.c_str()) != 0) fail_to_rename(out, previous);
  if (::rename(fresh.c_str(), out.c_str()) != 0) {
    const int error = errno;
    ::rename(previous.c_str(), out.c_str());
    errno = error;
    fail_to_rename(fresh, out);
  }
  if (::rename(previous.c_str(), fresh.c_str()) != 0) fail_to_rename(previous, fresh);
}

}  // namespace

void check_replaceable_data_directory(const fs::path& out) {
  if (!fs::exists(out)) return;
  if (!fs::is_directory(out)) throw Error(out.string() + ": not a directory");
  for (const auto& entry : fs::directory_iterator(out))
    if (!is_prepare_output(entry.path().filename().string()))
      throw Error(out.string() + ": holds " + entry.path().filename().string() +
                  ", which s8net data prepare does not write; prepare into a new or empty directory");
}

void remove_stale_data_temporaries(const fs::path& out) {
  const fs::path path = resolved(out);
  if (!fs::is_directory(path.parent_path())) return;
  const std::string name = path.filename().string();
  const std::vector<fs::path> siblings(fs::directory_iterator(path.parent_path()), fs::directory_iterator{});
  for (const fs::path& entry : siblings) {
    const std::string sibling_name = entry.filename().string();
    const pid_t temporary = pid_after(sibling_name, name + ".tmp-"), previous = pid_after(sibling_name, name + ".old-");
    if (temporary >= 0 && !process_is_running(temporary)) fs::remove_all(entry);
    if (previous < 0 || process_is_running(previous)) continue;
    // A prepare stopped between moving OUT aside and moving its new data in: the old data set
    // goes back where it was, or away when the new one made it.
    if (!fs::exists(path) && ::rename(entry.c_str(), path.c_str()) == 0) continue;
    fs::remove_all(entry);
  }
}

bool write_prepared_data(const CifarData& data, const fs::path& out, const std::function<bool()>& stop_requested) {
  auto stopped = [&] { return stop_requested && stop_requested(); };
  check_replaceable_data_directory(out);
  const fs::path path = resolved(out);
  s8net::create_directories(path.parent_path());
  const fs::path fresh = sibling(path, "tmp", ::getpid());
  fs::remove_all(fresh);
  const RemovedAtExit cleanup(fresh);
  if (stopped()) return false;
  write_cifar_binary(data, fresh);
  if (stopped()) return false;
  DataManifest::write(fresh, cifar_binary_file_names());  // last: its presence says the rest is complete
  if (stopped()) return false;
  swap_into_place(fresh, path);
  sync_directory(path.parent_path());
  return true;
}

}  // namespace s8net
