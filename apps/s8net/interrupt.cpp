#include "interrupt.hpp"

namespace s8net::app {
namespace {

volatile std::sig_atomic_t interrupt_requested = 0;

extern "C" void on_interrupt(int) { interrupt_requested = 1; }

}  // namespace

InterruptRequest::InterruptRequest() {
  interrupt_requested = 0;
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;  // the second signal takes the default action: the process ends
  sigaction(SIGINT, &action, &previous_interrupt_);
  sigaction(SIGTERM, &action, &previous_terminate_);
}

InterruptRequest::~InterruptRequest() {
  sigaction(SIGINT, &previous_interrupt_, nullptr);
  sigaction(SIGTERM, &previous_terminate_, nullptr);
}

bool InterruptRequest::requested() const noexcept { return interrupt_requested != 0; }

}  // namespace s8net::app
