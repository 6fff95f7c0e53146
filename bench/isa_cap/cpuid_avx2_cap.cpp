// Preloaded into a process (LD_PRELOAD), makes it see the CPU as one with AVX2 and no AVX-512, so
// that a library which picks its kernels from CPUID alone (ONNX Runtime's MLAS, which has no
// switch like ONEDNN_MAX_CPU_ISA) runs as on an AVX2 CPU. It asks the kernel to make CPUID fault
// (ARCH_SET_CPUID, the CPU flag "cpuid_fault"; the setting is per thread, and the threads the
// program starts later inherit it), then answers each faulting CPUID from the real instruction
// with the bits of cpuid_avx2_masks.hpp cleared.
//
// Programs that install a SIGSEGV handler of their own without passing faults on (Node.js does)
// would take the faulting CPUIDs from it, so this library's sigaction() and signal() keep its own
// handler in place and stand the program's behind it: the program sees and sets its handler as
// usual and gets every fault that is not a CPUID.
//
// A CPUID while SIGSEGV is blocked would end the process, so sigprocmask() and pthread_sigmask()
// never block it: a fault or a kill() reaches the handlers even where the program blocked it.
// The program's handler runs with the mask and SA_RESETHAND it asked for.
//
// Limits: code that ran before the preload's constructor (the dynamic loader choosing glibc's
// string functions, the constructors of the libraries the program links) keeps what it saw, and
// XGETBV still reports the AVX-512 state as enabled; the libraries this is meant for test both the
// CPUID bit and XGETBV, so they see no AVX-512. Handlers set through sigset(), __sigaction() or the
// raw system call, and masks set by sigsuspend() or pselect(), bypass it; a CPUID inside the
// program's own SIGSEGV handler (SIGSEGV blocked there unless SA_NODEFER) ends the process.
//
// With S8NET_CPUID_CAP_REPORT=FILE it writes whether the cap holds to FILE at start ("capped" or
// "not capped: why") and, at exit, how many CPUID executions it answered, as evidence for
// bench/compare_with_pytorch.sh; the variable is then removed from the environment, so that the
// processes the program starts (capped too, where they keep LD_PRELOAD) do not write to the file.
// Without it a cap that cannot be set is one line on stderr.

#include "cpuid_avx2_masks.hpp"

#include <asm/prctl.h>
#include <cpuid.h>
#include <dlfcn.h>
#include <signal.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

using namespace s8net::isa_cap;

using Sigaction = int (*)(int, const struct sigaction*, struct sigaction*);
using Sigmask = int (*)(int, const sigset_t*, sigset_t*);

// The C library's functions this library's own stand in front of.
int real_sigaction(int signal, const struct sigaction* action, struct sigaction* previous) {
  static const auto next = reinterpret_cast<Sigaction>(dlsym(RTLD_NEXT, "sigaction"));
  return next(signal, action, previous);
}
Sigmask next_sigmask(const char* name) { return reinterpret_cast<Sigmask>(dlsym(RTLD_NEXT, name)); }

// The handler the program believes is installed for SIGSEGV.
struct sigaction program_action;
std::atomic<unsigned long> answered{0};
std::atomic<bool> capped{false};

long allow_cpuid(bool allowed) { return syscall(SYS_arch_prctl, ARCH_SET_CPUID, allowed ? 1 : 0); }

void clear_vector_extensions(uint32_t leaf, uint32_t subleaf, uint32_t& a, uint32_t& b, uint32_t& c, uint32_t& d) {
  if (leaf != 7) return;
  if (subleaf == 0) {
    b &= ~kLeaf7Ebx;
    c &= ~kLeaf7Ecx;
    d &= ~kLeaf7Edx;
  } else if (subleaf == 1) {
    a &= ~kLeaf7Sub1Eax;
    d &= ~kLeaf7Sub1Edx;
  }
}

