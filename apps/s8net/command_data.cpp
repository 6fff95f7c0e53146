// s8net data prepare | info: turn any CIFAR-10 source into the binary layout; show class counts.
#include "commands.hpp"
#include "interrupt.hpp"
#include "progress.hpp"

#include <s8net/core/error.hpp>
#include <s8net/core/format.hpp>
#include <s8net/data/any_data_source.hpp>
#include <s8net/data/cifar_binary.hpp>
#include <s8net/data/prepared_directory.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

namespace po = boost::program_options;

namespace s8net::app {
namespace {

void print_class_counts(const CifarData& data) {
  const auto train = data.train.class_counts(), test = data.test.class_counts();
  std::printf("%-12s %8s %8s\n", "class", "train", "test");
  for (int c = 0; c < kClassCount; ++c)
    std::printf("%-12s %8s %8s\n", std::string(kClassNames[static_cast<size_t>(c)]).c_str(),
                with_thousands(train[static_cast<size_t>(c)]).c_str(),
                with_thousands(test[static_cast<size_t>(c)]).c_str());
  std::printf("%-12s %8s %8s\n", "total", with_thousands(data.train.size()).c_str(),
              with_thousands(data.test.size()).c_str());
}

// Thrown from the import's progress callback to end it early when Ctrl-C asks.
struct PrepareInterrupted {};

int report_interrupted(const std::string& out) {
  std::fprintf(stderr, "s8net data prepare: interrupted before the new data set was complete; %s is unchanged\n",
               out.c_str());
  return 130;  // the shell's code for a process ended by Ctrl-C
}

int run_prepare(int argc, char** argv) {
  std::string from, out;
  po::options_description options(
      "s8net data prepare: read CIFAR-10 from the binary version or an image folder (directory or .tar.gz)\n"
      "and write the binary version (data_batch_1..5.bin, test_batch.bin, batches.meta.txt, manifest.json) into "
      "--out,\n"
      "replacing what was there only once the whole new data set is written");
  // clang-format off
  options.add_options()("help,h", "show this help")
      ("from", po::value(&from)->required(), "cifar-10-batches-bin directory, cifar-10-binary.tar.gz, or an image folder / .tar.gz of <train|test>/<class>/*.jpg|png")
      ("out", po::value(&out)->required(), "directory to write the binary version into (created if needed; if it exists, it may hold only a prepare's files)");
  // clang-format on
  if (!parse_command_line(argc, argv, options)) return 0;
  const InterruptRequest interrupt;  // Ctrl-C or SIGTERM from here on stops the prepare, leaving --out as it was
  const auto start = std::chrono::steady_clock::now();
  remove_stale_data_temporaries(out);
  check_replaceable_data_directory(out);  // before the long read, not after it
  const DataFormat format = detect_data_format(from);
  std::printf("reading %s (%s)\n", from.c_str(), name_of(format));
  std::fflush(stdout);
  ProgressLine line;
  const auto progress = counting_progress(line, "decoding images");
  CifarData data;
  try {
    data = load_any_cifar(from, format, [&](int64_t done, int64_t total) {
      if (interrupt.requested()) throw PrepareInterrupted{};
      progress(done, total);
    });
  } catch (const PrepareInterrupted&) {
    line.clear();
    return report_interrupted(out);
  } catch (const Error&) {
    if (!interrupt.requested()) throw;
    line.clear();
    return report_interrupted(out);  // a read the signal cut short: not a fault of the source
  }
  line.clear();
  if (!write_prepared_data(data, out, [&] { return interrupt.requested(); })) return report_interrupted(out);
  print_class_counts(data);
  std::printf("wrote %s in %.1f s\n", out.c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return 0;
}

int run_info(int argc, char** argv) {
  std::string data_path;
  po::options_description options("s8net data info: the class counts of a data set");
  // clang-format off
  options.add_options()("help,h", "show this help")("data", po::value(&data_path)->required(), "any source s8net data prepare reads");
  // clang-format on
  if (!parse_command_line(argc, argv, options)) return 0;
  const DataFormat format = detect_data_format(data_path);
  ProgressLine line;
  const CifarData data = load_any_cifar(data_path, format, counting_progress(line, "decoding images"));
  line.clear();
  std::printf("%s (%s)\n", data_path.c_str(), name_of(format));
  print_class_counts(data);
  return 0;
}

}  // namespace

int run_data(int argc, char** argv) {
  const std::string usage = "usage: s8net data prepare --from PATH --out DIR | s8net data info --data PATH";
  if (argc < 2) throw po::error(usage);
  const std::string action = argv[1];
  if (action == "--help" || action == "-h") {
    std::cout << usage << '\n';
    return 0;
  }
  if (action == "prepare") return run_prepare(argc - 1, argv + 1);
  if (action == "info") return run_info(argc - 1, argv + 1);
  throw po::error("unknown data action '" + action + "' (" + usage + ")");
}

}  // namespace s8net::app
