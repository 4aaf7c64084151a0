#include "mr/detail/pool_core.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <future>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/backoff.hpp"
#include "mr/detail/mpi_check.hpp"
#include "pool/pool_transport.hpp"
#include "mr/detail/registry.hpp"
#include "pool/shm_channel.hpp"
#include "mr/runtime.hpp"

namespace mr::detail {

std::string this_host() {
  char name[HOST_NAME_MAX + 1] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

int default_pool_size() {
  // Only trust the universe size under a launcher: a singleton reports its own guess.
  if (std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr) {
    int* universe = nullptr;
    int flag = 0;
    int world = 1;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_UNIVERSE_SIZE, &universe, &flag);
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    if (flag && universe != nullptr && *universe - world > 0) return *universe - world;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

namespace {

using Clock = std::chrono::steady_clock;

/// A process we cannot signal, or a zombie waiting to be reaped, is dead.
bool process_alive(pid_t pid) {
  if (kill(pid, 0) != 0 && errno != EPERM) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;  // no procfs: trust kill()
  const auto close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return true;
  const char state = line[close + 2];
  return state != 'Z' && state != 'X';
}

std::string self_executable() {
  char path[PATH_MAX + 1] = {};
  const ssize_t n = readlink("/proc/self/exe", path, PATH_MAX);
  if (n <= 0) throw BrokenPool("mr: cannot find this program's executable (/proc/self/exe) to spawn workers");
  return std::string(path, static_cast<std::size_t>(n));
}

/// Serialises MPI_Comm_spawn and pool teardown between the processes of one host: with Open
/// MPI 4.1, children of a spawn that overlaps another spawn or the end of another spawned job
/// (every rank of a job creating and closing pools at once) often hang in MPI_Init. A lock file, not MPI, because the spawning ranks are not in any collective.
/// Waits a bounded time: a holder stuck in a hung spawn must not block everyone else.
class SpawnLock {
 public:
  SpawnLock() {
    const std::string path = "/tmp/mr-spawn-" + std::to_string(getuid()) + ".lock";
    fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) return;
    const auto deadline = Clock::now() + std::chrono::seconds(3);
    while (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (Clock::now() > deadline) {
        close(fd_);
        fd_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  ~SpawnLock() {
    if (fd_ >= 0) close(fd_);  // releases the lock
  }
  SpawnLock(const SpawnLock&) = delete;
  SpawnLock& operator=(const SpawnLock&) = delete;

 private:
  int fd_ = -1;
};

/// The progress thread spins this long after any activity before it sleeps on its doorbell:
/// enough to catch a worker's answer to an apply (about 10 µs) without a futex wake-up, short
/// enough that submissions or results arriving milliseconds apart (the pool engine's map
/// tasks) do not keep it spinning on a core the workers need (a 2 ms window cost the engine
/// 0.15 s of CPU per 200 MB on 2 cores).
constexpr auto kProgressSpinWindow = std::chrono::microseconds(100);

/// An idle progress thread wakes this often to check worker liveness.
constexpr auto kIdleNap = std::chrono::milliseconds(200);

/// MR_POOL_TRANSPORT=mpi turns the shared-memory channels off (tests of the MPI path,
/// or a workaround should /dev/shm misbehave).
bool shared_memory_enabled() {
  const char* transport = std::getenv("MR_POOL_TRANSPORT");
  return transport == nullptr || std::string_view(transport) != "mpi";
}

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
  std::deque<Sent> in_flight;        // answered in this order
  std::deque<std::uint32_t> batches;  // tasks left per batch sent
};

}  // namespace

struct PoolCore::Impl : std::enable_shared_from_this<PoolCore::Impl> {
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

  void post_callbacks(Callbacks callbacks) {
    if (callbacks.empty()) return;
    {
      std::lock_guard lock(callback_mutex);
      callback_queue.push_back(std::move(callbacks));
    }
    callback_wake.notify_one();
  }

  void callback_loop() {
    for (;;) {
      Callbacks batch;
      {
        std::unique_lock lock(callback_mutex);
        callback_wake.wait(lock, [&] { return callbacks_stop || !callback_queue.empty(); });
        if (callback_queue.empty()) return;
        batch = std::move(callback_queue.front());
        callback_queue.pop_front();
      }
      run_callbacks(batch);
    }
  }

  // ---------------------------------------------------------------- start-up
  void spawn() {
    MR_MPI_CALL(MPI_Comm_dup, MPI_COMM_SELF, &self);
    MR_MPI_CALL(MPI_Comm_set_errhandler, self, MPI_ERRORS_RETURN);
    const std::string command = self_executable();
    std::vector<int> codes(static_cast<std::size_t>(size), MPI_SUCCESS);
    // Open MPI forwards the spawner's stdin to the first worker. The info key meant to stop
    // that (ompi_stdin_target=none) crashes Open MPI 4.1's orted in pmix_server_spawn_fn
    // (it reads the integer it was given as a string), so a program that reads stdin must
    // do so before it creates a pool (README, "Known problems").
    const SpawnLock spawn_lock;
    const int rc = MPI_Comm_spawn(command.c_str(), MPI_ARGV_NULL, size, MPI_INFO_NULL, 0, self, &inter,
                                  codes.data());
    if (rc != MPI_SUCCESS || std::any_of(codes.begin(), codes.end(), [](int c) { return c != MPI_SUCCESS; })) {
      const int code = rc != MPI_SUCCESS ? rc : *std::find_if(codes.begin(), codes.end(), [](int c) {
        return c != MPI_SUCCESS;
      });
      char text[MPI_MAX_ERROR_STRING] = {};
      int length = 0;
      MPI_Error_string(code, text, &length);
      throw BrokenPool("mr: could not start " + std::to_string(size) + " worker processes (MPI_Comm_spawn: " +
                       std::string(text, static_cast<std::size_t>(length)) +
                       "). If there are not enough slots, allow oversubscription "
                       "(export OMPI_MCA_rmaps_base_oversubscribe=1, or mpirun --oversubscribe), "
                       "give mpirun a larger host/slot list, or ask for fewer processes");
    }
    MR_MPI_CALL(MPI_Comm_set_errhandler, inter, MPI_ERRORS_RETURN);
    transport = std::make_unique<Transport>(inter, size);
    workers.resize(static_cast<std::size_t>(size));
    const std::string host = this_host();
    PoolConfig config{static_cast<std::int64_t>(getpid()), host, segment ? segment->name() : std::string(),
                      options.heartbeat_interval.count()};
    const Bytes config_bytes = encode_config(config);
    for (int r = 0; r < size; ++r) {
      workers[static_cast<std::size_t>(r)].rank = r;
      transport->send(r, Tag::config, config_bytes);
    }
    // Every worker reports its pid (over MPI) before anything else.
    int ready = 0;
    Message message;
    Backoff backoff;
    while (ready < size) {
      {
        std::lock_guard lock(mutex);
        if (abandoned) throw BrokenPool("abandoned");
      }
      transport->progress();
      if (!transport->receive(message)) {
        backoff.pause();
        continue;
      }
      if (message.tag != Tag::hello) {  // e.g. an initializer result while others start up
        early.push_back(std::move(message));
        message = Message();
        continue;
      }
      const WorkerHello hello = decode_hello(message.data);
      Worker& worker = workers.at(static_cast<std::size_t>(message.source));
      worker.pid = static_cast<pid_t>(hello.pid);
      worker.local = hello.host == host && options.watch_pids;
      worker.ready = true;
      worker.last_heard = Clock::now();
      if (hello.shared_memory) {
        if (!segment) throw WireError("mr: a pool worker claims a shared-memory channel the pool does not have");
        transport->attach(worker.rank, segment->parent_endpoint(worker.rank));
      }
      if (!options.initializer.empty()) send_initializer(worker);
      ++ready;
    }
    if (segment) segment->unlink();  // every worker has attached or chosen MPI
    std::lock_guard lock(mutex);
    for (const Worker& worker : workers) pids.push_back(worker.local ? worker.pid : 0);
  }

  /// The initializer travels as a batch of its own; handle() knows it by its null completion.
  void send_initializer(Worker& worker) {
    Job initializer{TaskKind::initializer, options.initializer, options.initargs, nullptr};
    send_batch(worker, std::span(&initializer, 1));
  }

  /// The worker with the fewest batches that can take another one; ties go to the lowest
  /// rank, so a trickle of tasks keeps going to one hot (spinning) worker.
  Worker* least_loaded() {
    Worker* best = nullptr;
    for (Worker& worker : workers)
      if (worker.batches.size() < options.batches_per_worker &&
          (best == nullptr || worker.batches.size() < best->batches.size()))
        best = &worker;
    return best;
  }

  // ---------------------------------------------------------------- dispatch
  /// Sends each pinned job whose worker can take a batch (pinned jobs are rare: one batch
  /// each). A pinned job never waits behind the shared queue, only behind its worker's load.
  bool dispatch_pinned() {
    bool any = false;
    for (auto job = pinned.begin(); job != pinned.end();) {
      Worker& worker = workers.at(static_cast<std::size_t>(job->worker));
      if (worker.batches.size() >= options.batches_per_worker) {
        ++job;
        continue;
      }
      if (job->completion->start()) {
        send_batch(worker, std::span(&*job, 1));
        any = true;
      }
      job = pinned.erase(job);
    }
    return any;
  }

  void send_batch(Worker& worker, std::span<Job> jobs) {
    Bytes batch;
    begin_batch(batch);
    for (Job& job : jobs) {
      const std::uint64_t id = next_id++;
      append_task(batch, {id, job.kind, job.name, job.payload});
      worker.in_flight.push_back({id, std::move(job.completion)});
    }
    finish_batch(batch, static_cast<std::uint32_t>(jobs.size()));
    transport->send(worker.rank, Tag::tasks, std::move(batch));
    worker.batches.push_back(static_cast<std::uint32_t>(jobs.size()));
    in_flight_total += jobs.size();
  }

  bool dispatch() {
    bool any = !pinned.empty() && dispatch_pinned();
    if (pending.empty()) return any;
    const std::size_t alive = workers.size();
    while (!pending.empty()) {
      Worker* next = least_loaded();
      if (next == nullptr) break;
      Worker& worker = *next;
      // Share what is queued: small batches when little is queued (latency, balance), large
      // ones under a flood (one message per many tasks).
      const std::size_t want =
          std::clamp<std::size_t>(pending.size() / (2 * alive), 1, options.max_batch_tasks);
      taken.clear();
      std::size_t bytes = 0;
      while (taken.size() < want && !pending.empty() && (taken.empty() || bytes < options.max_batch_bytes)) {
        Job job = std::move(pending.front());
        pending.pop_front();
        if (!job.completion->start()) continue;  // cancelled while queued
        bytes += job.name.size() + job.payload.size();
        taken.push_back(std::move(job));
      }
      if (taken.empty()) continue;  // all cancelled
      send_batch(worker, taken);
      any = true;
    }
    return any;
  }

  // ---------------------------------------------------------------- results
  void handle(Message& message) {
    Worker& worker = workers.at(static_cast<std::size_t>(message.source));
    worker.last_heard = Clock::now();
    if (message.tag == Tag::heartbeat) return;
    if (message.tag != Tag::results)
      throw WireError("mr: a pool worker sent unexpected tag " + std::to_string(static_cast<int>(message.tag)));
    for (const ResultMessage& result : decode_results(message.data)) {
      if (worker.in_flight.empty() || worker.in_flight.front().id != result.id)
        throw WireError("mr: pool worker " + std::to_string(message.source) + " answered task " +
                        std::to_string(result.id) + " out of order (expected " +
                        (worker.in_flight.empty() ? std::string("none") : std::to_string(worker.in_flight.front().id)) +
                        ")");
      Worker::Sent sent = std::move(worker.in_flight.front());
      worker.in_flight.pop_front();
      --in_flight_total;
      if (--worker.batches.front() == 0) worker.batches.pop_front();
      if (!sent.completion) {  // the initializer
        if (result.status == ResultStatus::error) {
          const RemoteErrorInfo info = decode_error(result.payload);
          throw BrokenPool("mr: the pool initializer '" + options.initializer + "' failed in a worker: " +
                           info.type_name + ": " + info.message);
        }
        continue;
      }
      if (result.status == ResultStatus::ok) {
        post_callbacks(sent.completion->succeed(result.payload));
      } else {
        RemoteErrorInfo info = decode_error(result.payload);
        post_callbacks(sent.completion->fail(
            std::make_exception_ptr(RemoteError(std::move(info.type_name), std::move(info.message)))));
      }
    }
  }

  void check_liveness() {
    const auto silence_limit = options.heartbeat_interval * options.missed_heartbeats;
    const auto now = Clock::now();
    for (const Worker& worker : workers) {
      if (worker.local) {
        if (process_alive(worker.pid)) continue;
        throw BrokenPool("mr: worker process " + std::to_string(worker.pid) +
                         " terminated abruptly (crash, abort, signal or exit); the pool is broken and its "
                         "unfinished tasks failed: create a new pool");
      }
      if (now - worker.last_heard < silence_limit) continue;
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%.1f", silence_limit.count());
      throw BrokenPool("mr: pool worker " + std::to_string(worker.rank) + " sent no heartbeat for " + seconds +
                       " s (dead, or its host is unreachable); the pool is broken and its unfinished tasks "
                       "failed: create a new pool");
    }
  }

  // ---------------------------------------------------------------- failure and teardown
  void fail_everything(const std::exception_ptr& error) {
    for (Worker& worker : workers) {
      for (auto& sent : worker.in_flight)
        if (sent.completion) post_callbacks(sent.completion->fail(error));
      worker.in_flight.clear();
      worker.batches.clear();
    }
    in_flight_total = 0;
    std::deque<Job> queued;
    {
      std::lock_guard lock(mutex);
      queued.swap(incoming);
    }
    for (auto* jobs : {&pending, &pinned, &queued}) {
      for (Job& job : *jobs) post_callbacks(job.completion->fail(error));
      jobs->clear();
    }
  }

  /// Drops the workers without any collective call (they may be dead or stuck).
  void kill_workers() {
    const SpawnLock teardown_lock;
    for (const Worker& worker : workers)
      if (worker.local && worker.pid > 0) kill(worker.pid, SIGKILL);
    // Let the launcher reap them before anything else is spawned: a spawn that races with the
    // launcher's clean-up of a finished job can hang.
    wait_for_exit();
    if (transport) transport->abandon();
    // The intercommunicator is deliberately leaked: MPI_Comm_disconnect would wait for the
    // dead, and after MPI_Comm_free Open MPI reuses its context id for the next pool, which
    // then receives messages the killed workers had in flight (ob1 queues fragments for
    // not-yet-existing communicators). One communicator per broken pool is the price.
    inter = MPI_COMM_NULL;
  }

  /// Waits (bounded) until the launcher has reaped the local workers.
  void wait_for_exit() {
    const auto deadline = Clock::now() + std::chrono::seconds(2);
    for (const Worker& worker : workers)
      while (worker.local && worker.pid > 0 && process_alive(worker.pid) && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  void stop_workers() {
    const SpawnLock teardown_lock;  // no spawn on this host while these workers wind down
    for (const Worker& worker : workers) transport->send(worker.rank, Tag::stop, Bytes());
    // Every worker answers stop with bye once it has sent its last message (heartbeats
    // included), so nothing is left unreceived when the intercommunicator is disconnected.
    Backoff backoff;
    auto last_check = Clock::now();
    Message message;
    int byes = 0;
    while (byes < size || !transport->empty()) {
      bool activity = transport->progress();
      while (transport->receive(message)) {
        activity = true;
        if (message.tag == Tag::bye) ++byes;
      }
      if (activity) {
        backoff.reset();
        continue;
      }
      if (Clock::now() - last_check > options.liveness_interval) {
        last_check = Clock::now();
        check_liveness();
      }
      backoff.pause();
    }
    MR_MPI_CALL(MPI_Comm_disconnect, &inter);
    wait_for_exit();
  }

  /// The progress thread is done: release the callback thread once it has drained its queue.
  void finish() {
    if (self != MPI_COMM_NULL) MPI_Comm_free(&self);
    {
      std::lock_guard lock(callback_mutex);
      callbacks_stop = true;
    }
    callback_wake.notify_one();
  }

  void mark_broken(const std::string& reason) {
    std::lock_guard lock(mutex);
    if (broken_reason.empty()) broken_reason = reason;
    closed = true;
    broken = true;
  }

  // ---------------------------------------------------------------- the progress thread
  void run(std::promise<void>& started) {
    try {
      spawn();
    } catch (const std::exception&) {
      if (segment) segment->unlink();  // before the exception can end the program
      bool gave_up = false;
      {
        std::lock_guard lock(mutex);
        gave_up = abandoned;
      }
      if (inter != MPI_COMM_NULL) kill_workers();
      if (!gave_up) started.set_exception(std::current_exception());
      finish();
      return;
    }
    started.set_value();
    try {
      loop();
      stop_workers();
    } catch (const std::exception& e) {
      const bool terminated = [&] {
        std::lock_guard lock(mutex);
        return terminate_requested;
      }();
      const std::string reason = terminated ? "mr: the pool was terminated before the task finished" : e.what();
      if (terminated) {
        std::lock_guard lock(mutex);
        closed = true;
      } else {
        mark_broken(reason);
        std::fprintf(stderr, "%s\n", reason.c_str());
      }
      fail_everything(std::make_exception_ptr(BrokenPool(reason)));
      kill_workers();
    }
    finish();
  }

  void loop() {
    Backoff backoff(BackoffConfig{.spin_window = kProgressSpinWindow});
    auto last_check = Clock::now();
    Message message;
    for (; !early.empty(); early.pop_front()) handle(early.front());
    for (;;) {
      // Taken before looking for work: a ring after this point cuts the next sleep short.
      const std::uint32_t seen = bell->snapshot();
      bool activity = false;
      bool drained = false;
      {
        std::unique_lock lock(mutex);
        if (terminate_requested) throw BrokenPool("terminated");
        if (!incoming.empty()) {
          for (auto& job : incoming) (job.worker < 0 ? pending : pinned).push_back(std::move(job));
          incoming.clear();
          activity = true;
        }
        if (cancel_pending) {
          cancel_pending = false;
          lock.unlock();
          for (auto* jobs : {&pending, &pinned}) {
            for (Job& job : *jobs) post_callbacks(job.completion->cancel());
            jobs->clear();
          }
          lock.lock();
        }
        drained = closed && pending.empty() && pinned.empty() && in_flight_total == 0;
      }
      if (drained && transport->empty()) return;

      while (transport->receive(message)) {
        handle(message);
        activity = true;
      }
      if (dispatch()) activity = true;
      if (transport->progress()) activity = true;

      const auto now = Clock::now();
      if (now - last_check > options.liveness_interval) {
        last_check = now;
        check_liveness();
      }
      if (activity) {
        backoff.reset();
        continue;
      }
      const bool idle = in_flight_total == 0 && pending.empty() && pinned.empty() && transport->empty();
      // Shared-memory peers and submitters ring the bell, so a long nap is only cut short by
      // liveness checks; MPI peers ring nothing, so those are polled with growing naps.
      backoff.pause([&](std::chrono::microseconds nap) {
        if (idle) nap = kIdleNap;
        else if (!transport->uses_mpi()) nap = options.liveness_interval;
        bell->wait(seen, nap);
      });
    }
  }

  // ---------------------------------------------------------------- submitter side
  void enqueue(std::vector<Job>& jobs) {
    for (const Job& job : jobs)
      if (job.worker < -1 || job.worker >= size)
        throw UsageError("mr: worker " + std::to_string(job.worker) + " does not exist: the pool has " +
                         std::to_string(size) + " workers, numbered from 0");
    {
      std::lock_guard lock(mutex);
      if (broken) throw BrokenPool(broken_reason);
      if (closed) throw StateError("mr: the pool is closed (close/shutdown/terminate was called): submit to a new pool");
      for (Job& job : jobs) incoming.push_back(std::move(job));
    }
    bell->ring();
  }

  void join_threads() {
    std::call_once(join_once, [&] {
      if (progress_thread.joinable()) progress_thread.join();
      if (callback_thread.joinable()) callback_thread.join();
    });
  }
};

PoolCore::PoolCore(PoolCoreOptions options) {
  if (is_spawned_worker())
    throw UsageError("mr: cannot create a process pool inside a pool worker (workers never spawn workers); "
                     "run nested work in the calling task instead");
  if (options.processes < 0)
    throw UsageError("mr: the number of pool processes must be positive (or 0 for the default), got " +
                     std::to_string(options.processes));
  if (!(options.heartbeat_interval.count() > 0) || options.missed_heartbeats < 1)
    throw UsageError("mr: the pool's heartbeat_interval must be positive and missed_heartbeats at least 1");
  if (!options.initializer.empty() && Registry::instance().find(options.initializer) == nullptr)
    throw UsageError("mr: pool initializer '" + options.initializer + "' is not a registered task: add MR_TASK");
  if (options.processes == 0) options.processes = default_pool_size();
  using Seconds = std::chrono::duration<double>;
  const auto deadline = std::chrono::steady_clock::now() + options.start_timeout;
  for (;;) {
    impl_ = std::make_shared<Impl>(options);
    Impl& impl = *impl_;
    impl.size = options.processes;
    if (options.shm_ring_bytes > 0 && shared_memory_enabled()) {
      impl.segment = ShmSegment::create(impl.size, options.shm_ring_bytes);
      if (impl.segment) impl.bell = &impl.segment->parent_bell();
    }
    auto started = std::make_shared<std::promise<void>>();
    auto ready = started->get_future();
    // Both threads keep Impl alive: if start-up hangs we give up on it and detach them.
    impl.callback_thread = std::thread([keep = impl_] { keep->callback_loop(); });
    impl.progress_thread = std::thread([keep = impl_, started] { keep->run(*started); });
    const Seconds left = deadline - std::chrono::steady_clock::now();
    const Seconds attempt = std::min<Seconds>(left, options.spawn_attempt_timeout);
    if (ready.wait_for(attempt) != std::future_status::timeout) {
      try {
        ready.get();
      } catch (...) {
        impl.join_threads();
        throw;
      }
      return;
    }
    {
      std::lock_guard lock(impl.mutex);
      impl.abandoned = true;
    }
    if (impl.segment) impl.segment->unlink();  // the stuck thread may never get to it
    impl.progress_thread.detach();
    impl.callback_thread.detach();
    impl_.reset();
    if (std::chrono::steady_clock::now() >= deadline) {
      throw BrokenPool("mr: " + std::to_string(options.processes) +
                       " pool workers did not start within the start timeout; check that the program "
                       "can be spawned (MPI_Comm_spawn), that slots are available (oversubscription), "
                       "or raise the timeout");
    }
    // Open MPI 4.1 occasionally hangs a spawn that follows the clean-up of a crashed job; a
    // second spawn alongside the stuck one goes through.
    std::fprintf(stderr, "mr: starting %d pool workers took over %.0f s; trying again\n", options.processes,
                 attempt.count());
  }
}

PoolCore::~PoolCore() {
  if (!impl_) return;
  try {
    shutdown(true, false);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mr: error while shutting down a pool: %s\n", e.what());
  }
}

void PoolCore::submit(TaskKind kind, std::string name, Bytes payload, std::shared_ptr<Completion> completion,
                      int worker) {
  std::vector<Job> jobs;
  jobs.push_back({kind, std::move(name), std::move(payload), std::move(completion), worker});
  impl_->enqueue(jobs);
}

void PoolCore::submit_many(std::vector<Job> jobs) { impl_->enqueue(jobs); }

std::shared_ptr<SharedState<Bytes>> PoolCore::submit_raw(std::string name, Bytes payload) {
  auto [state, completion] = make_task_state<Bytes>([](std::string_view bytes) { return Bytes(bytes); });
  submit(TaskKind::call, std::move(name), std::move(payload), std::move(completion));
  return state;
}

void PoolCore::shutdown(bool wait, bool cancel_futures) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->closed = true;
    if (cancel_futures) impl_->cancel_pending = true;
  }
  impl_->bell->ring();
  if (wait) join();
}

void PoolCore::terminate() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->closed = true;
    impl_->terminate_requested = true;
  }
  impl_->bell->ring();
  impl_->join_threads();
}

void PoolCore::join() {
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->closed) throw StateError("mr: join() needs close(), shutdown() or terminate() first");
  }
  if (std::this_thread::get_id() == impl_->callback_thread.get_id())
    throw UsageError("mr: join()/shutdown(wait) cannot be called from a result callback");
  impl_->join_threads();
}

bool PoolCore::broken() const { return impl_->broken.load(); }

std::string PoolCore::broken_reason() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->broken_reason;
}

bool PoolCore::closed() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->closed;
}

int PoolCore::processes() const { return impl_->size; }

std::vector<int> PoolCore::worker_pids() const {
  std::lock_guard lock(impl_->mutex);
  return {impl_->pids.begin(), impl_->pids.end()};
}

}  // namespace mr::detail
