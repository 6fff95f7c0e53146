// The ranks of a data-parallel `s8net train` under mpirun: the library's Collective over Boost.MPI.
#pragma once

#include <s8net/norm/collective.hpp>

#include <memory>

namespace s8net::app {

// Under mpirun (launched_by_mpi()), initialises MPI and returns the world's ranks; otherwise
// nothing, and the process trains alone without touching MPI.
std::unique_ptr<Collective> mpi_training_ranks();

// A command failed with this exit code (its message printed). In a data-parallel training of
// several ranks, ends every rank of the job with it: a rank that fails must not leave the others
// waiting in a collective for ever. Otherwise returns exit_code.
int end_job_on_failure(int exit_code);

}  // namespace s8net::app
