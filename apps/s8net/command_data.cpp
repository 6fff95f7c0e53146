// s8net data prepare | info: turn any CIFAR-10 source into the binary layout; show class counts.
#include "commands.hpp"
#include "progress.hpp"

#include <s8net/core/error.hpp>
#include <s8net/core/format.hpp>
#include <s8net/data/cifar_binary.hpp>
#include <s8net/data/data_source.hpp>

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
                with_thousands(train[static_cast<size_t>(c)]).c_str(), with_thousands(test[static_cast<size_t>(c)]).c_str());
  std::printf("%-12s %8s %8s\n", "total", with_thousands(data.train.size()).c_str(), with_thousands(data.test.size()).c_str());
}

int run_prepare(int argc, char** argv) {
  std::string from, out;
  po::options_description options(
      "s8net data prepare: read CIFAR-10 from the binary version or an image folder (directory or .tar.gz)\n"
      "and write the binary version (data_batch_1..5.bin, test_batch.bin, batches.meta.txt) into --out");
  options.add_options()("help,h", "show this help")
      ("from", po::value(&from)->required(), "cifar-10-batches-bin directory, cifar-10-binary.tar.gz, or an image folder / .tar.gz of <train|test>/<class>/*.jpg|png")
      ("out", po::value(&out)->required(), "directory to write the binary version into (created if needed)");
  if (!parse_command_line(argc, argv, options)) return 0;
  const auto start = std::chrono::steady_clock::now();
  const DataFormat format = detect_data_format(from);
  std::printf("reading %s (%s)\n", from.c_str(), name_of(format));
  std::fflush(stdout);
  ProgressLine line;
  const CifarData data = load_cifar(from, format, counting_progress(line, "decoding images"));
  line.clear();
  write_cifar_binary(data, out);
  print_class_counts(data);
  std::printf("wrote %s in %.1f s\n", out.c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return 0;
}

int run_info(int argc, char** argv) {
  std::string data_path;
  po::options_description options("s8net data info: the class counts of a data set");
  options.add_options()("help,h", "show this help")("data", po::value(&data_path)->required(), "any source s8net data prepare reads");
  if (!parse_command_line(argc, argv, options)) return 0;
  const DataFormat format = detect_data_format(data_path);
  ProgressLine line;
  const CifarData data = load_cifar(data_path, format, counting_progress(line, "decoding images"));
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
