// How much memory this machine can give a new allocation now, for refusing a request before it
// is made rather than failing halfway through it.
#pragma once

#include <cstdint>

namespace s8net {

// MemAvailable of /proc/meminfo (the kernel's estimate of what can be allocated without
// swapping), or the free pages where that is not available; 0 when neither can be read.
int64_t available_memory_bytes();

}  // namespace s8net
