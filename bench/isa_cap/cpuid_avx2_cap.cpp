// Preloaded into a process (LD_PRELOAD), makes it see the CPU as one with AVX2 and no AVX-512, so
// that a library which picks its kernels from CPUID alone (ONNX Runtime's MLAS, which has no
// switch like ONEDNN_MAX_CPU_ISA) runs as on an AVX2 CPU. It asks the kernel to make CPUID fault
// in this process (ARCH_SET_CPUID; the CPU flag "cpuid_fault"), then answers each faulting CPUID
// from the real instruction with the AVX-512 and newer-than-AVX2 vector feature bits cleared.
//
// Programs that install a SIGSEGV handler of their own without passing faults on (Node.js does)
// would take the faulting CPUIDs from it, so this library's sigaction() keeps its own handler in
// place and stands the program's behind it: the program sees and sets its handler as usual and
// gets every fault that is not a CPUID.
//
// Limits: code that ran before the preload's constructor (the dynamic loader choosing glibc's
// string functions) keeps what it saw, and XGETBV still reports the AVX-512 state as enabled;
// the libraries this is meant for test both the CPUID bit and XGETBV, so they see no AVX-512.
//
// With S8NET_CPUID_CAP_REPORT=FILE it writes whether the cap holds to FILE at start ("capped" or
// "not capped: why") and, at exit, how many CPUID executions it answered, as evidence for
// bench/compare_with_pytorch.sh. Without it a cap that cannot be set is one line on stderr.

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

// Leaf 7, subleaf 0. EBX: AVX512F, DQ, IFMA, PF, ER, CD, BW, VL.
constexpr uint32_t kLeaf7Ebx =
    (1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31);
// ECX: AVX512_VBMI, AVX512_VBMI2, AVX512_VNNI, AVX512_BITALG, AVX512_VPOPCNTDQ.
constexpr uint32_t kLeaf7Ecx = (1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14);
// EDX: AVX512_4VNNIW, AVX512_4FMAPS, AVX512_VP2INTERSECT, AMX_BF16, AVX512_FP16, AMX_TILE, AMX_INT8.
constexpr uint32_t kLeaf7Edx = (1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) | (1u << 25);
// Leaf 7, subleaf 1. EAX: AVX_VNNI, AVX512_BF16, AMX_FP16, AVX_IFMA (AVX-VNNI and AVX-IFMA are
// VEX encoded but absent from the AVX2 CPUs this stands for, and oneDNN's AVX2 cap leaves them
// out too). EDX: AVX_VNNI_INT8, AVX_NE_CONVERT, AMX_COMPLEX, AVX10.
constexpr uint32_t kLeaf7Sub1Eax = (1u << 4) | (1u << 5) | (1u << 21) | (1u << 23);
constexpr uint32_t kLeaf7Sub1Edx = (1u << 4) | (1u << 5) | (1u << 8) | (1u << 19);

using Sigaction = int (*)(int, const struct sigaction*, struct sigaction*);

// The C library's sigaction, which this library's own stands in front of.
int real_sigaction(int signal, const struct sigaction* action, struct sigaction* previous) {
  static const auto next = reinterpret_cast<Sigaction>(dlsym(RTLD_NEXT, "sigaction"));
  return next(signal, action, previous);
}

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

// Any other SIGSEGV goes where it would have gone without this library.
void pass_on(int signal, siginfo_t* info, void* context) {
  const struct sigaction action = program_action;
  if ((action.sa_flags & SA_SIGINFO) != 0 && action.sa_sigaction != nullptr) {
    action.sa_sigaction(signal, info, context);
  } else if (action.sa_handler != SIG_DFL && action.sa_handler != SIG_IGN) {
    action.sa_handler(signal);
  } else {
    // The default action (a fault cannot be ignored): restored, the faulting instruction runs
    // again and ends the process; a signal sent by kill() is sent again.
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    real_sigaction(SIGSEGV, &default_action, nullptr);
    if (info->si_code <= 0) raise(signal);
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

void report(const char* mode, const char* text) {
  const char* file = std::getenv("S8NET_CPUID_CAP_REPORT");
  if (file == nullptr || *file == '\0') {
    if (!capped) std::fprintf(stderr, "s8net cpuid cap: %s; this process sees the CPU's own instruction sets\n", text);
    return;
  }
  if (FILE* out = std::fopen(file, mode)) {
    std::fprintf(out, "%s\n", text);
    std::fclose(out);
  } else {
    std::fprintf(stderr, "s8net cpuid cap: cannot write %s: %s\n", file, std::strerror(errno));
  }
}

__attribute__((constructor)) void cap_cpuid() {
  struct sigaction action {};
  action.sa_sigaction = on_segv;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  char why[200] = "capped";
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
