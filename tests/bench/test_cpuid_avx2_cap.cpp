// bench/isa_cap/cpuid_avx2_cap.cpp preloaded into tests/bench/cpuid_probe: the AVX-512 bits are
// gone from CPUID, AVX2 and everything else is as the CPU says; under a SIGSEGV handler the
// program installs after it, which passes nothing on, CPUID stays capped and the program's handler
// still gets the program's own faults; other faults still end the process; its report says so.
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace {

using s8net::test::TempDir;

std::string text_of(const std::string& file) {
  std::stringstream text;
  text << std::ifstream(file).rdbuf();
  return text.str();
}

struct ProbeRun {
  int exit_code = -1;  // -1 when ended by a signal
  int signal = 0;
  std::map<std::string, uint32_t> registers;
};

// cpuid_probe MODE, with the cap preloaded when `preload`, its report in `report` if not empty.
ProbeRun run_probe(const std::string& mode, bool preload, const std::string& report = "") {
  int out[2];
  if (pipe(out) != 0) ADD_FAILURE() << "pipe";
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    if (preload) setenv("LD_PRELOAD", S8NET_CPUID_CAP, 1);
    if (!report.empty()) setenv("S8NET_CPUID_CAP_REPORT", report.c_str(), 1);
    execl(S8NET_CPUID_PROBE, S8NET_CPUID_PROBE, mode.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = read(out[0], buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<size_t>(n));
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ProbeRun run;
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) run.signal = WTERMSIG(status);
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (const auto eq = line.find('='); eq != std::string::npos)
      run.registers[line.substr(0, eq)] = static_cast<uint32_t>(std::stoul(line.substr(eq + 1), nullptr, 16));
  return run;
}

constexpr uint32_t kAvx512F = 1u << 16, kAvx512BW = 1u << 30, kAvx512VL = 1u << 31, kAvx2 = 1u << 5;
constexpr uint32_t kFma = 1u << 12, kAvx = 1u << 28;

// Skips the test where the kernel or CPU cannot make CPUID fault (the report says why).
#define SKIP_UNLESS_CAPPED(report_file)                                       \
  do {                                                                        \
    const std::string report_text = text_of(report_file);                     \
    if (report_text.rfind("not capped", 0) == 0) GTEST_SKIP() << report_text; \
  } while (0)

void expect_capped(const ProbeRun& native, const ProbeRun& capped) {
  ASSERT_EQ(capped.registers.size(), 7u);
  EXPECT_EQ(capped.registers.at("leaf0.eax"), native.registers.at("leaf0.eax"));
  EXPECT_EQ(capped.registers.at("leaf1.ecx"), native.registers.at("leaf1.ecx"));
  const uint32_t ebx = capped.registers.at("leaf7.ebx");
  EXPECT_EQ(ebx & (kAvx512F | kAvx512BW | kAvx512VL), 0u);
  EXPECT_EQ(ebx & kAvx2, native.registers.at("leaf7.ebx") & kAvx2);
  EXPECT_EQ(capped.registers.at("leaf1.ecx") & (kFma | kAvx), native.registers.at("leaf1.ecx") & (kFma | kAvx));
  // Only bits the CPU has are reported, and only the vector extensions' are taken away.
  for (const auto& [name, value] : capped.registers)
    EXPECT_EQ(value & ~native.registers.at(name), 0u) << name << " gained bits";
  EXPECT_EQ(native.registers.at("leaf7.ebx") & ~ebx & ~0xD4230000u, 0u) << "a bit other than AVX-512's cleared";
}

TEST(CpuidAvx2Cap, ClearsAvx512AndKeepsAvx2) {
  const TempDir dir("cpuid-cap");
  const auto report = (dir / "report").string();
  const ProbeRun capped = run_probe("features", true, report);
  SKIP_UNLESS_CAPPED(report);
  const ProbeRun native = run_probe("features", false);
  ASSERT_EQ(native.exit_code, 0);
  ASSERT_EQ(capped.exit_code, 0);
  expect_capped(native, capped);
}

TEST(CpuidAvx2Cap, HoldsUnderAHandlerInstalledAfterIt) {
  const TempDir dir("cpuid-cap");
  const auto report = (dir / "report").string();
  const ProbeRun capped = run_probe("own-handler", true, report);
  SKIP_UNLESS_CAPPED(report);
  const ProbeRun native = run_probe("own-handler", false);
  ASSERT_EQ(native.exit_code, 3);
  EXPECT_EQ(capped.exit_code, 3) << "the program's handler did not get its own fault";
  expect_capped(native, capped);
}

TEST(CpuidAvx2Cap, ReportsTheCapAndTheCpuidsItAnswered) {
  const TempDir dir("cpuid-cap");
  const auto report = (dir / "report").string();
  ASSERT_EQ(run_probe("features", true, report).exit_code, 0);
  SKIP_UNLESS_CAPPED(report);
  const std::string text = text_of(report);
  EXPECT_EQ(text.rfind("capped\n", 0), 0u) << text;
  // The probe's own four, and possibly some of the C library's.
  unsigned long answered = 0;
  ASSERT_EQ(std::sscanf(text.c_str() + 7, "%lu CPUID executions answered", &answered), 1) << text;
  EXPECT_GE(answered, 4u);
}

TEST(CpuidAvx2Cap, LeavesOtherFaultsToEndTheProcess) {
  const TempDir dir("cpuid-cap");
  const auto report = (dir / "report").string();
  const ProbeRun crashed = run_probe("crash", true, report);
  SKIP_UNLESS_CAPPED(report);
  EXPECT_EQ(crashed.signal, SIGSEGV);
}

}  // namespace
