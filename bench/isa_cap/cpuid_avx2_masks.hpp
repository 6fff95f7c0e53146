// The CPUID feature bits bench/isa_cap/cpuid_avx2_cap.cpp clears: AVX-512 and what came after
// AVX2 in the same vector family (AVX-VNNI, AVX-IFMA, AVX-NE-CONVERT, AMX, AVX10), absent from
// the AVX2 CPUs the cap stands for and left out by oneDNN's AVX2 cap too. Shared with its test.
#pragma once

#include <cstdint>

namespace s8net::isa_cap {

// Leaf 7, subleaf 0. EBX: AVX512F, DQ, IFMA, PF, ER, CD, BW, VL.
constexpr uint32_t kLeaf7Ebx =
    (1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31);
// ECX: AVX512_VBMI, AVX512_VBMI2, AVX512_VNNI, AVX512_BITALG, AVX512_VPOPCNTDQ.
constexpr uint32_t kLeaf7Ecx = (1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14);
// EDX: AVX512_4VNNIW, AVX512_4FMAPS, AVX512_VP2INTERSECT, AMX_BF16, AVX512_FP16, AMX_TILE, AMX_INT8.
constexpr uint32_t kLeaf7Edx = (1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) | (1u << 25);
// Leaf 7, subleaf 1. EAX: AVX_VNNI, AVX512_BF16, AMX_FP16, AVX_IFMA.
constexpr uint32_t kLeaf7Sub1Eax = (1u << 4) | (1u << 5) | (1u << 21) | (1u << 23);
// EDX: AVX_VNNI_INT8, AVX_NE_CONVERT, AMX_COMPLEX, AVX_VNNI_INT16, AVX10.
constexpr uint32_t kLeaf7Sub1Edx = (1u << 4) | (1u << 5) | (1u << 8) | (1u << 10) | (1u << 19);

}  // namespace s8net::isa_cap
