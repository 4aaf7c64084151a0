#pragma once
/// The type-erased engine under ProcessPool, Process and ProcessPoolExecutor: spawns the
/// workers with one MPI_Comm_spawn, owns the progress thread that makes every MPI call of the
/// pool, batches queued tasks to workers, completes results and detects dead workers.
/// See .notes/pool.md ("internal API") for the contract the executor builds on.

#include <mpi.h>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mr/detail/shared_state.hpp"
#include "mr/pool_launch.hpp"
#include "mr/detail/wire.hpp"

namespace mr::detail {

using Callbacks = std::vector<std::function<void()>>;

/// Receives one task's outcome. Implementations are called on the progress thread and must
/// not block; the callbacks they return run on the pool's callback thread.
class Completion {
 public:
  virtual ~Completion() = default;
  /// The task is about to be sent to a worker (pending -> running). False if it was
  /// cancelled meanwhile: the task is then dropped.
  virtual bool start() = 0;
  virtual Callbacks succeed(std::string_view result) = 0;
  virtual Callbacks fail(std::exception_ptr error) = 0;
  /// Cancels a task that was never sent (shutdown with cancel_futures).
  virtual Callbacks cancel() = 0;
};

/// A SharedState that is its own Completion: one allocation per task.
template <class T>
class TaskState final : public SharedState<T>, public Completion {
 public:
  using Decode = stored_t<T> (*)(std::string_view);
  explicit TaskState(Decode decode) : decode_(decode) {}

  bool start() override { return this->set_running(); }
  Callbacks succeed(std::string_view result) override {
    try {
      return this->set_value(decode_(result));
    } catch (...) {
      return this->set_exception(std::current_exception());
    }
  }
  Callbacks fail(std::exception_ptr error) override { return this->set_exception(std::move(error)); }
  Callbacks cancel() override { return SharedState<T>::cancel().second; }

