// s8net export and import as a user runs them: a trained run leaves as safetensors and comes back
// evaluating the same, an imported checkpoint works with eval, predict, report and train --resume,
// the flags' refusals, and (when PyTorch is installed) PyTorch loading an export strictly.
#include "support/app_runner.hpp"
#include "support/synthetic_data.hpp"
#include "support/temp_dir.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/data/cifar_binary.hpp>
#include <s8net/data/image_codec.hpp>
#include <s8net/train/checkpoint.hpp>

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

namespace {

namespace fs = std::filesystem;
using namespace s8net;
using test::run_app;
using test::TempDir;

const fs::path kFixtures = fs::path(S8NET_SOURCE_DIR) / "tests/data/safetensors";

// The lines of `s8net eval` that describe the result, without the one naming the checkpoint.
std::string results_of(const std::string& eval_output) { return eval_output.substr(eval_output.find('\n') + 1); }

// A tiny data set, a one-epoch BatchNorm run on it and its export, shared by the tests below.
class AppInterop : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("app-interop");
    write_cifar_binary(test::random_cifar(64, 30, 8), *dir_ / "data");
    const auto r = run_app("train --norm bn --data " + path("data") + " --out " + path("run") +
                           " --epochs 1 --batch 16 --seed 3 --no-report");
    ASSERT_EQ(r.exit_code, 0) << r.all();
    const auto e = run_app("export --checkpoint " + path("run/last.s8ckpt") + " --out " + path("m.safetensors"));
    ASSERT_EQ(e.exit_code, 0) << e.all();
    export_output_ = new std::string(e.out);
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete export_output_;
  }
  static std::string path(const std::string& name) { return (*dir_ / name).string(); }
  static TempDir* dir_;
  static std::string* export_output_;
};
TempDir* AppInterop::dir_ = nullptr;
std::string* AppInterop::export_output_ = nullptr;

TEST_F(AppInterop, ExportSaysWhatItWrote) {
  EXPECT_EQ(*export_output_, path("m.safetensors") +
                                 ": 69 tensors, the state_dict of the original PyTorch Net(norm='bn') (load it with "
                                 "load_state_dict(..., strict=True)); 48,178 parameters, 4 training steps\n");
}

TEST_F(AppInterop, ImportedExportEvaluatesLikeTheRun) {
  const TempDir out("import");
  const auto i = run_app("import " + path("m.safetensors") + " --out " + (out / "c.s8ckpt").string());
  ASSERT_EQ(i.exit_code, 0) << i.all();
  EXPECT_EQ(i.out, (out / "c.s8ckpt").string() + ": Net(norm='bn') from " + path("m.safetensors") +
                       ", 4 training steps; a checkpoint at epoch 0 (batch 32, 20 epochs, seed 1)\n");
  const auto original = run_app("eval --checkpoint " + path("run/last.s8ckpt") + " --data " + path("data"));
  const auto imported = run_app("eval --checkpoint " + (out / "c.s8ckpt").string() + " --data " + path("data"));
  ASSERT_EQ(original.exit_code, 0) << original.all();
  ASSERT_EQ(imported.exit_code, 0) << imported.all();
  EXPECT_EQ(results_of(imported.out), results_of(original.out));
  EXPECT_CONTAINS(imported.out, "norm bn, after epoch 0");
}

TEST_F(AppInterop, ImportedCheckpointPredictsAndReports) {
  const TempDir out("import");
  ASSERT_EQ(run_app("import " + path("m.safetensors") + " --out " + (out / "run/last.s8ckpt").string()).exit_code, 0);
  write_file_atomically(out / "a.png", encode_png(from_planar(test::random_dataset(1, 77).image(0))));
  const auto original = run_app("predict --checkpoint " + path("run/last.s8ckpt") + " " + (out / "a.png").string());
  const auto imported =
      run_app("predict --checkpoint " + (out / "run/last.s8ckpt").string() + " " + (out / "a.png").string());
  ASSERT_EQ(imported.exit_code, 0) << imported.all();
  EXPECT_EQ(imported.out, original.out);
  // A report draws a run's finished epochs, which an import has none of: it reports the imported
  // checkpoint as the one it evaluates.
  const auto report = run_app("report " + path("run") + " --checkpoint " + (out / "run/last.s8ckpt").string() +
                              " --data " + path("data") + " --out " + (out / "report").string());
  ASSERT_EQ(report.exit_code, 0) << report.all();
  EXPECT_CONTAINS(test::text_of(out / "report/report.html"), "last.s8ckpt (epoch 0)");
}

