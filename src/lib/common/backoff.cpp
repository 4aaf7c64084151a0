#include "common/backoff.hpp"

#include "mr/detail/mpi_check.hpp"

namespace mr::detail {

void wait_sleeping(MPI_Request& request) {
  // No spin window: the wait is for another rank's work, which would need this core.
  Backoff backoff(BackoffConfig{.spin_window = std::chrono::microseconds(0),
                                .first_sleep = std::chrono::microseconds(20),
                                .max_sleep = std::chrono::microseconds(2000),
                                .long_idle_sleep = std::chrono::microseconds(2000)});
  for (int done = 0;;) {
    MR_MPI_CALL(MPI_Test, &request, &done, MPI_STATUS_IGNORE);
    if (done) return;
    backoff.pause();
  }
}

}  // namespace mr::detail
