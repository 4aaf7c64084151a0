#pragma once
/// \file process_pool_executor.hpp
/// mr::ProcessPoolExecutor — Python's concurrent.futures.ProcessPoolExecutor on the
/// process pool's MPI_Comm_spawn workers. Tasks are registered free functions (MR_TASK);
/// otherwise the interface is mr::ThreadPoolExecutor's, so switching is a one-line change:
///
///     mr::ProcessPoolExecutor executor(4);   // or: mr::ThreadPoolExecutor executor(4);
///     mr::Future<long> f = executor.submit(count, 100L);

#include <cstddef>
#include <cstdint>
#include <ranges>
#include <string>
#include <utility>
#include <vector>

#include "mr/detail/pool_core.hpp"
#include "mr/detail/pool_tasks.hpp"
#include "mr/executor.hpp"
#include "mr/future.hpp"
#include "mr/pool.hpp"
#include "mr/task.hpp"

namespace mr {

/// Runs registered tasks in `max_workers` worker processes. A worker that dies fails its
/// task and every unfinished one with mr::BrokenPool, and the executor stays broken (Python:
/// BrokenProcessPool). A task's exception comes back as mr::RemoteError. The destructor calls
/// shutdown(true).
class ProcessPoolExecutor {
 public:
  using is_mr_executor = void;

  /// `max_workers` processes; 0: one per core (under mpirun: the free slots of the universe).
  explicit ProcessPoolExecutor(std::size_t max_workers = 0) : pool_(checked_workers(max_workers)) {}
  explicit ProcessPoolExecutor(const PoolOptions& options) : pool_(options) {}
  /// On the pool core's own options (mr::CommExecutor's root).
  explicit ProcessPoolExecutor(detail::PoolCoreOptions options) : pool_(std::move(options)) {}
  /// With `initializer(initargs...)` run once in every worker first (Python: initializer, initargs).
  template <class F, class... Args>
    requires TaskCallableWith<F, Args...>
  ProcessPoolExecutor(const PoolOptions& options, F initializer, const Args&... initargs)
      : pool_(options, initializer, initargs...) {}

  // The destructor is the pool's: shutdown(wait=true), or terminate when an exception is
  // unwinding the scope.

  /// Schedules `task(args...)` in a worker. Throws mr::StateError after shutdown(),
  /// mr::BrokenPool once a worker died, mr::UsageError for a task not registered with MR_TASK.
  template <class F, class... Args>
    requires TaskCallableWith<F, Args...>
  Future<task_result_t<F>> submit(F task, const Args&... args) {
    return submit_on(-1, task, args...);
  }

  /// submit(), run by worker `worker` (0 <= worker < max_workers()) rather than by the least
  /// loaded one: for work that needs what earlier tasks left in that worker's memory, e.g.
  /// collecting a per-worker accumulator (as Dask's `submit(..., workers=...)`; Python's
  /// executors have no equivalent). It waits for that worker only, never for the shared queue.
  template <class F, class... Args>
    requires TaskCallableWith<F, Args...>
  Future<task_result_t<F>> submit_to(std::size_t worker, F task, const Args&... args) {
    if (worker >= max_workers())
      throw UsageError("ProcessPoolExecutor::submit_to: worker " + std::to_string(worker) +
                       " does not exist; the executor has " + std::to_string(max_workers()) +
                       " workers, numbered from 0");
    return submit_on(static_cast<int>(worker), task, args...);
  }

  /// `task(x)` for every x of `inputs`, results in input order (see mr::MapResults). With
  /// `options.chunksize` > 1, that many calls travel to a worker as one message (a failure
  /// then fails its whole chunk, as in Python).
  template <class F, std::ranges::input_range Inputs>
    requires TaskCallableWith<F, std::ranges::range_value_t<Inputs>>
  MapResults<detail::stored_result_t<F>> map(F task, const Inputs& inputs, const MapOptions& options = {}) {
    detail::check_map_options(options);
    using R = detail::stored_result_t<F>;
    const std::string& name = detail::task_name(task);
    if (options.chunksize == 1) {
      std::vector<detail::PoolCore::Job> jobs;
      std::vector<Future<R>> futures;
      for (const auto& input : inputs) {
        detail::Bytes payload;
        detail::encode_call_args<detail::params_tuple_t<F>>(payload, input);
        auto [state, completion] = detail::make_task_state<task_result_t<F>>();
        futures.emplace_back(std::move(state));
        jobs.push_back({detail::TaskKind::call, name, std::move(payload), std::move(completion)});
      }
      core().submit_many(std::move(jobs));
      return MapResults<R>(std::move(futures), options.timeout);
    }
    detail::Chunks chunks = detail::make_call_chunks<F>(inputs, options.chunksize);
    const std::size_t items = chunks.items;
    std::vector<Future<std::vector<R>>> futures;
    for (auto& state : detail::submit_chunk_states<R>(core(), name, std::move(chunks)))
      futures.emplace_back(std::move(state));
    return MapResults<R>(std::move(futures), items, options.chunksize, options.timeout);
  }

  /// Stops accepting work. cancel_futures cancels calls not yet sent to a worker; wait blocks
  /// until the rest are done and the workers have exited. Safe to call more than once.
  void shutdown(bool wait = true, bool cancel_futures = false) { core().shutdown(wait, cancel_futures); }
  /// Ends the workers now, as ProcessPool::terminate(): calls not finished fail. For a caller
  /// that must not wait for a worker that will never answer (one left alone in a collective
  /// task by another that failed).
  void terminate() { core().terminate(); }

  std::size_t max_workers() const { return static_cast<std::size_t>(pool_.processes()); }
  /// Worker process ids (0 for a worker on another host).
  std::vector<int> worker_pids() const { return pool_.worker_pids(); }
  /// True once a worker died: every later submit throws mr::BrokenPool.
  bool broken() const { return pool_.broken(); }

 private:
  static int checked_workers(std::size_t max_workers) {
    if (max_workers > static_cast<std::size_t>(INT32_MAX))
      throw UsageError("ProcessPoolExecutor: max_workers " + std::to_string(max_workers) + " is too large");
    return static_cast<int>(max_workers);
  }
  detail::PoolCore& core() { return pool_.core(); }

  template <class F, class... Args>
  Future<task_result_t<F>> submit_on(int worker, F task, const Args&... args) {
    using R = task_result_t<F>;
    detail::Bytes payload;
    detail::encode_call_args<detail::params_tuple_t<F>>(payload, args...);
    auto [state, completion] = detail::make_task_state<R>();
    core().submit(detail::TaskKind::call, detail::task_name(task), std::move(payload), std::move(completion), worker);
    return Future<R>(std::move(state));
  }

  ProcessPool pool_;
};

}  // namespace mr
