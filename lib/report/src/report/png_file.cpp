#include <s8net/core/atomic_file.hpp>
#include <s8net/report/figures.hpp>

namespace s8net::report {

void write_png(const std::filesystem::path& path, const RgbImage& image) {
  write_file_atomically(path, encode_png(image));
}

}  // namespace s8net::report