// The program's handler runs with the mask the kernel would have given it: the interrupted code's,
// its sa_mask, and SIGSEGV unless SA_NODEFER (this library's handler runs with every signal
// blocked). Set by the system call: the C library's functions here are this library's.
void take_program_mask(const struct sigaction& action, void* context) {
  sigset_t mask = static_cast<ucontext_t*>(context)->uc_sigmask;
  sigorset(&mask, &mask, &action.sa_mask);
  if ((action.sa_flags & SA_NODEFER) == 0) sigaddset(&mask, SIGSEGV);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &mask, nullptr, _NSIG / 8);
}

// Any other SIGSEGV goes where it would have gone without this library.
void pass_on(int signal, siginfo_t* info, void* context) {
  const struct sigaction action = program_action;
  const bool sent = info->si_code <= 0;  // by kill() or raise(), not a fault
  const bool handled = action.sa_handler != SIG_DFL && action.sa_handler != SIG_IGN;
  if (handled && (action.sa_flags & SA_RESETHAND) != 0) {
    program_action = {};
    program_action.sa_handler = SIG_DFL;
  }
  if (handled) take_program_mask(action, context);
  if ((action.sa_flags & SA_SIGINFO) != 0 && handled) {
    action.sa_sigaction(signal, info, context);
  } else if (action.sa_handler == SIG_IGN && sent) {
    return;  // a fault cannot be ignored, a sent signal can
  } else if (handled) {
    action.sa_handler(signal);
  } else {
    // The default action (a fault cannot be ignored): restored, the faulting instruction runs
    // again and ends the process; a signal sent by kill() is sent again.
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    real_sigaction(SIGSEGV, &default_action, nullptr);
    if (sent) raise(signal);
  }
}

void on_segv(int signal, siginfo_t* info, void* context) {
  auto* registers = static_cast<ucontext_t*>(context)->uc_mcontext.gregs;
  // A faulting CPUID is a general-protection fault (SI_KERNEL) at an instruction that was fetched,
  // so its bytes are readable; page faults carry SEGV_MAPERR or SEGV_ACCERR.
  const auto* instruction = reinterpret_cast<const unsigned char*>(registers[REG_RIP]);
  if (!capped || info->si_code != SI_KERNEL || instruction[0] != 0x0F || instruction[1] != 0xA2) {
    pass_on(signal, info, context);
    return;
  }
  const auto leaf = static_cast<uint32_t>(registers[REG_RAX]);
  const auto subleaf = static_cast<uint32_t>(registers[REG_RCX]);
  uint32_t a = 0, b = 0, c = 0, d = 0;
  const int saved_errno = errno;
  allow_cpuid(true);
  __cpuid_count(leaf, subleaf, a, b, c, d);
  allow_cpuid(false);
  errno = saved_errno;
  clear_vector_extensions(leaf, subleaf, a, b, c, d);
  registers[REG_RAX] = a;
  registers[REG_RBX] = b;
  registers[REG_RCX] = c;
  registers[REG_RDX] = d;
  registers[REG_RIP] += 2;
  answered.fetch_add(1, std::memory_order_relaxed);
}

// The report's absolute path (the program may change its directory), empty without one.
char report_file[4096];
bool report_failed = false;

void find_report_file() {
  const char* file = std::getenv("S8NET_CPUID_CAP_REPORT");
  if (file == nullptr || *file == '\0') return;
  char directory[2048] = "";
  if (file[0] != '/' && getcwd(directory, sizeof directory) == nullptr) directory[0] = '\0';
  std::snprintf(report_file, sizeof report_file, "%s%s%s", directory, *directory ? "/" : "", file);
  unsetenv("S8NET_CPUID_CAP_REPORT");
}

