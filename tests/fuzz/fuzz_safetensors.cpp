// libFuzzer target: the safetensors reader. Any input either parses into tensors whose byte
// ranges tile the data buffer or throws s8net::Error; a header never makes it allocate more than
// the file holds. What parses is written again and must read back the same.
#include <s8net/core/error.hpp>
#include <s8net/interop/safetensors.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<s8net::SafeTensorsFile> file;
  try {
    file = s8net::parse_safetensors({data, size}, "fuzz.safetensors");
  } catch (const s8net::Error&) {
    return 0;
  }
  size_t total = 0;
  for (const s8net::SafeTensor& t : file->tensors) total += t.bytes.size();
  if (total > size) std::abort();  // more tensor bytes than the file has
  // Throws (and so fails the run) if the writer refuses what the reader accepted.
  const s8net::SafeTensorsFile again = s8net::parse_safetensors(s8net::serialize_safetensors(*file), "again");
  if (again.tensors.size() != file->tensors.size() || again.metadata != file->metadata) std::abort();
  for (size_t i = 0; i < again.tensors.size(); ++i)
    if (again.tensors[i].name != file->tensors[i].name || again.tensors[i].bytes != file->tensors[i].bytes)
      std::abort();
  return 0;
}
