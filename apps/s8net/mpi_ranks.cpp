#include "mpi_ranks.hpp"

#include "study_sources.hpp"

#include <s8net/core/error.hpp>

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <functional>

namespace s8net::app {
namespace {

namespace mpi = boost::mpi;

int training_ranks = 0;  // of the data-parallel training this process takes part in

class MpiRanks final : public Collective {
 public:
  explicit MpiRanks(const mpi::communicator& world) : Collective(world.rank(), world.size()), world_(world) {}

  void allreduce_sum(std::span<float> data) override {
    // MPI counts are ints: a buffer beyond that goes in pieces.
    for (size_t begin = 0; begin < data.size(); begin += INT_MAX) {
      const int count = static_cast<int>(std::min<size_t>(data.size() - begin, INT_MAX));
      mpi::all_reduce(world_, mpi::inplace(data.data() + begin), count, std::plus<float>());
    }
  }

  std::vector<std::string> all_gather(const std::string& text) override {
    std::vector<std::string> all;
    mpi::all_gather(world_, text, all);
    return all;
  }

  std::string where() const override { return Collective::where() + " on " + mpi::environment::processor_name(); }

 private:
  mpi::communicator world_;
};

}  // namespace

std::unique_ptr<Collective> mpi_training_ranks() {
  if (!launched_by_mpi()) return nullptr;
  initialise_mpi();
  auto ranks = std::make_unique<MpiRanks>(mpi::communicator());
  training_ranks = ranks->size();
  return ranks;
}

int end_job_on_failure(int exit_code) {
  if (training_ranks <= 1) return exit_code;
  std::fflush(nullptr);
  mpi::environment::abort(exit_code);
  std::abort();  // not reached: MPI_Abort does not return
}

}  // namespace s8net::app
