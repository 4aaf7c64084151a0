#pragma once
/// \file comm_executor.hpp
/// mr::CommExecutor — an executor over the ranks a job already has, for systems where
/// MPI_Comm_spawn is missing (Cray and other vendor MPIs, srun direct launch, batch policies).
/// Python: mpi4py.futures.MPICommExecutor.
///
///     mr::Runtime runtime(argc, argv);
///     mr::CommExecutor ex(MPI_COMM_WORLD);  // collective; rank 0 gets the executor
///     if (!ex.is_root()) return 0;          // the other ranks served until rank 0 shut it down
///     int y = ex.submit(sq, 7).result();
///
/// It is ProcessPoolExecutor on the same pool core, with the other ranks of the communicator
/// as its workers instead of spawned processes: the same submit/map/shutdown, futures,
/// mr::wait/as_completed and mr::run_in_executor, the same shared-memory channel between
/// ranks on one host (MPI, i.e. Open MPI's own transports, for the others), the same errors.

#include <mpi.h>

#include <cstddef>
#include <optional>
#include <ranges>
#include <string>
#include <utility>
#include <vector>

#include "mr/detail/mpi_check.hpp"
#include "mr/detail/pool_core.hpp"
#include "mr/error.hpp"
#include "mr/executor.hpp"
#include "mr/future.hpp"
#include "mr/process_pool_executor.hpp"
#include "mr/task.hpp"

namespace mr {

/// Runs registered tasks (MR_TASK) on the ranks of `comm` other than `root`. A task's
/// exception comes back as mr::RemoteError and its rank keeps serving. The destructor (or
/// shutdown) on the root releases the other ranks.
class CommExecutor {
 public:
  using is_mr_executor = void;

  /// Collective over `comm`. On `root` it returns once every other rank has joined; on the
  /// other ranks it serves tasks until the root's executor shuts down, then returns with
  /// is_root() false. `comm` must stay valid while the executor lives (it is duplicated, so
  /// the program's own messages on it never mix with the executor's).
  explicit CommExecutor(MPI_Comm comm = MPI_COMM_WORLD, int root = 0) {
    int rank = 0;
    int size = 0;
    MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
    MR_MPI_CALL(MPI_Comm_size, comm, &size);
    if (root < 0 || root >= size)
      throw UsageError("mr::CommExecutor: root " + std::to_string(root) + " is not a rank of the communicator (0.." +
                       std::to_string(size - 1) + ")");
    if (size < 2)
      throw UsageError("mr::CommExecutor: the communicator has one rank, so no rank is left to run tasks: "
                       "start the program with mpirun -np 2 or more, or use mr::ProcessPoolExecutor");
    if (rank == root) {
      detail::PoolCoreOptions options;
      options.comm = comm;
      options.root = root;
      executor_.emplace(std::move(options));
    } else if (detail::serve_pool_ranks(comm, root) != 0) {
      throw BrokenPool("mr::CommExecutor: this rank stopped serving after an error (printed above)");
    }
  }

  /// True on the root, which submits the work; false on the ranks that served it.
  bool is_root() const noexcept { return executor_.has_value(); }

  /// As ProcessPoolExecutor::submit. Root only (StateError elsewhere).
  template <class F, class... Args>
    requires TaskCallableWith<F, Args...>
  Future<task_result_t<F>> submit(F task, const Args&... args) {
    return root().submit(task, args...);
  }
  /// As ProcessPoolExecutor::submit_to: run by worker `worker` (0-based, in rank order).
  template <class F, class... Args>
    requires TaskCallableWith<F, Args...>
  Future<task_result_t<F>> submit_to(std::size_t worker, F task, const Args&... args) {
    return root().submit_to(worker, task, args...);
  }
  /// As ProcessPoolExecutor::map.
  template <class F, std::ranges::input_range Inputs>
    requires TaskCallableWith<F, std::ranges::range_value_t<Inputs>>
  MapResults<detail::stored_result_t<F>> map(F task, const Inputs& inputs, const MapOptions& options = {}) {
    return root().map(task, inputs, options);
  }

  /// On the root: stops accepting work and (wait) blocks until the other ranks are released.
  /// Elsewhere: nothing to do.
  void shutdown(bool wait = true, bool cancel_futures = false) {
    if (executor_) executor_->shutdown(wait, cancel_futures);
  }

  /// Ranks serving tasks (the communicator's size minus one) on the root; 0 elsewhere.
  std::size_t max_workers() const { return executor_ ? executor_->max_workers() : 0; }
  /// Process ids of the serving ranks on the root's host (0 for other hosts).
  std::vector<int> worker_pids() const { return executor_ ? executor_->worker_pids() : std::vector<int>{}; }
  /// True once a serving rank died.
  bool broken() const { return executor_ && executor_->broken(); }

 private:
  ProcessPoolExecutor& root() {
    if (!executor_)
      throw StateError("mr::CommExecutor: only the root rank submits work; this rank served the root's tasks "
                       "in the constructor (test is_root())");
    return *executor_;
  }
  std::optional<ProcessPoolExecutor> executor_;
};

}  // namespace mr
