// Ctrl-C (SIGINT) and SIGTERM as a request to stop cleanly: while an InterruptRequest lives, the
// first such signal only sets a flag, which the trainer reads between batches; the handler then
// steps aside, so a second Ctrl-C ends the process at once, as an impatient user expects.
#pragma once

#include <csignal>

namespace s8net::app {

class InterruptRequest {
 public:
  InterruptRequest();
  ~InterruptRequest();  // puts the previous handlers back
  InterruptRequest(const InterruptRequest&) = delete;
  InterruptRequest& operator=(const InterruptRequest&) = delete;

  bool requested() const noexcept;

 private:
  struct sigaction previous_interrupt_ {
  }, previous_terminate_{};
};

}  // namespace s8net::app
