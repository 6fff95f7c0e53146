// For plugins with kernels of their own: which instruction set to run them with. A plugin is
// built for every x86-64 CPU, so its fast loops are compiled several times (GCC's target
// attribute or pragma) and one copy is chosen at run time with cpu_isa(). The choice follows the
// CPU, capped as oneDNN caps itself by ONEDNN_MAX_CPU_ISA: with ONEDNN_MAX_CPU_ISA=AVX2 an AVX-512
// machine runs the host's convolutions and the plugin's kernels as an AVX2 machine would, which
// is how speed for AVX2 users is measured on an AVX-512 machine. Header-only, like the SDK.
#pragma once

#include <cctype>
#include <cstdlib>
#include <string>

namespace s8net::sdk {

enum class CpuIsa { baseline, avx2, avx512 };

inline const char* name_of(CpuIsa isa) noexcept {
  return isa == CpuIsa::avx512 ? "avx512" : isa == CpuIsa::avx2 ? "avx2" : "baseline";
}

// What the CPU offers: AVX-512 (F, VL, BW, DQ), AVX2 with FMA, or neither.
inline CpuIsa detected_cpu_isa() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq"))
    return CpuIsa::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CpuIsa::avx2;
#endif
  return CpuIsa::baseline;
}

// The cap a value of ONEDNN_MAX_CPU_ISA sets (oneDNN's names: SSE41, AVX, AVX2, AVX2_VNNI,
// AVX512_CORE, ..., ALL); none for an empty or unknown value, as oneDNN ignores those too.
inline CpuIsa isa_cap(const char* value) noexcept {
  std::string name;
  for (const char* c = value; c != nullptr && *c != '\0'; ++c)
    name += static_cast<char>(std::toupper(static_cast<unsigned char>(*c)));
  if (name == "SSE41" || name == "AVX") return CpuIsa::baseline;
  if (name.rfind("AVX2", 0) == 0) return CpuIsa::avx2;
  return CpuIsa::avx512;
}

// The instruction set for this process's kernels: the CPU's, capped by ONEDNN_MAX_CPU_ISA. Read
// once, as oneDNN reads it once.
inline CpuIsa cpu_isa() noexcept {
  static const CpuIsa isa = [] {
    const CpuIsa detected = detected_cpu_isa(), cap = isa_cap(std::getenv("ONEDNN_MAX_CPU_ISA"));
    return static_cast<int>(cap) < static_cast<int>(detected) ? cap : detected;
  }();
  return isa;
}

}  // namespace s8net::sdk
