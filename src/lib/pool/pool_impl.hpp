#pragma once
/// PoolCore::Impl, the state shared by the parts of the pool core. Each part lives in its own
/// file so that it can be read on its own:
///   pool_core.cpp      the progress thread's loop, the callback thread, the public accessors
///   pool_spawn.cpp     spawn, the spawn lock and start-up watchdog, killing the workers
///   pool_dispatch.cpp  submission queues, least-loaded dispatch, batches, pinned jobs, results
///   pool_liveness.cpp  pid watching, heartbeats, the broken pool
///   pool_shutdown.cpp  orderly stop of the workers, shutdown/terminate/join
/// Everything below "progress thread only" is touched by the progress thread alone, so only
/// the members under `mutex` (and the callback queue) need locking.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "mr/detail/pool_core.hpp"
#include "pool/pool_transport.hpp"
#include "pool/shm_channel.hpp"

namespace mr::detail {

/// This machine's host name (also used by the workers to tell whether the parent is local).
std::string this_host();

/// A process we cannot signal, or a zombie waiting to be reaped, is dead.
bool process_alive(pid_t pid);

/// The pool's intercommunicator to the ranks of `comm` other than `root` (pool_ranks.cpp),
/// collective over `comm`; run by the pool on `root` and by every worker rank. Throws
/// BrokenPool("abandoned") once give_up() says so while waiting for the other ranks.
MPI_Comm connect_pool_ranks(MPI_Comm comm, int root, const std::function<bool()>& give_up);
/// World mode, rank 0: one pool holds ranks 1..N-1 at a time; a second waits until
/// `deadline`, then UsageError.
void acquire_world_ranks(std::chrono::steady_clock::time_point deadline);
void release_world_ranks();
/// Tells ranks 1..N-1 (waiting in serve_world_pools) that a pool connects to them now.
void announce_world_pool();

/// Serialises MPI_Comm_spawn and pool teardown between the processes of one host: with Open
/// MPI 4.1, children of a spawn that overlaps another spawn or the end of another spawned job
/// (every rank of a job creating and closing pools at once) often hang in MPI_Init. A lock
/// file, not MPI, because the spawning ranks are not in any collective.
/// Waits a bounded time: a holder stuck in a hung spawn must not block everyone else.
class SpawnLock {
 public:
  SpawnLock();
  ~SpawnLock();
  SpawnLock(const SpawnLock&) = delete;
  SpawnLock& operator=(const SpawnLock&) = delete;

 private:
  int fd_ = -1;
};

struct PoolCore::Impl : std::enable_shared_from_this<PoolCore::Impl> {
  using Clock = std::chrono::steady_clock;

  struct Worker {
    int rank = 0;
    pid_t pid = 0;
    bool local = false;
    bool ready = false;
    Clock::time_point last_heard{};  ///< remote workers: last message or heartbeat
    struct Sent {
      std::uint64_t id;
      std::shared_ptr<Completion> completion;  // null: the initializer
    };
    std::deque<Sent> in_flight;         // answered in this order
    std::deque<std::uint32_t> batches;  // tasks left per batch sent
  };

  explicit Impl(PoolCoreOptions opts) : options(std::move(opts)) {}

  PoolCoreOptions options;
  int size = 0;

  /// The workers' channels, if shared memory is available. Created by the constructor,
  /// which removes its name if it gives up on start-up.
  std::unique_ptr<ShmSegment> segment;
  /// Rung by submitters and by workers writing to their channels; the progress thread sleeps
  /// on it. In the segment when there is one (workers ring it), else here.
  Doorbell local_bell;
  Doorbell* bell = &local_bell;

  // ---- shared with submitters (mutex) ----
  mutable std::mutex mutex;
  std::deque<Job> incoming;
  bool closed = false;
  bool cancel_pending = false;
  bool terminate_requested = false;
  bool abandoned = false;  // the constructor gave up waiting for start-up
  std::string broken_reason;
  std::vector<pid_t> pids;
  std::atomic<bool> broken{false};

  // ---- callback thread ----
  std::mutex callback_mutex;
  std::condition_variable callback_wake;
  std::deque<Callbacks> callback_queue;
  bool callbacks_stop = false;
  std::thread callback_thread;
  std::thread progress_thread;
  std::once_flag join_once;

  // ---- progress thread only ----
  MPI_Comm self = MPI_COMM_NULL;
  MPI_Comm inter = MPI_COMM_NULL;
  std::unique_ptr<Transport> transport;
  std::vector<Worker> workers;
  std::deque<Job> pending;
  std::deque<Job> pinned;  // jobs for one given worker, in submission order
  std::vector<Job> taken;  // dispatch's batch under construction (kept for its capacity)
  std::uint64_t next_id = 1;
  std::size_t in_flight_total = 0;
  std::deque<Message> early;  // answers that arrived before every worker had reported in

  // ---- callback thread (pool_core.cpp) ----
  void post_callbacks(Callbacks callbacks);
  void callback_loop();

  // ---- the progress thread (pool_core.cpp) ----
  /// The progress thread's body: spawn, serve, stop or break, finish.
  void run(std::promise<void>& started);
  void loop();
  void join_threads();

  /// Workers spawned by this pool (not ranks of a running job, which the launcher owns).
  bool spawned() const { return options.comm == MPI_COMM_NULL; }

  // ---- spawn and lifetime (pool_spawn.cpp) ----
  /// Starts or connects the workers and waits until each has reported in.
  void spawn();
  /// MPI_Comm_spawn of the workers (spawned pools).
  void spawn_processes();
  /// The initializer travels as a batch of its own; handle() knows it by its null completion.
  void send_initializer(Worker& worker);
  /// Drops the workers without any collective call (they may be dead or stuck).
  void kill_workers();
  /// Waits (bounded) until the launcher has reaped the local workers.
  void wait_for_exit();
  /// The progress thread is done: release the callback thread once it has drained its queue.
  void finish();

  // ---- dispatch (pool_dispatch.cpp) ----
  /// Submitter side: validates and queues jobs for the progress thread.
  void enqueue(std::vector<Job>& jobs);
  Worker* least_loaded();
  bool dispatch_pinned();
  void send_batch(Worker& worker, std::span<Job> jobs);
  bool dispatch();
  /// A message from a worker: results (completing their tasks) or a heartbeat.
  void handle(Message& message);

  // ---- liveness (pool_liveness.cpp) ----
  /// Throws BrokenPool if a worker is dead or silent for too long.
  void check_liveness();
  void fail_everything(const std::exception_ptr& error);
  void mark_broken(const std::string& reason);
  /// A broken pool on ranks of a running job: tells the ranks still alive to leave it.
  void release_live_ranks();

  // ---- shutdown (pool_shutdown.cpp) ----
  /// Tells every worker to stop and waits for each to say bye, then disconnects.
  void stop_workers();
};

}  // namespace mr::detail
