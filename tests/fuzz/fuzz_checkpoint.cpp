// libFuzzer target: the checkpoint loader. Any input either parses into a checkpoint or throws
// s8net::Error; in particular a header never makes it allocate more than the file holds.
#include <s8net/core/error.hpp>
#include <s8net/train/checkpoint.hpp>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    s8net::parse_checkpoint({data, size}, "fuzz.s8ckpt");
  } catch (const s8net::Error&) {
  }
  return 0;
}
