#include "common/finalize.hpp"

#include <mpi.h>

#include <atomic>

// Open MPI's storage for its MCA parameter async_mpi_finalize ("do not perform a barrier at the
// beginning of MPI_Finalize"), read when MPI_Finalize runs. Setting the variable is the only
// way to change it after MPI_Init (the parameter is read-only through MPI_T). Weak: other MPI
// libraries do not have it, and there the address is null.
extern "C" __attribute__((weak)) bool ompi_async_mpi_finalize;

namespace mr::detail {
namespace {
std::atomic<bool> dead_rank_in_job{false};
}

void note_dead_rank_in_job() { dead_rank_in_job.store(true); }

void finalize_mpi() {
  if (dead_rank_in_job.load() && &ompi_async_mpi_finalize != nullptr) ompi_async_mpi_finalize = true;
  MPI_Finalize();
}

}  // namespace mr::detail
