// bench/isa_cap/cpuid_avx2_cap.cpp preloaded into tests/bench/cpuid_probe: exactly the bits of
// cpuid_avx2_masks.hpp are gone from CPUID, in the process, in a later thread and under a SIGSEGV
// handler the program installs after it that passes nothing on (whose own faults still reach it);
// other faults still end the process; its report says so.
#include "isa_cap/cpuid_avx2_masks.hpp"
#include "support/program_runner.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>

namespace {

using namespace s8net;
using s8net::test::TempDir;
using s8net::test::text_of;

struct ProbeRun {
  int exit_code = -1;  // -1 when ended by a signal
  int signal = 0;
  std::map<std::string, uint32_t> registers;
};

// cpuid_probe MODE, with the cap preloaded when `preload`, its report in `report` if not empty,
// started in `directory` if not empty.
ProbeRun run_probe(const std::string& mode, bool preload, const std::string& report = "",
                   const std::string& directory = "") {
  int out[2];
  if (pipe(out) != 0) ADD_FAILURE() << "pipe";
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    if (preload) setenv("LD_PRELOAD", S8NET_CPUID_CAP, 1);
    if (!report.empty()) setenv("S8NET_CPUID_CAP_REPORT", report.c_str(), 1);
    if (!directory.empty() && chdir(directory.c_str()) != 0) _exit(126);
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

// The five registers the cap changes and the bits it clears in them (the rest must be the CPU's).
const std::map<std::string, uint32_t> kCleared = {{"leaf7.ebx", isa_cap::kLeaf7Ebx},
                                                  {"leaf7.ecx", isa_cap::kLeaf7Ecx},
                                                  {"leaf7.edx", isa_cap::kLeaf7Edx},
                                                  {"leaf7.1.eax", isa_cap::kLeaf7Sub1Eax},
                                                  {"leaf7.1.edx", isa_cap::kLeaf7Sub1Edx}};
constexpr uint32_t kAvx512F = 1u << 16, kAvx2 = 1u << 5;

// The report, where the cap was preloaded; skips the test where the kernel or CPU cannot make
// CPUID fault (the report says why).
#define REQUIRE_CAPPED(report_file)                                                       \
  do {                                                                                    \
    const std::string report_text = text_of(report_file);                                 \
    ASSERT_FALSE(report_text.empty()) << "no report: was " S8NET_CPUID_CAP " preloaded?"; \
    if (report_text.rfind("not capped", 0) == 0) GTEST_SKIP() << report_text;             \
  } while (0)

class CpuidAvx2Cap : public ::testing::TestWithParam<std::string> {};

// The probe's CPUID, natively and capped: AVX-512 and its family gone, every other bit the CPU's,
// in the process, in a thread it starts, and under a SIGSEGV handler it installs (with sigaction
// or signal) that passes nothing on, whose own fault still reaches it (exit 3).
TEST_P(CpuidAvx2Cap, ClearsExactlyTheMaskedBits) {
  const std::string mode = GetParam();
  const TempDir dir("cpuid-cap");
  const auto report = (dir / "report").string();
  const ProbeRun capped = run_probe(mode, true, report);
  REQUIRE_CAPPED(report);
  const ProbeRun native = run_probe(mode, false);
  const int exit_code = mode.starts_with("own-") ? 3 : 0;
  ASSERT_EQ(native.exit_code, exit_code);
  EXPECT_EQ(capped.exit_code, exit_code) << "the probe's own handler did not get its own fault, or CPUID went to it";
  ASSERT_EQ(native.registers.size(), 7u);
  ASSERT_EQ(capped.registers.size(), 7u);
  for (const auto& [name, value] : native.registers) {
    const uint32_t cleared = kCleared.count(name) ? kCleared.at(name) : 0u;
    EXPECT_EQ(capped.registers.at(name), value & ~cleared) << name;
  }
  EXPECT_EQ(capped.registers.at("leaf7.ebx") & kAvx512F, 0u);
  EXPECT_EQ(capped.registers.at("leaf7.ebx") & kAvx2, native.registers.at("leaf7.ebx") & kAvx2);
}

INSTANTIATE_TEST_SUITE_P(Probes, CpuidAvx2Cap,
                         ::testing::Values("features", "thread", "blocked", "own-handler", "own-signal"),
                         [](const auto& probe) {
                           std::string name = probe.param;
                           name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
                           return name;
                         });

TEST(CpuidAvx2CapReport, SaysCappedAndCountsTheCpuidsItAnswered) {
  const TempDir dir("cpuid-cap");
  const auto report = (dir / "report").string();
  ASSERT_EQ(run_probe("features", true, report).exit_code, 0);
  REQUIRE_CAPPED(report);
  const std::string text = text_of(report);
  ASSERT_EQ(text.rfind("capped\n", 0), 0u) << text;
  // The probe's own four, and possibly some of the C library's.
  unsigned long answered = 0;
  ASSERT_EQ(std::sscanf(text.c_str() + 7, "%lu CPUID executions answered", &answered), 1) << text;
  EXPECT_GE(answered, 4u);
}

// A relative report path is the directory the process started in, wherever it moves; a report
// that cannot be written is one line naming it, and the program runs on.
TEST(CpuidAvx2CapReport, KeepsItsPathAndSaysWhenItCannotWrite) {
  const TempDir dir("cpuid-cap");
  ASSERT_EQ(run_probe("chdir", true, "report", dir.path().string()).exit_code, 0);
  REQUIRE_CAPPED((dir / "report").string());
  const std::string text = text_of((dir / "report").string());
  EXPECT_NE(text.find("CPUID executions answered"), std::string::npos) << text;

  const std::string unwritable = (dir / "missing" / "report").string();
  const auto run = s8net::test::run_program(S8NET_CPUID_PROBE, "features",
                                            "S8NET_CPUID_CAP_REPORT=" + unwritable + " LD_PRELOAD=" S8NET_CPUID_CAP);
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.err,
            "s8net cpuid cap: capped, but cannot write its report to " + unwritable + ": No such file or directory\n");
}

TEST(CpuidAvx2CapReport, LeavesOtherFaultsToEndTheProcess) {
  const TempDir dir("cpuid-cap");
  const auto report = (dir / "report").string();
  const ProbeRun crashed = run_probe("crash", true, report);
  REQUIRE_CAPPED(report);
  EXPECT_EQ(crashed.signal, SIGSEGV);
}

}  // namespace
