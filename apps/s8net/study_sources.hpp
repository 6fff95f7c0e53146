// Where a study process gets its next grid point. Alone, from its own queue. Under mpirun, every
// rank asks rank 0, which hands the points out one at a time until the grid is done, so a fast
// machine simply trains more of them. Results travel through the shared study directory, not
// through messages: rank 0 reads every run directory when it writes the aggregate.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

namespace s8net::app {

class PointSource {
 public:
  virtual ~PointSource() = default;
  // The index of the next point to train, or nothing when none is left for this process.
  virtual std::optional<size_t> next() = 0;
  // This process ended a point (trained, failed or interrupted).
  virtual void ended(size_t index) = 0;
  // Rank 0 answers the other ranks; elsewhere nothing.
  virtual void serve() {}
  // True once no point is left anywhere and no other process still works on one.
  virtual bool done() const = 0;
  // "rank 0 of 4", or "" alone.
  virtual std::string where() const { return {}; }
};

// The points of `queue`, in order, for this process alone.
std::unique_ptr<PointSource> local_source(std::vector<size_t> queue);

// True when this process was started by mpirun (an MPI launcher's environment is present); only
// then is MPI initialised, so a study without mpirun needs no MPI daemon.
bool launched_by_mpi();

// The MPI source: rank 0 holds `queue` (the other ranks' argument is ignored) and hands it out.
// Initialises MPI for the process's lifetime on first use.
std::unique_ptr<PointSource> mpi_source(std::vector<size_t> queue);
// This process's rank (0 without MPI) and the number of ranks (1 without MPI).
int mpi_rank();
// Initialises MPI on first use, for the process's lifetime (study and train share it).
void initialise_mpi();

}  // namespace s8net::app
