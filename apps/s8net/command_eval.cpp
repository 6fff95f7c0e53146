// s8net eval: a checkpoint's loss, accuracy and per-class accuracy on the test set, or on the
// validation split its run held out (for choosing settings without looking at the test set).
#include "commands.hpp"
#include "progress.hpp"

#include <s8net/core/error.hpp>
#include <s8net/core/format.hpp>
#include <s8net/data/any_data_source.hpp>
#include <s8net/train/evaluate.hpp>
#include <s8net/train/network_state.hpp>
#include <s8net/train/train_config.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace po = boost::program_options;

namespace s8net::app {

int run_eval(int argc, char** argv) {
  std::string checkpoint_path, data_path, tta_name = "none", split = "test";
  std::vector<std::string> plugin_dirs;
  int64_t limit = 0, batch = 256;
  po::options_description options(
      "s8net eval: evaluate a checkpoint on the test set, or on its run's validation split");
  // clang-format off
  options.add_options()("help,h", "show this help")
      ("checkpoint", po::value(&checkpoint_path)->required(), "a .s8ckpt file written by s8net train")
      ("data", po::value(&data_path)->required(), "data: a directory written by s8net data prepare, or any source it reads")
      ("split", po::value(&split)->default_value("test"), "test, or validation: the images the run held out with --val")
      ("limit-test", po::value(&limit)->default_value(0), "use the first N test images (0: all)")
      ("batch", po::value(&batch)->default_value(256), "evaluation batch size")
      ("tta", po::value(&tta_name)->default_value("none"), "test-time augmentation, the class probabilities of several views of each image averaged, one evaluation per view: none; flip (the image and its mirror image: 2 views); shiftN, N from 1 to 8 (the image, and the image moved N pixels left, right, up and down with the border reflected: 5 views); flip+shiftN (those 5 and their mirror images: 10 views)")
      ("plugin-dir", po::value(&plugin_dirs)->composing(), "extra plugin directory or file (repeatable)");
  // clang-format on
  if (!parse_command_line(argc, argv, options)) return 0;
  if (batch <= 0) throw po::error("--batch must be > 0");
  if (limit < 0) throw po::error("--limit-test must be >= 0");
  if (split != "test" && split != "validation") throw po::error("--split '" + split + "': test or validation");
  if (split == "validation" && limit > 0) throw po::error("--limit-test applies to --split test only");
  TestTimeAugmentation tta;
  try {
    tta = parse_test_time_augmentation(tta_name);
  } catch (const Error& e) {
    throw po::error(std::string("--tta: ") + e.what());
  }

  Context context;
  const auto registry = load_plugins(context, plugin_dirs);
  const Checkpoint checkpoint = load_checkpoint(checkpoint_path);
  const auto network = network_from_checkpoint(context, *registry, checkpoint, checkpoint_path);
  const TrainConfig& config = checkpoint.config;
  if (split == "validation" && config.validation_images == 0)
    throw po::error("--split validation: " + checkpoint_path + " comes from a run without a validation split (--val)");
  const CifarData data = load_any_cifar(data_path);
  const Dataset images =
      split == "test" ? data.test.first(limit) : training_split(config, data.train).validation;  // the run's own
  const Augmenter augmenter(config.augment_options);
  ProgressLine line;
  const EvalResult r = evaluate(*network, images, augmenter, batch,
                                counting_progress(line, split == "test" ? "testing" : "validating"), tta);
  line.clear();

  std::printf("checkpoint %s: norm %s, after epoch %lld\n", checkpoint_path.c_str(), checkpoint.config.norm.c_str(),
              static_cast<long long>(checkpoint.epochs_done));
  if (tta.views() > 1)
    std::printf("test-time augmentation: %s (%lld evaluations per image)\n", name_of(tta).c_str(),
                static_cast<long long>(tta.views()));
  std::printf("%s loss %.4f, accuracy %.2f%% (%s/%s)\n\n", split.c_str(), r.loss, r.accuracy(),
              with_thousands(r.correct).c_str(), with_thousands(r.total).c_str());
  std::printf("%-12s %9s %9s\n", "class", "accuracy", "images");
  for (int c = 0; c < kClassCount; ++c)
    std::printf("%-12s %8.2f%% %9s\n", std::string(kClassNames[static_cast<size_t>(c)]).c_str(), r.class_accuracy(c),
                with_thousands(r.class_count(c)).c_str());
  return 0;
}

}  // namespace s8net::app
