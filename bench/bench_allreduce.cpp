// The cost of the data-parallel step's one collective: an in-place allreduce-sum of the S8
// network's gradients (48,178 floats, plus the loss and the correct count) with Boost.MPI, as
// apps/s8net/mpi_ranks.cpp does it. Run under mpirun; rank 0 prints microseconds per allreduce.
//   mpirun -np 2 bench_allreduce [floats] [repetitions]
#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

namespace mpi = boost::mpi;

int main(int argc, char** argv) {
  const mpi::environment environment(argc, argv, mpi::threading::funneled);
  const mpi::communicator world;
  const long floats = argc > 1 ? std::atol(argv[1]) : 48178 + 2;
  const int repetitions = argc > 2 ? std::atoi(argv[2]) : 2000;
  if (floats <= 0 || repetitions <= 0) {
    std::fprintf(stderr, "bench_allreduce: floats and repetitions must be positive\n");
    return 2;
  }
  std::vector<float> buffer(static_cast<size_t>(floats), 1.f);
  const auto allreduce = [&] {
    mpi::all_reduce(world, mpi::inplace(buffer.data()), static_cast<int>(buffer.size()), std::plus<float>());
    std::fill(buffer.begin(), buffer.end(), 1.f);  // keep the values finite; its cost is measured apart
  };
  for (int i = 0; i < 50; ++i) allreduce();  // connections and buffers set up
  world.barrier();
  using Clock = std::chrono::steady_clock;
  const auto fill_start = Clock::now();
  for (int i = 0; i < repetitions; ++i) std::fill(buffer.begin(), buffer.end(), 1.f);
  const double fill = std::chrono::duration<double>(Clock::now() - fill_start).count();
  world.barrier();
  const auto start = Clock::now();
  for (int i = 0; i < repetitions; ++i) allreduce();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count() - fill;
  // The slowest rank's time is the step's.
  double slowest = 0;
  mpi::reduce(world, seconds, slowest, mpi::maximum<double>(), 0);
  if (world.rank() == 0)
    std::printf("allreduce of %ld floats (%.1f KB) over %d ranks: %.1f us each (%d repetitions)\n", floats,
                static_cast<double>(floats) * 4 / 1e3, world.size(), slowest / repetitions * 1e6, repetitions);
  return 0;
}
