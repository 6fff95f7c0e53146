#include "elf_extent.hpp"

#include <s8net/core/error.hpp>

#include <elf.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>

namespace s8net {
namespace fs = std::filesystem;

namespace {

// offset + bytes, or the largest value where that would overflow (a header claiming it is wrong).
uint64_t end_of(uint64_t offset, uint64_t bytes) {
  return offset > std::numeric_limits<uint64_t>::max() - bytes ? std::numeric_limits<uint64_t>::max() : offset + bytes;
}

bool is_native_elf64(const unsigned char (&ident)[EI_NIDENT]) {
  const bool little = std::endian::native == std::endian::little;
  return std::memcmp(ident, ELFMAG, SELFMAG) == 0 && ident[EI_CLASS] == ELFCLASS64 &&
         ident[EI_DATA] == (little ? ELFDATA2LSB : ELFDATA2MSB);
}

}  // namespace

void require_complete_elf(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  Elf64_Ehdr header{};
  in.read(reinterpret_cast<char*>(&header), sizeof header);
  if (in.gcount() < EI_NIDENT || !is_native_elf64(header.e_ident)) return;
  const uint64_t size = fs::file_size(file);
  uint64_t needed = sizeof header;
  if (in.gcount() == sizeof header) {
    needed = std::max(needed, end_of(header.e_phoff, uint64_t{header.e_phnum} * header.e_phentsize));
    if (header.e_shoff != 0)
      needed = std::max(needed, end_of(header.e_shoff, uint64_t{header.e_shnum} * header.e_shentsize));
    // The segments dlopen maps: each must lie within the file.
    if (needed <= size && header.e_phentsize == sizeof(Elf64_Phdr)) {
      in.seekg(static_cast<std::streamoff>(header.e_phoff));
      for (int i = 0; i < header.e_phnum; ++i) {
        Elf64_Phdr segment{};
        if (!in.read(reinterpret_cast<char*>(&segment), sizeof segment)) break;
        if (segment.p_type != PT_NULL) needed = std::max(needed, end_of(segment.p_offset, segment.p_filesz));
      }
    }
  }
  if (needed > size)
    throw Error(file.string() + ": truncated: its ELF headers describe at least " + std::to_string(needed) +
                " bytes, the file has " + std::to_string(size) + " (a copy that did not finish?)");
}

}  // namespace s8net
