// The bad-input catalogue through the app, as a user meets it: each case gets exactly the exit
// code (1 for a bad file, 2 for a bad flag) and one message naming the file or flag and what is
// wrong, and leaves nothing half-written behind. The library-level tests check the same refusals
// word for word; these check that they reach the user intact.
#include "support/app_runner.hpp"
#include "support/synthetic_data.hpp"
#include "support/tar_writer.hpp"
#include "support/temp_dir.hpp"
#include "support/test_plugins.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/data/cifar_binary.hpp>
#include <s8net/data/image_codec.hpp>
#include <s8net/train/checkpoint.hpp>

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace s8net;
using test::run_app;
using test::TempDir;

// Shared by every case: a valid prepared data set and a finished one-epoch run to damage copies of.
struct World {
  TempDir dir{"bad-input"};
  fs::path data = dir / "data", run = dir / "run";
  World() {
    write_cifar_binary(test::random_cifar(32, 16, 2), data);
    const auto trained =
        run_app("train --norm ln --epochs 1 --batch 16 --no-report --data " + data.string() + " --out " + run.string());
    EXPECT_EQ(trained.exit_code, 0) << trained.all();
  }
};
World& world() {
  static World w;
  return w;
}

// A copy of the data set with one batch file replaced by `bytes`.
fs::path data_with_batch(const std::string& name, const std::vector<uint8_t>& bytes) {
  const fs::path copy = world().dir / name;
  fs::remove_all(copy);
  fs::copy(world().data, copy);
  write_file_atomically(copy / "data_batch_2.bin", bytes);
  return copy;
}

// An image-folder tree of valid PNGs plus one bad file in train/cat.
fs::path folder_with(const std::string& name, const std::string& bad_file, const std::vector<uint8_t>& bytes) {
  const fs::path root = world().dir / name;
  fs::remove_all(root);
  test::write_image_folder(root, test::random_cifar(10, 2), "png");
  write_file_atomically(root / "train" / "cat" / bad_file, bytes);
  return root;
}

// A data set prepared by the app whose data_batch_5.bin was then replaced by another prepare's,
// as an interrupted copy or a hand-made fix leaves it.
fs::path mixed_data_set() {
  const fs::path mixed = world().dir / "mixed", other = world().dir / "mixed-other",
                 source = world().dir / "mixed-source";
  for (const auto& [out, train] : {std::pair{mixed, 20}, std::pair{other, 25}}) {
    fs::remove_all(out);
    fs::remove_all(source);
    write_cifar_binary(test::random_cifar(train, 10), source);
    const auto prepared = run_app("data prepare --from " + source.string() + " --out " + out.string());
    EXPECT_EQ(prepared.exit_code, 0) << prepared.all();
  }
  fs::copy_file(other / "data_batch_5.bin", mixed / "data_batch_5.bin", fs::copy_options::overwrite_existing);
  return mixed;
}

// An archive whose only entry, an image, claims 2^62 bytes in its header.
fs::path archive_claiming_too_much() {
  const fs::path archive = world().dir / "forged.tar";
  std::FILE* out = std::fopen(archive.c_str(), "wb");
  test::TarWriter(out).add_claim("set/train/cat/huge.png", uint64_t{1} << 62);
  std::fclose(out);
  return archive;
}

// A copy of the run's last checkpoint changed by `damage`.
fs::path checkpoint_with(const std::string& name, const std::function<void(std::vector<uint8_t>&)>& damage) {
  std::vector<uint8_t> bytes = read_file_bytes(world().run / "last.s8ckpt");
  damage(bytes);
  const fs::path file = world().dir / name;
  write_file_atomically(file, bytes);
  return file;
}

// A copy of the run's last checkpoint, written whole, with its configuration changed by `change`.
fs::path checkpoint_configured(const std::string& name, const std::function<void(TrainConfig&)>& change) {
  Checkpoint checkpoint = load_checkpoint(world().run / "last.s8ckpt");
  change(checkpoint.config);
  const fs::path file = world().dir / name;
  save_checkpoint(file, checkpoint);
  return file;
}

