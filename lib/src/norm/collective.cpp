#include <s8net/norm/collective.hpp>

#include <algorithm>
#include <exception>

namespace s8net {
namespace {

// What a plugin calls: no exception may cross the C boundary, so a failure becomes a status and
// the message the ABI's buffer can hold.
s8net_status allreduce_for_plugin(void* context, float* data, size_t count, s8net_message* message) noexcept {
  try {
    static_cast<Collective*>(context)->allreduce_sum(std::span<float>(data, count));
    return S8NET_OK;
  } catch (const std::exception& e) {
    if (message != nullptr) {
      const std::string_view what = e.what();
      const size_t n = std::min(what.size(), sizeof message->text - 1);
      std::copy_n(what.data(), n, message->text);
      message->text[n] = '\0';
    }
    return S8NET_ERROR_INTERNAL;
  }
}

}  // namespace

Collective::Collective(int rank, int size) : rank_(rank), size_(size) {
  view_.struct_size = sizeof(s8net_collective);
  view_.rank = rank;
  view_.size = size;
  view_.context = this;
  view_.allreduce_sum_f32 = &allreduce_for_plugin;
}

std::string Collective::where() const { return "rank " + std::to_string(rank_) + " of " + std::to_string(size_); }

Collective& single_process() {
  static SingleProcess alone;
  return alone;
}

}  // namespace s8net
