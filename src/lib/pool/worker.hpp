#pragma once
#include <mpi.h>

namespace mr::detail {

/// Serves tasks from the pool over `parent` (an intercommunicator whose remote rank 0 is the
/// pool: a spawned worker's parent, or a CommExecutor's root) until told to stop; returns
/// the exit code. Implemented by the process-pool module.
int serve_spawned_worker(MPI_Comm parent);

}  // namespace mr::detail
