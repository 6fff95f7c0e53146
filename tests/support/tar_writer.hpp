// Hand-written ustar archives for tests that need what no tar program makes: an entry whose header
// claims more bytes than follow it, or a large entry streamed without being held in memory.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace s8net::test {

class TarWriter {
 public:
  // Writes to `out` (a file, or a pipe into gzip); the caller closes it after finish().
  explicit TarWriter(std::FILE* out) : out_(out) {}

  void add_file(const std::string& name, const std::vector<uint8_t>& bytes) {
    put_header(name, bytes.size());
    put(bytes.data(), bytes.size());
    pad(bytes.size());
  }

  // `size` zero bytes, written a block at a time.
  void add_zeros(const std::string& name, uint64_t size) {
    put_header(name, size);
    static const std::vector<uint8_t> zeros(1 << 20, 0);
    for (uint64_t left = size; left > 0;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(left, zeros.size()));
      put(zeros.data(), n);
      left -= n;
    }
    pad(size);
  }

  // A header claiming `size` bytes and none of them: the archive is cut short right after it.
  void add_claim(const std::string& name, uint64_t size) { put_header(name, size); }

  void finish() {
    const std::array<uint8_t, 1024> end{};
    put(end.data(), end.size());
  }

 private:
  static void octal(char* field, size_t width, uint64_t value) {
    field[width - 1] = '\0';
    for (size_t i = width - 1; i-- > 0; value >>= 3) field[i] = static_cast<char>('0' + (value & 7));
  }

  void put_header(const std::string& name, uint64_t size) {
    if (name.size() > 100) throw std::runtime_error("tar name too long: " + name);
    std::array<char, 512> header{};
    std::memcpy(header.data(), name.data(), name.size());
    octal(&header[100], 8, 0644);  // mode
    octal(&header[108], 8, 0);     // uid
    octal(&header[116], 8, 0);     // gid
    if (size < (uint64_t{1} << 33)) {
      octal(&header[124], 12, size);
    } else {  // GNU base-256: a set top bit, then the size big-endian
      header[124] = static_cast<char>(0x80);
      for (size_t i = 0; i < 8; ++i) header[135 - i] = static_cast<char>((size >> (8 * i)) & 0xFF);
    }
    octal(&header[136], 12, 0);  // mtime
    header[156] = '0';           // a regular file
    std::memcpy(&header[257], "ustar", 6);
    std::memcpy(&header[263], "00", 2);
    std::memset(&header[148], ' ', 8);  // the checksum counts its own field as spaces
    unsigned sum = 0;
    for (const char c : header) sum += static_cast<unsigned char>(c);
    octal(&header[148], 7, sum);
    put(header.data(), header.size());
  }

  void pad(uint64_t size) {
    const std::array<uint8_t, 512> zeros{};
    put(zeros.data(), static_cast<size_t>((512 - size % 512) % 512));
  }

  void put(const void* data, size_t size) {
    if (size > 0 && std::fwrite(data, 1, size, out_) != size) throw std::runtime_error("cannot write the tar");
  }

  std::FILE* out_;
};

}  // namespace s8net::test
