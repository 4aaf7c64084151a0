// Placeholder until the process-pool module lands: a spawned worker just disconnects.
#include "mr/detail/worker.hpp"

namespace mr::detail {

int serve_spawned_worker(MPI_Comm parent) {
  MPI_Comm_disconnect(&parent);
  return 0;
}

}  // namespace mr::detail
