// What CPUID tells this process, for tests/bench/test_cpuid_avx2_cap.cpp:
//   cpuid_probe features   leaf 1 ECX and leaf 7 (subleaves 0 and 1) as hex, one "name=value" a line
//   cpuid_probe thread       the same from a thread started after the process
//   cpuid_probe blocked      the same with every signal blocked (pthread_sigmask)
//   cpuid_probe chdir        the same after moving to /
//   cpuid_probe own-handler  the same after installing a SIGSEGV handler of its own with sigaction
//                            that passes no fault on (as Node.js does), then writes through a null
//                            pointer: the handler exits with 3
//   cpuid_probe own-signal   the same with the handler installed by signal()
//   cpuid_probe crash        writes through a null pointer
#include <cpuid.h>
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <thread>

namespace {

void exit_3(int) { _exit(3); }
void exit_3_with_info(int, siginfo_t*, void*) { _exit(3); }

void write_through_null() {
  volatile int* nowhere = nullptr;
  *nowhere = 1;
}

void print_features() {
  uint32_t a = 0, b = 0, c = 0, d = 0;
  __cpuid_count(0, 0, a, b, c, d);
  std::printf("leaf0.eax=%x\n", a);
  __cpuid_count(1, 0, a, b, c, d);
  std::printf("leaf1.ecx=%x\n", c);
  __cpuid_count(7, 0, a, b, c, d);
  std::printf("leaf7.ebx=%x\nleaf7.ecx=%x\nleaf7.edx=%x\n", b, c, d);
  __cpuid_count(7, 1, a, b, c, d);
  std::printf("leaf7.1.eax=%x\nleaf7.1.edx=%x\n", a, d);
}

}  // namespace

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  if (std::strcmp(mode, "features") == 0) {
    print_features();
  } else if (std::strcmp(mode, "thread") == 0) {
    std::thread(print_features).join();
  } else if (std::strcmp(mode, "blocked") == 0) {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    print_features();
  } else if (std::strcmp(mode, "chdir") == 0) {
    if (chdir("/") != 0) return 1;
    print_features();
  } else if (std::strcmp(mode, "own-handler") == 0 || std::strcmp(mode, "own-signal") == 0) {
    if (std::strcmp(mode, "own-handler") == 0) {
      struct sigaction action {};
      action.sa_sigaction = exit_3_with_info;
      action.sa_flags = SA_SIGINFO;
      sigaction(SIGSEGV, &action, nullptr);
    } else {
      signal(SIGSEGV, exit_3);
    }
    print_features();
    std::fflush(stdout);
    write_through_null();
  } else if (std::strcmp(mode, "crash") == 0) {
    write_through_null();
  } else {
    std::fprintf(stderr, "usage: cpuid_probe features|thread|blocked|chdir|own-handler|own-signal|crash\n");
    return 2;
  }
  return 0;
}
