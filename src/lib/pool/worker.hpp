#pragma once
#include <mpi.h>

namespace mr::detail {

/// Serves tasks from the spawning parent over `parent` until told to stop; returns the
/// process exit code. Implemented by the process-pool module.
int serve_spawned_worker(MPI_Comm parent);

}  // namespace mr::detail