TEST_F(AppInterop, TrainResumeFineTunesAnImportWithTheConfigurationGivenToImport) {
  const TempDir out("finetune");
  const std::string run = (out / "ft").string();
  const auto i =
      run_app("import " + path("m.safetensors") + " --out " + run + "/last.s8ckpt --epochs 1 --batch 16 --seed 4");
  ASSERT_EQ(i.exit_code, 0) << i.all();
  const auto changed = run_app("train --resume --data " + path("data") + " --out " + run + " --batch 32 --no-report");
  EXPECT_EQ(changed.exit_code, 2);
  EXPECT_CONTAINS(changed.err, "--batch asks for batch_size 32, but the run in " + run + " was trained with 16");
  const auto t = run_app("train --resume --data " + path("data") + " --out " + run + " --no-report");
  ASSERT_EQ(t.exit_code, 0) << t.all();
  EXPECT_CONTAINS(t.out, "resuming after epoch 0 with the configuration in " + run + "/last.s8ckpt");
  const Checkpoint tuned = load_checkpoint(out / "ft/last.s8ckpt");
  EXPECT_EQ(tuned.epochs_done, 1);
  EXPECT_EQ(tuned.config.batch_size, 16);
  EXPECT_EQ(tuned.training_steps, 4u + 4u) << "the export's 4 steps, then 64 images in batches of 16";
  const auto report = run_app("report " + run + " --data " + path("data"));
  ASSERT_EQ(report.exit_code, 0) << report.all();
  EXPECT_TRUE(fs::exists(out / "ft/report.html"));
}