std::string plugin_dir(const std::string& test_case) { return test::test_plugin_dir(test_case).string(); }

struct BadInput {
  std::string name;
  std::function<std::string()> command;  // the app's arguments (making the bad input first)
  int exit_code;
  std::function<std::string()> message;  // a part of stderr naming the file or flag and the fault
};
void PrintTo(const BadInput& c, std::ostream* os) { *os << c.name; }

// A safetensors file of `header` (padded with spaces to 8 bytes, as the format's writers do) and
// `data` bytes, for `s8net import` to refuse.
fs::path safetensors_file(const std::string& name, std::string header, uint64_t claimed_length, size_t data) {
  header.resize((header.size() + 7) / 8 * 8, ' ');
  std::vector<uint8_t> bytes(8);
  for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(claimed_length >> (8 * i));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.resize(bytes.size() + data, 0);
  const fs::path file = world().dir / name;
  write_file_atomically(file, bytes);
  return file;
}

std::string import_of(const fs::path& file) {
  return "import " + file.string() + " --norm bn --out " + (world().dir / "never.s8ckpt").string();
}

std::string train_on(const fs::path& data) {
  return "train --norm ln --epochs 1 --data " + data.string() + " --out " + (world().dir / "never").string();
}
std::string train_with_plugin(const std::string& norm, const std::string& test_case) {
  return "train --norm " + norm + " --epochs 1 --batch 16 --no-report --plugin-dir " + plugin_dir(test_case) +
         " --data " + world().data.string() + " --out " + (world().dir / ("run-" + test_case)).string();
}
std::string eval_of(const fs::path& checkpoint) {
  return "eval --checkpoint " + checkpoint.string() + " --data " + world().data.string();
}
std::string flag(const std::string& flags) {
  return "train --norm ln --data " + world().data.string() + " --out " + (world().dir / "never").string() + flags;
}

