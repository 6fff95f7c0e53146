// Whether a plugin file holds every byte its ELF headers describe. dlopen maps a library's
// segments as the headers say and faults (SIGBUS) on pages past the end of a shorter file, so a
// half-copied plugin anywhere on the search path would end the process instead of being reported.
#pragma once

#include <filesystem>

namespace s8net {

// Throws s8net::Error naming the file when it is a 64-bit ELF file of this machine's byte order
// whose headers or segments reach past its end. Other files pass: dlopen refuses them in its own
// words.
void require_complete_elf(const std::filesystem::path& file);

}  // namespace s8net