TEST_F(AppInterop, ExportAcceptsOnlyTheFormatsItWrites) {
  const auto r =
      run_app("export --checkpoint " + path("run/last.s8ckpt") + " --format tflite --out " + path("m.tflite"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "s8net export: --format 'tflite': the accepted formats are safetensors, onnx (see s8net export --help)\n");
  EXPECT_FALSE(fs::exists(path("m.tflite")));
  EXPECT_CONTAINS(run_app("export --help").out, "output format: safetensors, onnx (default: onnx for");
}

TEST_F(AppInterop, ImportNeedsTheNormOfAFileFromPyTorch) {
  const TempDir out("import");
  const std::string fixture = (kFixtures / "gn.safetensors").string();
  const auto none = run_app("import " + fixture + " --out " + (out / "c.s8ckpt").string());
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_CONTAINS(none.err,
                  "the option '--norm' is required: " + fixture + " does not say which norm (bn, gn or ln) it holds");
  const auto other = run_app("import " + fixture + " --norm in --out " + (out / "c.s8ckpt").string());
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_CONTAINS(other.err, "--norm in: the original PyTorch model has only bn, gn and ln");
  const auto wrong = run_app("import " + fixture + " --norm bn --out " + (out / "c.s8ckpt").string());
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_CONTAINS(wrong.err, "s8net import: " + fixture + ": no block1.n1.running_mean");
  const auto ok =
      run_app("import " + fixture + " --norm gn --norm-option groups=2 --out " + (out / "c.s8ckpt").string());
  EXPECT_EQ(ok.exit_code, 0) << ok.all();
}

TEST_F(AppInterop, ExportWarnsWhenTheNormComputesOtherwiseThanTheOriginals) {
  const TempDir out("export");
  const std::string checkpoint = (out / "g4.s8ckpt").string();
  const auto i = run_app("import " + (kFixtures / "gn.safetensors").string() +
                         " --norm gn --norm-option groups=4 --out " + checkpoint);
  ASSERT_EQ(i.exit_code, 0) << i.all();
  const auto e = run_app("export --checkpoint " + checkpoint + " --out " + (out / "g4.safetensors").string());
  ASSERT_EQ(e.exit_code, 0) << e.all();
  EXPECT_EQ(e.err, "warning: " + checkpoint +
                       ": groups=4 (the original has 2); PyTorch's Net(norm='gn') loads the "
                       "weights but computes otherwise unless its norm layers are set the same way\n");
  // The options travel in the metadata: importing the export again needs no --norm-option.
  const auto back = run_app("import " + (out / "g4.safetensors").string() + " --out " + (out / "back.s8ckpt").string());
  ASSERT_EQ(back.exit_code, 0) << back.all();
  EXPECT_EQ(load_checkpoint(out / "back.s8ckpt").config.norm_options, (NormOptions{{"groups", 4}}));
}

TEST_F(AppInterop, ImportRefusesToContradictTheExportsMetadata) {
  const TempDir out("import");
  const auto r = run_app("import " + path("m.safetensors") + " --norm gn --out " + (out / "c.s8ckpt").string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_CONTAINS(r.err, "--norm gn, but " + path("m.safetensors") +
                             " holds a 'bn' network (its metadata s8net.norm): leave --norm out or give bn");
  EXPECT_FALSE(fs::exists(out / "c.s8ckpt"));
}

TEST_F(AppInterop, ImportTakesAnOptionRepeatedAtItsDefaultButNoOther) {
  const TempDir out("import");
  const auto same =
      run_app("import " + path("m.safetensors") + " --norm-option eps=1e-5 --out " + (out / "same.s8ckpt").string());
  EXPECT_EQ(same.exit_code, 0) << same.all();
  const auto other =
      run_app("import " + path("m.safetensors") + " --norm-option eps=0.001 --out " + (out / "other.s8ckpt").string());
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_CONTAINS(other.err, "--norm-option asks for eps=0.001, but " + path("m.safetensors") +
                                 " was trained with the plugin's defaults");
}

TEST_F(AppInterop, ImportKeepsAnExistingCheckpointUnlessToldToReplaceIt) {
  const auto r = run_app("import " + path("m.safetensors") + " --out " + path("run/last.s8ckpt"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "s8net import: " + path("run/last.s8ckpt") + " exists: give --overwrite to replace it\n");
}

// What is at --out is replaced only when asked, only if it is a file, and never if it is the
// input: the atomic write renames over whatever is there.
TEST_F(AppInterop, ExportAndImportReplaceOnlyAFileTheyAreToldTo) {
  const TempDir out("out");
  const std::string checkpoint = path("run/last.s8ckpt"), kept = (out / "kept.safetensors").string();
  const auto checkpoint_bytes = read_file_bytes(checkpoint);
  write_file_atomically(kept, std::span(checkpoint_bytes).first(10));
  const auto refused = run_app("export --checkpoint " + checkpoint + " --out " + kept);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err, "s8net export: " + kept + " exists: give --overwrite to replace it\n");
  EXPECT_EQ(read_file_bytes(kept).size(), 10u);
  const auto replaced = run_app("export --checkpoint " + checkpoint + " --out " + kept + " --overwrite");
  EXPECT_EQ(replaced.exit_code, 0) << replaced.all();
  EXPECT_EQ(read_file_bytes(kept), read_file_bytes(path("m.safetensors")));

  const auto itself = run_app("export --checkpoint " + checkpoint + " --out " + checkpoint + " --overwrite");
  EXPECT_EQ(itself.exit_code, 1);
  EXPECT_EQ(itself.err, "s8net export: " + checkpoint + " is " + checkpoint + ", the input: write to another file\n");
  EXPECT_EQ(read_file_bytes(checkpoint), checkpoint_bytes);

  const std::string pipe = (out / "pipe").string();
  ASSERT_EQ(::mkfifo(pipe.c_str(), 0600), 0);
  for (const std::string& command : {"export --checkpoint " + checkpoint + " --overwrite --out " + pipe,
                                     "import " + path("m.safetensors") + " --overwrite --out " + pipe}) {
    SCOPED_TRACE(command);
    const auto r = run_app(command);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_CONTAINS(r.err, pipe + ": not a regular file; give a file to write\n");
    EXPECT_TRUE(fs::is_fifo(pipe));
  }
}

TEST_F(AppInterop, AnOutEndingInOnnxIsExportedAsOnnx) {
  const TempDir out("onnx");
  for (const char* name : {"m.onnx", "M.ONNX"}) {
    const auto r = run_app("export --checkpoint " + path("run/last.s8ckpt") + " --out " + (out / name).string());
    EXPECT_EQ(r.exit_code, 0) << r.all();
    EXPECT_CONTAINS(r.out, std::string(name) + ": ONNX opset ");
  }
}

TEST_F(AppInterop, ImportOfADamagedFileIsOneLineNamingIt) {
  const TempDir out("import");
  const auto bytes = read_file_bytes(path("m.safetensors"));
  write_file_atomically(out / "cut.safetensors", std::span(bytes).first(bytes.size() - 4));
  const auto r = run_app("import " + (out / "cut.safetensors").string() + " --out " + (out / "c.s8ckpt").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(
      r.err.rfind("s8net import: " + (out / "cut.safetensors").string() + ": tensor \"flat.bias\": data_offsets [", 0),
      0u)
      << r.err;
  EXPECT_CONTAINS(r.err, "reach past the data buffer's");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// PyTorch itself loads each export with load_state_dict(strict=True) into the original model, and
// the gn and ln exports of the PyTorch fixtures give PyTorch's own log-probabilities back.
TEST_F(AppInterop, PyTorchLoadsTheExportStrictly) {
  std::string python;
  for (const char* candidate : {"python3", "/usr/bin/python3"})
    if (python.empty() && std::system((std::string(candidate) + " -c 'import torch' >/dev/null 2>&1").c_str()) == 0)
      python = candidate;
  if (python.empty())
    GTEST_SKIP() << "PyTorch is not installed (neither python3 nor /usr/bin/python3 imports torch): the export is not "
                    "loaded into PyTorch";
  const TempDir out("pytorch");
  const std::string source = S8NET_SOURCE_DIR;
  std::ofstream(out / "check.py")
      << "import sys, torch\n"
         "sys.path[:0] = [sys.argv[1] + '/scripts', sys.argv[1] + '/tests/data/safetensors']\n"
         "from pt_to_safetensors import read_safetensors\n"
         "from make_fixtures import Net\n"
         "tensors, metadata = read_safetensors(sys.argv[3])\n"
         "net = Net(sys.argv[2]).eval()\n"
         "net.load_state_dict(tensors, strict=True)\n"
         "if len(sys.argv) > 4:\n"
         "    expected, _ = read_safetensors(sys.argv[4])\n"
         "    with torch.no_grad():\n"
         "        got = net.double()(expected['images'].double()).float()\n"
         "    difference = (got - expected[sys.argv[2]]).abs().max().item()\n"
         "    assert difference < 1e-6, difference\n"
         "print('loaded', len(tensors), metadata['s8net.norm'])\n";
  const std::string check = python + " " + (out / "check.py").string() + " " + source + " ";
  const auto bn = test::run_program(check + "bn " + path("m.safetensors"), "");
  EXPECT_EQ(bn.exit_code, 0) << bn.all();
  EXPECT_EQ(bn.out, "loaded 69 bn\n");
  // scripts/pt_to_safetensors.py takes the export to a .pt file and back without changing a value.
  const std::string script = python + " " + source + "/scripts/pt_to_safetensors.py ";
  const auto to_pt = test::run_program(script + path("m.safetensors") + " " + (out / "m.pt").string(), "");
  ASSERT_EQ(to_pt.exit_code, 0) << to_pt.all();
  const auto back = test::run_program(script + (out / "m.pt").string() + " " + (out / "back.safetensors").string(), "");
  ASSERT_EQ(back.exit_code, 0) << back.all();
  ASSERT_EQ(
      run_app("import " + (out / "back.safetensors").string() + " --norm bn --out " + (out / "back.s8ckpt").string())
          .exit_code,
      0);
  ASSERT_EQ(run_app("import " + path("m.safetensors") + " --out " + (out / "direct.s8ckpt").string()).exit_code, 0);
  const Checkpoint direct = load_checkpoint(out / "direct.s8ckpt"), through_pt = load_checkpoint(out / "back.s8ckpt");
  ASSERT_EQ(direct.tensors.size(), through_pt.tensors.size());
  for (size_t i = 0; i < direct.tensors.size(); ++i) EXPECT_EQ(direct.tensors[i].values, through_pt.tensors[i].values);
  EXPECT_EQ(through_pt.training_steps, direct.training_steps);

  for (const std::string norm : {"gn", "ln"}) {
    const std::string checkpoint = (out / (norm + ".s8ckpt")).string(),
                      exported = (out / (norm + ".safetensors")).string();
    ASSERT_EQ(
        run_app("import " + (kFixtures / (norm + ".safetensors")).string() + " --norm " + norm + " --out " + checkpoint)
            .exit_code,
        0);
    ASSERT_EQ(run_app("export --checkpoint " + checkpoint + " --out " + exported).exit_code, 0);
    const auto r =
        test::run_program(check + norm + " " + exported + " " + (kFixtures / "expected.safetensors").string(), "");
    EXPECT_EQ(r.exit_code, 0) << r.all();
    EXPECT_EQ(r.out, "loaded 42 " + norm + "\n");
  }
}

}  // namespace
