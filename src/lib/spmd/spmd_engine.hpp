#pragma once
/// \file spmd_engine.hpp
/// The SPMD engine behind `mpirun -np N mapreduce ...`.

#include <mpi.h>

#include "jobs/job_config.hpp"

namespace mr::detail {

/// Runs a built-in job on every rank of `comm` (collective): partition, map, shuffle,
/// reduce, gather to rank 0, which prints and writes the result. Throws the same
/// mr::Error on every rank when any rank fails.
void run_spmd_engine(MPI_Comm comm, const JobConfig& config);

}  // namespace mr::detail
