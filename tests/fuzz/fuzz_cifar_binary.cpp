// libFuzzer target: the CIFAR-10 binary record reader. Any input either appends whole records or
// throws s8net::Error; anything else (a crash, another exception, a sanitizer report) is a bug.
#include <s8net/core/error.hpp>
#include <s8net/data/cifar_binary.hpp>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  s8net::Dataset records;
  try {
    s8net::append_cifar_records({data, size}, "fuzz.bin", records);
  } catch (const s8net::Error&) {
  }
  return 0;
}
