// A prepared data directory is replaced whole or not at all, and carries a manifest that loading
// checks: a stop or a failure at any step keeps the previous data set and leaves no temporary; a
// directory of the user's own files is never replaced; a mixed, damaged or incomplete set is
// refused naming the file; temporaries of dead processes are removed; a directory without a
// manifest (as older versions wrote) still loads.
#include "support/error_of.hpp"
#include "support/synthetic_data.hpp"
#include "support/temp_dir.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/data/cifar_binary.hpp>
#include <s8net/data/data_manifest.hpp>
#include <s8net/data/prepared_directory.hpp>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace s8net;
using test::error_of;
using test::TempDir;

std::vector<std::string> names_in(const fs::path& directory) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void expect_data(const fs::path& directory, const CifarData& expected) {
  const CifarData read = read_cifar_binary(directory);
  EXPECT_EQ(read.train.labels, expected.train.labels);
  EXPECT_TRUE(read.train.pixels == expected.train.pixels) << "training pixels differ";
  EXPECT_TRUE(read.test.pixels == expected.test.pixels) << "test pixels differ";
}

// A process id no process has: a child's, once it has exited and been waited for.
pid_t dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}

TEST(PreparedData, WritesTheSevenFilesAndAManifestThenLoadsThemBack) {
  const TempDir dir("prepare");
  const CifarData data = test::random_cifar(20, 10);
  ASSERT_TRUE(write_prepared_data(data, dir / "out"));
  EXPECT_EQ(names_in(dir / "out"),
            (std::vector<std::string>{"batches.meta.txt", "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                      "data_batch_4.bin", "data_batch_5.bin", "manifest.json", "test_batch.bin"}));
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"out"});  // no temporary beside it
  expect_data(dir / "out", data);
}

TEST(PreparedData, ReplacesThePreviousDataSetWhole) {
  const TempDir dir("prepare");
  ASSERT_TRUE(write_prepared_data(test::random_cifar(20, 10, 1), dir / "out"));
  write_file_atomically(dir / "out" / "data_batch_1.bin.tmp.99999", std::string_view("an old version's leftover"));
  const CifarData second = test::random_cifar(30, 10, 2);
  ASSERT_TRUE(write_prepared_data(second, dir / "out/"));  // the trailing separator names the same directory
  expect_data(dir / "out", second);
  EXPECT_FALSE(fs::exists(dir / "out" / "data_batch_1.bin.tmp.99999"));
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"out"});
}

TEST(PreparedData, AStopAtAnyStepKeepsThePreviousDataSetAndNoTemporary) {
  const TempDir dir("prepare");
  const CifarData first = test::random_cifar(20, 10, 1);
  ASSERT_TRUE(write_prepared_data(first, dir / "out"));
  for (int stop_at = 1; stop_at <= 3; ++stop_at) {
    int asked = 0;
    EXPECT_FALSE(write_prepared_data(test::random_cifar(30, 10, 2), dir / "out", [&] { return ++asked == stop_at; }));
    EXPECT_EQ(asked, stop_at);
    expect_data(dir / "out", first);
    EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"out"}) << "stopped at step " << stop_at;
  }
  // Into a directory that did not exist: nothing at all is left.
  EXPECT_FALSE(write_prepared_data(first, dir / "new", [] { return true; }));
  EXPECT_FALSE(fs::exists(dir / "new"));
}

TEST(PreparedData, AFailureAfterTheFilesAreWrittenKeepsThePreviousDataSet) {
  const TempDir dir("prepare");
  const CifarData first = test::random_cifar(20, 10, 1);
  ASSERT_TRUE(write_prepared_data(first, dir / "out"));
  int asked = 0;
  EXPECT_EQ(error_of([&] {
              write_prepared_data(test::random_cifar(30, 10, 2), dir / "out", [&]() -> bool {
                if (++asked == 3) throw Error("disk full");  // after the batch files and the manifest
                return false;
              });
            }),
            "disk full");
  expect_data(dir / "out", first);
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"out"});
}

