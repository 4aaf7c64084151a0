#pragma once
/// \file builtin_jobs.hpp
/// The `mapreduce` program's jobs (word count, Google Books n-gram sums), written with the
/// public API like any user's job, and the program's run of them on either engine.

#include <mpi.h>

#include "jobs/job_config.hpp"

namespace mr::detail {

/// Runs the configured job on every rank of `comm` (collective); rank 0 prints and writes
/// the result. Throws the same mr::Error on every rank when any rank fails.
void run_on_ranks(MPI_Comm comm, const JobConfig& config);

/// Runs the configured job on a pool of config.workers processes (started without mpirun);
/// prints and writes the result like run_on_ranks. Throws mr::Error on failure.
void run_on_pool(const JobConfig& config);

}  // namespace mr::detail