const BadInput kCatalogue[] = {
    // Data
    {"TruncatedBinary", [] { return train_on(data_with_batch("truncated", std::vector<uint8_t>(3073 + 100))); }, 1,
     [] { return (world().dir / "truncated" / "data_batch_2.bin").string() + ": 3,173 bytes is not a whole number"; }},
    {"LabelTen",
     [] {
       std::vector<uint8_t> record(3073, 0);
       record[0] = 10;
       return train_on(data_with_batch("label", record));
     },
     1, [] { return (world().dir / "label" / "data_batch_2.bin").string() + ": record 0 has label 10, expected 0-9"; }},
    {"EmptyDirectory",
     [] {
       fs::create_directories(world().dir / "empty");
       return train_on(world().dir / "empty");
     },
     1,
     [] { return (world().dir / "empty").string() + ": no training images (expected train/<class>/*.jpg or *.png)"; }},
    {"MissingDataDirectory", [] { return train_on(world().dir / "absent"); }, 1,
     [] { return (world().dir / "absent").string() + ": no such file or directory"; }},
    {"UndecodableJpeg",
     [] {
       const auto jpeg = encode_jpeg(RgbImage{32, 32, std::vector<uint8_t>(32 * 32 * 3, 90)}, 90);
       const fs::path root = folder_with("cut", "cut.jpg", {jpeg.begin(), jpeg.begin() + 200});
       return "data prepare --from " + root.string() + " --out " + (world().dir / "never").string();
     },
     1, [] { return "train/cat/cut.jpg: not a decodable JPEG"; }},
    {"UndecodablePng",
     [] {
       auto png = encode_png(RgbImage{32, 32, std::vector<uint8_t>(32 * 32 * 3, 90)});
       png.resize(png.size() - 20);
       const fs::path root = folder_with("cutpng", "cut.png", png);
       return "data prepare --from " + root.string() + " --out " + (world().dir / "never").string();
     },
     1, [] { return "train/cat/cut.png: not a decodable PNG"; }},
    {"NonImageFile",
     [] {
       const fs::path root = folder_with("text", "notes.png", {'h', 'e', 'l', 'l', 'o'});
       return "data prepare --from " + root.string() + " --out " + (world().dir / "never").string();
     },
     1, [] { return "train/cat/notes.png: not an image (neither a JPEG nor a PNG signature)"; }},
    {"WrongImageSize",
     [] {
       const fs::path root =
           folder_with("wide", "wide.png", encode_png(RgbImage{33, 32, std::vector<uint8_t>(33 * 32 * 3, 90)}));
       return "data prepare --from " + root.string() + " --out " + (world().dir / "never").string();
     },
     1, [] { return "train/cat/wide.png: image is 33x32, expected 32x32"; }},
    {"ArchiveEntryClaimingTooMuch",
     [] {
       return "data prepare --from " + archive_claiming_too_much().string() + " --out " +
              (world().dir / "never").string();
     },
     1,
     [] {
       return (world().dir / "forged.tar").string() +
              ": entry set/train/cat/huge.png claims 4,611,686,018,427,387,904 bytes, more than an image may have (64 "
              "MiB)";
     }},
    {"MixedPreparedDataSet", [] { return train_on(mixed_data_set()); }, 1,
     [] {
       return (world().dir / "mixed" / "data_batch_5.bin").string() +
              ": 15,365 bytes, but manifest.json lists 12,292: the data set is incomplete or mixed";
     }},
    {"MixedPreparedDataSetInfo", [] { return "data info --data " + mixed_data_set().string(); }, 1,
     [] {
       return (world().dir / "mixed" / "data_batch_5.bin").string() + ": 15,365 bytes, but manifest.json lists 12,292";
     }},
    {"PrepareOverOtherFiles",
     [] {
       const fs::path out = world().dir / "documents";
       fs::create_directories(out);
       write_file_atomically(out / "notes.txt", std::string_view("mine"));
       return "data prepare --from " + world().data.string() + " --out " + out.string();
     },
     1,
     [] {
       return (world().dir / "documents").string() +
              ": holds notes.txt, which s8net data prepare does not write; prepare into a new or empty directory";
     }},
    // Plugins (--plugin-dir names a directory holding one broken file: the real ones still load
    // and are listed, the broken one is an error)
    {"PluginNotElf", [] { return "plugins --plugin-dir " + plugin_dir("not_elf"); }, 1,
     [] { return "bogus.so: cannot load"; }},
    {"PluginWithoutEntryPoint", [] { return "plugins --plugin-dir " + plugin_dir("no_entry"); }, 1,
     [] { return "s8net_norm_no_entry.so: no entry point"; }},
    {"PluginOfAnotherAbi", [] { return "plugins --plugin-dir " + plugin_dir("wrong_abi"); }, 1,
     [] { return "plugin ABI 2.0 but s8net expects ABI 1.x"; }},
    {"PluginDuplicateName", [] { return "plugins --plugin-dir " + plugin_dir("duplicate"); }, 1,
     [] { return "duplicate norm \"bn\""; }},
    {"PluginFactoryFails", [] { return train_with_plugin("createfails", "create_fails"); }, 1,
     [] { return "C1.norm (norm 'createfails' from "; }},
    {"PluginTensorOfAbsurdSize", [] { return train_with_plugin("hugetensor", "huge_tensor"); }, 1,
     [] {
       return "the plugin reported an invalid tensor 'bias' (null pointer, or size 1099511627776 outside 1 to "
              "16777216)";
     }},
    {"PluginForwardFailsMidTraining", [] { return train_with_plugin("forwardfails", "forward_fails"); }, 1,
     [] { return "): forward failed: affine: forward fails on purpose (test)"; }},
    {"UnknownNorm",
     [] { return "train --norm xn --data " + world().data.string() + " --out " + (world().dir / "never").string(); }, 2,
     [] { return "--norm xn: unknown norm 'xn' (known: bn from "; }},
    // Checkpoints
    {"TruncatedCheckpoint",
     [] { return eval_of(checkpoint_with("half.s8ckpt", [](auto& b) { b.resize(b.size() / 2); })); }, 1,
     [] { return (world().dir / "half.s8ckpt").string() + ": truncated checkpoint"; }},
    {"CheckpointChecksumMismatch",
     [] { return eval_of(checkpoint_with("flipped.s8ckpt", [](auto& b) { b[b.size() - 100] ^= 1; })); }, 1,
     [] { return (world().dir / "flipped.s8ckpt").string() + ": checkpoint checksum mismatch: the file is damaged"; }},
    // Endless or huge inputs are refused once they pass their kind's limit, not read to the end.
    {"EndlessCheckpoint", [] { return eval_of("/dev/zero"); }, 1,
     [] { return "/dev/zero: more than a checkpoint may have (256 MiB)"; }},
    {"HugeCheckpoint",
     [] {
       const fs::path sparse = world().dir / "huge.s8ckpt";
       std::ofstream(sparse).close();
       fs::resize_file(sparse, std::uintmax_t{1} << 31);
       return eval_of(sparse);
     },
     1, [] { return (world().dir / "huge.s8ckpt").string() + ": more than a checkpoint may have (256 MiB)"; }},
    // A whole checkpoint (its checksum right) whose configuration no network can have.
    {"CheckpointWithAnImpossibleConfiguration",
     [] { return eval_of(checkpoint_configured("zero.s8ckpt", [](TrainConfig& c) { c.batch_size = 0; })); }, 1,
     [] { return (world().dir / "zero.s8ckpt").string() + ": invalid training configuration: --batch must be > 0"; }},
    {"CheckpointOfANormNoPluginHas",
     [] { return eval_of(checkpoint_configured("zz.s8ckpt", [](TrainConfig& c) { c.norm = "zz"; })); }, 1,
     [] { return (world().dir / "zz.s8ckpt").string() + ": unknown norm 'zz' (known: bn from "; }},
    {"EndlessSafetensors", [] { return import_of("/dev/zero"); }, 1,
     [] { return "/dev/zero: more than a safetensors file of this model may have (256 MiB)"; }},
    {"EndlessImage", [] { return "predict --checkpoint " + (world().run / "last.s8ckpt").string() + " /dev/zero"; }, 1,
     [] { return "/dev/zero: more than an image may have (64 MiB)"; }},
    {"CheckpointOfAnotherFormat", [] { return eval_of(checkpoint_with("v2.s8ckpt", [](auto& b) { b[8] = 2; })); }, 1,
     [] { return (world().dir / "v2.s8ckpt").string() + ": checkpoint format 2, this s8net reads format 1"; }},
    {"CheckpointOfAnotherNorm",
     [] { return "train --resume --norm bn --data " + world().data.string() + " --out " + world().run.string(); }, 2,
     [] {
       return "--norm asks for norm \"bn\", but the run in " + world().run.string() + " was trained with \"ln\" (its " +
              "configuration is read from " + (world().run / "last.s8ckpt").string() + ")";
     }},
    {"CheckpointNestedTooDeep",
     [] { return eval_of(fs::path(S8NET_SOURCE_DIR) / "tests/fuzz/corpus/fuzz_checkpoint/deep_nesting.s8ckpt"); }, 1,
     [] { return "deep_nesting.s8ckpt: damaged checkpoint header: JSON nested deeper than 64 levels"; }},
    {"FreshRunOverAnother",
     [] { return "train --norm bn --epochs 1 --data " + world().data.string() + " --out " + world().run.string(); }, 1,
     [] {
       return world().run.string() + ": holds another run; continue it with --resume, or replace it with --overwrite";
     }},
    {"EmptyDataFile",
     [] {
       std::ofstream(world().dir / "empty.tar.gz").close();
       return train_on(world().dir / "empty.tar.gz");
     },
     1, [] { return (world().dir / "empty.tar.gz").string() + ": an empty file, not a data set"; }},
    {"OneBatchFileAsData", [] { return train_on(world().data / "test_batch.bin"); }, 1,
     [] {
       return (world().data / "test_batch.bin").string() +
              ": one CIFAR-10 binary batch file; give the directory that holds all six";
     }},
    {"NotACheckpoint", [] { return eval_of(world().data / "data_batch_1.bin"); }, 1,
     [] { return (world().data / "data_batch_1.bin").string() + ": not an s8net checkpoint"; }},
    // Command line
    {"UnknownFlag", [] { return flag(" --frobnicate"); }, 2, [] { return "unrecognised option '--frobnicate'"; }},
    {"BadNumber", [] { return flag(" --epochs many"); }, 2,
     [] { return "the argument ('many') for option '--epochs' is invalid"; }},
    {"BatchZero", [] { return flag(" --batch 0"); }, 2, [] { return "--batch must be > 0, got 0"; }},
    {"NegativeEpochs", [] { return flag(" --epochs -2"); }, 2, [] { return "--epochs must be > 0, got -2"; }},
    {"UnknownCommand", [] { return std::string("frobnicate"); }, 2, [] { return "unknown command 'frobnicate'"; }},
    {"EmptyOut", [] { return "train --norm ln --data " + world().data.string() + " --out ''"; }, 2,
     [] { return "--out is empty (an unset shell variable?)"; }},
    {"BatchOfAllMemory", [] { return flag(" --batch 9223372036854775807"); }, 2,
     [] { return "--batch 9,223,372,036,854,775,807 needs about "; }},
    {"BatchLargerThanTheData", [] { return flag(" --batch 33"); }, 2,
     [] { return "--batch 33 is more than the 32 training images: not one batch can be filled"; }},
    {"ValidationSplitOfEverything", [] { return flag(" --val 40"); }, 2,
     [] { return "--val 40 leaves no image to train on: the training set has 32"; }},
    {"NegativeSeed", [] { return flag(" --seed -1"); }, 2,
     [] { return "--seed '-1': expected a whole number from 0 to 18446744073709551615"; }},
    {"AbsurdEpochs", [] { return flag(" --epochs 9223372036854775807"); }, 2,
     [] { return "--epochs must be <= 100000, got 9223372036854775807"; }},
    {"InfiniteLearningRate", [] { return flag(" --schedule constant --lr inf"); }, 2,
     [] { return "schedule constant: learning rate must be a finite number > 0"; }},
    {"SafetensorsOfANormTheOriginalHasNot",
     [] {
       const std::string header = R"({"__metadata__":{"s8net.norm":"bogus"}})";
       return "import " + safetensors_file("bogus.safetensors", header, 40, 0).string() + " --out " +
              (world().dir / "never.s8ckpt").string();
     },
     1,
     [] {
       return (world().dir / "bogus.safetensors").string() +
              ": its metadata s8net.norm is 'bogus', but the original PyTorch model has only bn, gn and ln";
     }},
    {"SafetensorsHeaderPastTheFile", [] { return import_of(safetensors_file("past.safetensors", "{}", 1000, 0)); }, 1,
     [] {
       return (world().dir / "past.safetensors").string() + ": truncated or not a safetensors file: header length 1000";
     }},
    {"SafetensorsOfAnotherModel",
     [] {
       return import_of(
           safetensors_file("other.safetensors", R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 56, 4));
     },
     1,
     [] {
       return (world().dir / "other.safetensors").string() + ": x is not in the original Net(norm='bn')'s state_dict";
     }},
    {"CropPaddingTooLarge", [] { return flag(" --crop-padding 17"); }, 2,
     [] { return "--crop-padding must be in [0, 16], got 17"; }},
    {"FlipProbabilityAboveOne", [] { return flag(" --flip 1.5"); }, 2,
     [] { return "--flip must be a probability in [0, 1]"; }},
    {"EmaDecayOfOne", [] { return flag(" --ema 1"); }, 2, [] { return "--ema must be 0 (off) or a decay in (0, 1)"; }},
    {"UnknownTestTimeAugmentation",
     [] { return "eval --checkpoint " + (world().dir / "none.s8ckpt").string() + " --data x --tta crop"; }, 2,
     [] {
       return "--tta: unknown test-time augmentation 'crop' (known: none, flip, shiftN, flip+shiftN with N from 1 to "
              "8)";
     }},
    // A bare word no flag takes is refused, not dropped: here the second of two views meant for --tta.
    {"StrayArgument",
     [] { return "eval --checkpoint " + (world().dir / "none.s8ckpt").string() + " --data x --tta flip shift1"; }, 2,
     [] { return "unexpected argument 'shift1': every value belongs to a flag"; }},
    {"StrayArgumentToAStudy",
     [] { return "study --norm bn --batch 2 --seeds 1 stray --data x --out " + (world().dir / "never").string(); }, 2,
     [] { return "unexpected argument 'stray': every value belongs to a flag"; }},
    // Norm options are checked against the plugin before the data is read (here: it does not exist).
    {"NormOptionOutOfRange",
     [] {
       return "train --norm gn --norm-option groups=0 --data " + (world().dir / "absent").string() + " --out " +
              (world().dir / "never").string();
     },
     2, [] { return "--norm-option groups=0: out of range for norm 'gn': an integer in [1, 1048576]"; }},
    {"NormOptionUnknown",
     [] {
       return "train --norm ln --norm-option frob=1 --data " + (world().dir / "absent").string() + " --out " +
              (world().dir / "never").string();
     },
     2, [] { return "--norm-option frob=1: norm 'ln' has no option 'frob' (it accepts: eps)"; }},
    {"NormOptionThePluginRefuses",
     [] {
       return "train --norm gn --norm-option groups=3 --data " + (world().dir / "absent").string() + " --out " +
              (world().dir / "never").string();
     },
     2, [] { return "--norm-option groups=3: C1.norm (norm 'gn' from "; }},
};

class BadInputTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(BadInputTest, OneMessageNamingItAndTheRightExitCode) {
  const BadInput& c = GetParam();
  const auto r = run_app(c.command());
  EXPECT_EQ(r.exit_code, c.exit_code) << r.all();
  EXPECT_CONTAINS(r.err, c.message());
  // A refusal, not a crash: no sanitizer or terminate output, and never a half-made output directory.
  EXPECT_EQ(r.err.find("terminate called"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(world().dir / "never")) << r.all();
}

std::string case_name(const ::testing::TestParamInfo<BadInput>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Catalogue, BadInputTest, ::testing::ValuesIn(kCatalogue), case_name);

// Root lists every folder, so this case needs an ordinary user.
// Output that cannot be written (a full disk) fails the command with one line saying so, where it
// used to exit 0 having written nothing.
TEST(BadOutput, AnUnwritableStandardOutputFailsTheCommand) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full on this machine";
  for (const std::string command : {"plugins", "summary --norm bn"}) {
    const auto r = test::run_app(command + " >/dev/full");
    EXPECT_EQ(r.exit_code, 1) << command << "\n" << r.all();
    EXPECT_CONTAINS(r.err, "cannot write its output: No space left on device");
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_EQ(test::run_app("plugins >/dev/null").exit_code, 0);
}

TEST(BadInputUnreadable, AFolderWithoutReadPermissionIsNamed) {
  if (::geteuid() == 0) GTEST_SKIP() << "root lists folders without read permission";
  const TempDir dir("unreadable-folder");
  test::write_image_folder(dir / "images", test::random_cifar(10, 2), "png");
  fs::permissions(dir / "images" / "train" / "cat", fs::perms::none);
  const auto r = run_app("data prepare --from " + (dir / "images").string() + " --out " + (dir / "out").string());
  fs::permissions(dir / "images" / "train" / "cat", fs::perms::owner_all);
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_CONTAINS(r.err, (dir / "images" / "train" / "cat").string() + ": cannot list the folder: Permission denied");
}

// Root reads every file, so this case needs an ordinary user.
TEST(BadInputUnreadable, PluginFileWithoutReadPermission) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files without read permission";
  const TempDir dir("unreadable");
  fs::copy_file(test::only_file_in("affine"), dir / "x.so");
  fs::permissions(dir / "x.so", fs::perms::none);
  const auto r = run_app("plugins --plugin-dir " + dir.path().string());
  EXPECT_CONTAINS(r.err, (dir / "x.so").string() + ": not readable");
}

}  // namespace