TEST(PreparedData, NeverReplacesADirectoryOfOtherFiles) {
  const TempDir dir("prepare");
  fs::create_directories(dir / "home");
  write_file_atomically(dir / "home" / "thesis.tex", std::string_view("years of work"));
  EXPECT_EQ(error_of([&] { write_prepared_data(test::random_cifar(20, 10), dir / "home"); }),
            (dir / "home").string() +
                ": holds thesis.tex, which s8net data prepare does not write; prepare into a new or empty directory");
  EXPECT_EQ(names_in(dir / "home"), std::vector<std::string>{"thesis.tex"});
  write_file_atomically(dir / "file", std::string_view("x"));
  EXPECT_EQ(error_of([&] { check_replaceable_data_directory(dir / "file"); }),
            (dir / "file").string() + ": not a directory");
  fs::create_directories(dir / "empty");
  EXPECT_TRUE(write_prepared_data(test::random_cifar(20, 10), dir / "empty"));
}

TEST(PreparedData, RemovesTheTemporariesOfDeadProcessesOnly) {
  const TempDir dir("prepare");
  const CifarData data = test::random_cifar(20, 10);
  const std::string dead = std::to_string(dead_pid()), alive = std::to_string(::getpid());
  for (const std::string& name : {"out.tmp-" + dead, "out.tmp-" + alive, "other.tmp-" + dead})
    ASSERT_TRUE(write_prepared_data(data, dir / name));
  remove_stale_data_temporaries(dir / "out");
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"other.tmp-" + dead, "out.tmp-" + alive}));

  // Killed between moving the old data set aside and moving the new one in: the old one returns.
  fs::rename(dir / ("out.tmp-" + alive), dir / ("out.old-" + dead));
  remove_stale_data_temporaries(dir / "out");
  expect_data(dir / "out", data);
  EXPECT_FALSE(fs::exists(dir / ("out.old-" + dead)));
}

TEST(PreparedData, AMixedDamagedOrIncompleteSetIsRefusedNamingTheFile) {
  const TempDir dir("prepare");
  ASSERT_TRUE(write_prepared_data(test::random_cifar(20, 10, 1), dir / "a"));
  ASSERT_TRUE(write_prepared_data(test::random_cifar(25, 10, 2), dir / "b"));
  ASSERT_TRUE(write_prepared_data(test::random_cifar(20, 10, 3), dir / "c"));
  const std::string batch5 = (dir / "a" / "data_batch_5.bin").string();
  const std::string again = "; prepare the data set again";

  fs::copy_file(dir / "b" / "data_batch_5.bin", batch5, fs::copy_options::overwrite_existing);
  EXPECT_EQ(error_of([&] { read_cifar_binary(dir / "a"); }),
            batch5 + ": 15,365 bytes, but manifest.json lists 12,292: the data set is incomplete or mixed" + again);

  fs::copy_file(dir / "c" / "data_batch_5.bin", batch5,
                fs::copy_options::overwrite_existing);  // same size, other images
  const std::string mixed = error_of([&] { read_cifar_binary(dir / "a"); });
  EXPECT_TRUE(mixed.starts_with(batch5 + ": CRC-32 ")) << mixed;
  EXPECT_NE(mixed.find(", but manifest.json lists "), std::string::npos) << mixed;
  EXPECT_NE(mixed.find(": the file is damaged or from another prepare" + again), std::string::npos) << mixed;

  fs::remove(batch5);
  EXPECT_EQ(error_of([&] { read_cifar_binary(dir / "a"); }), batch5 + ": missing, but manifest.json lists it" + again);

  write_file_atomically(dir / "b" / "manifest.json", std::string_view("{\"files\": 3}"));
  const std::string invalid = error_of([&] { read_cifar_binary(dir / "b"); });
  EXPECT_TRUE(invalid.starts_with((dir / "b" / "manifest.json").string() + ": not a valid manifest (")) << invalid;
}

TEST(PreparedData, ADirectoryWithoutAManifestAsOlderVersionsWroteStillLoads) {
  const TempDir dir("prepare");
  const CifarData data = test::random_cifar(20, 10);
  ASSERT_TRUE(write_prepared_data(data, dir / "out"));
  fs::remove(dir / "out" / "manifest.json");
  expect_data(dir / "out", data);
}

}  // namespace
