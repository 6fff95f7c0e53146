// The SDK's choice of instruction set for a plugin's own kernels: the CPU's, capped by
// ONEDNN_MAX_CPU_ISA under oneDNN's names.
#include <s8net/norm/plugin_cpu.hpp>

#include <gtest/gtest.h>

namespace {

using s8net::sdk::CpuIsa;
using s8net::sdk::isa_cap;

TEST(PluginCpu, OneDnnsIsaNamesCapTheKernels) {
  EXPECT_EQ(isa_cap("SSE41"), CpuIsa::baseline);
  EXPECT_EQ(isa_cap("AVX"), CpuIsa::baseline);
  EXPECT_EQ(isa_cap("AVX2"), CpuIsa::avx2);
  EXPECT_EQ(isa_cap("avx2_vnni"), CpuIsa::avx2);
  EXPECT_EQ(isa_cap("AVX512_CORE"), CpuIsa::avx512);
  EXPECT_EQ(isa_cap("ALL"), CpuIsa::avx512);
  EXPECT_EQ(isa_cap(""), CpuIsa::avx512) << "no cap";
  EXPECT_EQ(isa_cap(nullptr), CpuIsa::avx512) << "no cap";
}

TEST(PluginCpu, TheChoiceIsTheCpusCappedByTheEnvironment) {
  const CpuIsa detected = s8net::sdk::detected_cpu_isa();
  const CpuIsa cap = isa_cap(std::getenv("ONEDNN_MAX_CPU_ISA"));
  EXPECT_EQ(s8net::sdk::cpu_isa(), static_cast<int>(cap) < static_cast<int>(detected) ? cap : detected);
}

}  // namespace