void report(const char* mode, const char* text) {
  if (report_file[0] == '\0') {
    if (!capped) std::fprintf(stderr, "s8net cpuid cap: %s; this process sees the CPU's own instruction sets\n", text);
    return;
  }
  FILE* out = std::fopen(report_file, mode);
  const bool written = out != nullptr && std::fprintf(out, "%s\n", text) > 0;
  const int error = errno;
  if ((out == nullptr || std::fclose(out) != 0 || !written) && !report_failed) {
    report_failed = true;
    std::fprintf(stderr, "s8net cpuid cap: %s, but cannot write its report to %s: %s\n",
                 capped ? "capped" : "not capped", report_file, std::strerror(out == nullptr ? error : errno));
  }
}

__attribute__((constructor)) void cap_cpuid() {
  struct sigaction action {};
  action.sa_sigaction = on_segv;
  // On the alternate stack where the program set one up (for its stack overflows); every signal
  // blocked while CPUID is let through unfaulted.
  action.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigfillset(&action.sa_mask);
  char why[200] = "capped";
  find_report_file();
  if (real_sigaction(SIGSEGV, &action, &program_action) != 0) {
    std::snprintf(why, sizeof why, "not capped: cannot handle SIGSEGV: %s", std::strerror(errno));
  } else if (allow_cpuid(false) != 0) {
    std::snprintf(why, sizeof why, "not capped: the kernel cannot make CPUID fault (arch_prctl ARCH_SET_CPUID: %s)",
                  std::strerror(errno));
    real_sigaction(SIGSEGV, &program_action, nullptr);
  } else {
    capped = true;
  }
  report("w", why);
}

__attribute__((destructor)) void report_answers() {
  if (!capped) return;
  char text[100];
  std::snprintf(text, sizeof text, "%lu CPUID executions answered without AVX-512",
                answered.load(std::memory_order_relaxed));
  report("a", text);
}

}  // namespace

// The program's SIGSEGV handler, kept behind this library's while the cap holds.
extern "C" int sigaction(int signal, const struct sigaction* action, struct sigaction* previous) {
  if (signal != SIGSEGV || !capped) return real_sigaction(signal, action, previous);
  if (previous != nullptr) *previous = program_action;
  if (action != nullptr) program_action = *action;
  return 0;
}

namespace {

// signal(), bsd_signal() (SA_RESTART) and sysv_signal() (SA_RESETHAND | SA_NODEFER) through the
// sigaction above.
sighandler_t set_handler(int number, sighandler_t handler, int flags) {
  struct sigaction action {
  }, previous{};
  action.sa_handler = handler;
  action.sa_flags = flags;
  sigemptyset(&action.sa_mask);
  if (sigaction(number, &action, &previous) != 0) return SIG_ERR;
  return previous.sa_handler;
}

// A mask without SIGSEGV where it would block it.
const sigset_t* without_sigsegv(int how, const sigset_t* set, sigset_t& copy) {
  if (!capped || set == nullptr || how == SIG_UNBLOCK || sigismember(set, SIGSEGV) != 1) return set;
  copy = *set;
  sigdelset(&copy, SIGSEGV);
  return &copy;
}

}  // namespace

// glibc's signal() functions set their handlers through an internal sigaction that the one above
// does not see.
extern "C" sighandler_t signal(int number, sighandler_t handler) { return set_handler(number, handler, SA_RESTART); }
extern "C" sighandler_t bsd_signal(int number, sighandler_t handler) {
  return set_handler(number, handler, SA_RESTART);
}
extern "C" sighandler_t sysv_signal(int number, sighandler_t handler) {
  return set_handler(number, handler, SA_RESETHAND | SA_NODEFER);
}

extern "C" int sigprocmask(int how, const sigset_t* set, sigset_t* previous) {
  sigset_t copy;
  static const Sigmask next = next_sigmask("sigprocmask");
  return next(how, without_sigsegv(how, set, copy), previous);
}
extern "C" int pthread_sigmask(int how, const sigset_t* set, sigset_t* previous) {
  sigset_t copy;
  static const Sigmask next = next_sigmask("pthread_sigmask");
  return next(how, without_sigsegv(how, set, copy), previous);
}
