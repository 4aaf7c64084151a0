#pragma once
/// \file pool_engine.hpp
/// The process-pool engine behind `mapreduce --workers N` (started without mpirun).

#include "jobs/job_config.hpp"

namespace mr::detail {

/// Runs a built-in job with config.workers worker processes; prints and writes the
/// result like the SPMD engine (emit_result). Returns the process exit code; throws
/// mr::Error on failure.
int run_pool_engine(const JobConfig& config);

}  // namespace mr::detail
