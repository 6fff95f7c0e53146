// s8net: train, evaluate and inspect the S8 CIFAR-10 network with any normalization plugin.
#include "commands.hpp"
#include "mpi_ranks.hpp"

#include <s8net/core/error.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string_view>

namespace {

struct Subcommand {
  const char* name;
  const char* summary;
  int (*run)(int, char**);
};

constexpr Subcommand kSubcommands[] = {
    {"summary", "layers, output shapes and parameter count of the network for a norm", s8net::app::run_summary},
    {"plugins", "list the normalization plugins found and any that failed to load", s8net::app::run_plugins},
    {"plugin", "check a normalization plugin file against the ABI, or time it (s8net plugin check|bench FILE.so)",
     s8net::app::run_plugin},
    {"data", "prepare a data set (binary or image folder) or show its class counts", s8net::app::run_data},
    {"train", "train the network with a norm plugin, the original recipe by default", s8net::app::run_train},
    {"eval", "loss, accuracy and per-class accuracy of a checkpoint on the test set", s8net::app::run_eval},
    {"predict", "top classes of PNG or JPEG images with a checkpoint", s8net::app::run_predict},
    {"export", "write a checkpoint's network as ONNX, or for PyTorch (the original model's state_dict as safetensors)",
     s8net::app::run_export},
    {"import", "a safetensors state_dict of the original PyTorch model as a checkpoint (eval, fine-tune)",
     s8net::app::run_import},
    {"report", "draw a run's report.html and pictures (curves, confusion matrix, images)", s8net::app::run_report},
    {"compare", "compare runs: test loss/accuracy curves, final results, compare.html", s8net::app::run_compare},
    {"study", "train a grid of norms x batch sizes x seeds and aggregate it, here or over MPI", s8net::app::run_study},
};

void print_usage(std::ostream& out) {
  out << "usage: s8net <command> [options]   (s8net <command> --help for its options)\n\ncommands:\n";
  for (const Subcommand& c : kSubcommands)
    out << "  " << c.name << std::string(10 - std::strlen(c.name), ' ') << c.summary << '\n';
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(std::cerr);
    return 2;
  }
  const std::string_view command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    print_usage(std::cout);
    return 0;
  }
  for (const Subcommand& c : kSubcommands) {
    if (command != c.name) continue;
    try {
      const int status = c.run(argc - 1, argv + 1);
      // Output that could not be written (a full disk, a closed pipe) is a failure, not a success
      // with nothing to show for it.
      errno = 0;
      std::cout.flush();
      if (std::fflush(stdout) != 0 || std::ferror(stdout) || !std::cout.good()) {
        std::cerr << "s8net " << c.name
                  << ": cannot write its output: " << (errno != 0 ? std::strerror(errno) : "a write failed") << '\n';
        return 1;
      }
      return status;
    } catch (const boost::program_options::error& e) {
      std::cerr << "s8net " << c.name << ": " << e.what() << " (see s8net " << c.name << " --help)\n";
      return s8net::app::end_job_on_failure(2);
    } catch (const std::exception& e) {
      std::cerr << "s8net " << c.name << ": " << e.what() << '\n';
      return s8net::app::end_job_on_failure(1);
    }
  }
  std::cerr << "s8net: unknown command '" << command << "' (see s8net --help)\n";
  return 2;
}