 private:
  Decode decode_;
};

template <class T>
stored_t<T> decode_result(std::string_view bytes) {
  return decode_value<stored_t<T>>(bytes);
}

/// Makes a TaskState and the two views the caller needs of it.
template <class T>
std::pair<std::shared_ptr<SharedState<T>>, std::shared_ptr<Completion>> make_task_state(
    typename TaskState<T>::Decode decode = &decode_result<T>) {
  auto state = std::make_shared<TaskState<T>>(decode);
  return {state, std::shared_ptr<Completion>(state, static_cast<Completion*>(state.get()))};
}

struct PoolCoreOptions {
  /// Worker count; 0 means default_pool_size(). Ignored for workers from `comm`.
  int processes = 0;
  /// Where the workers come from. MPI_COMM_NULL: spawned processes. Otherwise the ranks of
  /// `comm` other than `root` (mr::CommExecutor; the pool runs on `root`, and every other
  /// rank serves in serve_pool_ranks). Start-up is then collective over `comm`.
  MPI_Comm comm = MPI_COMM_NULL;
  int root = 0;
  /// The workers are ranks 1..N-1 of MPI_COMM_WORLD waiting in serve_world_pools
  /// (PoolLaunch::world): the pool announces itself to them before connecting.
  bool world = false;
  /// Spawned workers only: the hosts to start them on (MPI_Comm_spawn info key "host",
  /// "host1,host2:4"), or a hostfile ("hostfile"). Empty: where the launcher maps them.
  std::vector<std::string> hosts;
  std::string hostfile;
  /// Registered task run once in every worker before any task; empty for none. A failure
  /// breaks the pool (BrokenPool naming the initializer's exception).
  std::string initializer;
  Bytes initargs;
  /// How long start-up (spawn + every worker reporting in) may take before BrokenPool.
  std::chrono::duration<double> start_timeout{30.0};
  /// One spawn attempt's limit within start_timeout; a stuck spawn is abandoned and retried.
  std::chrono::duration<double> spawn_attempt_timeout{8.0};
  /// Largest batch of queued tasks sent to one worker in one message.
  std::size_t max_batch_tasks = 512;
  std::size_t max_batch_bytes = std::size_t{1} << 20;
  /// Batches a worker may hold (running + queued), so it never waits for the parent.
  std::size_t batches_per_worker = 2;
  /// How often worker liveness is checked while tasks are in flight.
  std::chrono::milliseconds liveness_interval{10};
  /// A worker on the same host is known dead as soon as its pid is; one on another host (or
  /// every worker, with watch_pids false) sends a heartbeat every heartbeat_interval and is
  /// declared dead after missed_heartbeats silent intervals.
  bool watch_pids = true;
  std::chrono::duration<double> heartbeat_interval{1.0};
  int missed_heartbeats = 10;
  /// Bytes of each direction's ring of a worker's shared-memory channel (a power of two);
  /// 0: workers talk MPI only.
  std::uint64_t shm_ring_bytes = std::uint64_t{1} << 20;
};

/// Default pool size: under mpirun, MPI_UNIVERSE_SIZE minus the world size if positive;
/// otherwise the number of hardware threads.
int default_pool_size();

/// A non-root rank of a CommExecutor: connects to the pool on `root` (collective over
/// `comm`) and serves its tasks until it shuts down. Returns 0, or non-zero after an error.
int serve_pool_ranks(MPI_Comm comm, int root);

/// PoolLaunch::world on ranks 1..N-1: serves every world-mode pool rank 0 creates, one after
/// the other, until rank 0's mr::Runtime ends (end_world_pools). Returns the exit code.
int serve_world_pools();
/// Rank 0: tells the serving ranks that no more pools will come (mr::Runtime's destructor).
/// Does nothing unless this process is rank 0 of a world-mode job.
void end_world_pools();
/// mr::Runtime: resolves its pool launch (argument, else MR_POOL_LAUNCH) and, in world mode,
/// returns true on ranks 1..N-1 (which then serve_world_pools) and remembers on rank 0 that
/// the serving ranks must be ended (end_world_pools).
bool start_world_mode(std::optional<PoolLaunch> runtime_launch);
/// A pool's launch: its own, else the Runtime's, else MR_POOL_LAUNCH, else spawn; automatic
/// resolved. Returns spawn or world. UsageError for a bad MR_POOL_LAUNCH.
PoolLaunch resolve_pool_launch(std::optional<PoolLaunch> launch);

class PoolCore {
 public:
  /// Spawns the workers and waits until each has reported in. Throws UsageError inside a
  /// worker or for processes < 0, BrokenPool if the spawn fails or times out.
  explicit PoolCore(PoolCoreOptions options);
  /// shutdown(wait=true) unless already shut down or terminated.
  ~PoolCore();
  PoolCore(const PoolCore&) = delete;
  PoolCore& operator=(const PoolCore&) = delete;

  /// Queues a task. Thread-safe. Throws StateError after shutdown, BrokenPool if broken.
  /// `worker` >= 0 pins the task to that worker (UsageError if out of range).
  void submit(TaskKind kind, std::string name, Bytes payload, std::shared_ptr<Completion> completion,
              int worker = -1);
  /// Queues many tasks under one lock (map).
  struct Job {
    TaskKind kind = TaskKind::call;
    std::string name;
    Bytes payload;
    std::shared_ptr<Completion> completion;
    /// Run by this worker (0-based) only; -1: whichever worker is least loaded.
    int worker = -1;
  };
  void submit_many(std::vector<Job> jobs);
  /// Type-erased submission: the result is the task's encoded result bytes.
  std::shared_ptr<SharedState<Bytes>> submit_raw(std::string name, Bytes payload);

  /// No more submissions; queued and running tasks still complete. With cancel_futures,
  /// tasks not yet sent to a worker are cancelled. With wait, blocks until all work is done
  /// and the workers have exited. Idempotent.
  void shutdown(bool wait, bool cancel_futures = false);
  /// Kills the workers now (SIGKILL); unfinished tasks fail with BrokenPool. Blocks until done.
  void terminate();
  /// Blocks until the workers have exited; StateError unless shutdown() or terminate() came first.
  void join();

  bool broken() const;
  /// Why the pool broke (empty if it did not).
  std::string broken_reason() const;
  bool closed() const;
  int processes() const;
  /// Process ids of the workers (same host only; 0 for a worker on another host).
  std::vector<int> worker_pids() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace mr::detail
