// The serving loop of a spawned pool worker (called by mr::Runtime in the child).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/backoff.hpp"
#include "common/finalize.hpp"
#include "mr/detail/mpi_check.hpp"
#include "pool/pool_transport.hpp"
#include "mr/detail/registry.hpp"
#include "pool/shm_channel.hpp"
#include "pool/worker.hpp"
#include "mr/error.hpp"

namespace mr::detail {

std::string this_host();  // pool_spawn.cpp

namespace {

using Clock = std::chrono::steady_clock;

/// A result batch is sent when the task batch ends, or earlier once its oldest result has
/// waited this long, so a slow task late in a batch does not hold back finished ones.
constexpr auto kResultFlushDelay = std::chrono::microseconds(500);
/// How often an idle worker checks that its parent still lives (no orphans if it was killed).
constexpr auto kParentCheckInterval = std::chrono::milliseconds(200);
/// Longest sleep of an idle worker on its channel's doorbell (the parent rings it to wake it).
constexpr auto kIdleWait = std::chrono::milliseconds(200);
/// The tag of MPI_Comm_create_group for the workers' own communicator.
constexpr int kWorkersCommTag = 0x6d77;

class WorkerLoop;
/// The loop this process is serving a pool with (one at a time), for pool_workers_comm().
WorkerLoop* serving_loop = nullptr;

void run_task(const TaskMessage& task, Bytes& out, ResultStatus& status) {
  const std::size_t start = out.size();
  try {
    Invoker invoker = Registry::instance().find(task.name);
    if (invoker == nullptr) {
      throw UsageError("task '" + std::string(task.name) +
                       "' is not registered in the worker executable (is its MR_TASK in a file "
                       "linked into this program?)");
    }
    if (task.kind == TaskKind::chunk) {
      const auto items = decode_chunk(task.payload);
      Encoder encoder(out);
      encoder.u64(items.size());
      for (std::string_view item : items) {
        // Length-prefix each item's result in place: reserve, encode, patch.
        const std::size_t at = out.size();
        encoder.u64(0);
        invoker(item, out);
        const std::uint64_t length = out.size() - at - sizeof(std::uint64_t);
        std::memcpy(out.data() + at, &length, sizeof(length));
      }
    } else {
      invoker(task.payload, out);
    }
    status = ResultStatus::ok;
  } catch (...) {
    out.resize(start);
    out += encode_error(describe_current_exception());
    status = ResultStatus::error;
  }
}

class WorkerLoop {
 public:
  explicit WorkerLoop(MPI_Comm parent) : parent_(parent), transport_(parent, 1) { serving_loop = this; }

  /// Every worker of the pool, ranked as the pool numbers them; made the first time a task
  /// asks (every worker asks at once: a collective task runs on each of them).
  MPI_Comm workers() {
    if (workers_ == MPI_COMM_NULL) {
      // An intercommunicator's local group is this side's processes: the pool's workers, all
      // in this process's MPI_COMM_WORLD (spawned together, or ranks of the running job).
      MPI_Group group = MPI_GROUP_NULL;
      MR_MPI_CALL(MPI_Comm_group, parent_, &group);
      const int rc = MPI_Comm_create_group(MPI_COMM_WORLD, group, kWorkersCommTag, &workers_);
      MPI_Group_free(&group);
      if (rc != MPI_SUCCESS) throw MpiError("MPI_Comm_create_group", rc);
    }
    return workers_;
  }

  int run() {
    Backoff backoff;
    Message message;
    while (!stopping_) {
      // Taken before looking for work: a ring after this point cuts the next sleep short.
      const std::uint32_t seen = bell_ != nullptr ? bell_->snapshot() : 0;
      bool activity = false;
      if (transport_.receive(message)) {
        handle(message);
        activity = true;
      }
      if (transport_.progress()) activity = true;
      if (activity) {
        backoff.reset();
        continue;
      }
      backoff.pause([&](std::chrono::microseconds nap) {
        if (bell_ != nullptr && !transport_.uses_mpi()) {
          bell_->wait(seen, kIdleWait);
        } else {
          std::this_thread::sleep_for(nap);
        }
      });
    }
    stop_heartbeat();
    // A disconnect would wait for the dead member; the communicator is left to MPI_Finalize.
    if (abandoned_) return EXIT_SUCCESS;
    transport_.send(0, Tag::bye, Bytes());
    while (!transport_.empty()) {
      transport_.progress();
      sched_yield();
    }
    MR_MPI_CALL(MPI_Comm_disconnect, &parent_);
    return EXIT_SUCCESS;
  }

  ~WorkerLoop() {
    if (serving_loop == this) serving_loop = nullptr;
    if (workers_ != MPI_COMM_NULL) MPI_Comm_free(&workers_);
    stop_heartbeat();
    parent_watch_stop_->store(true);  // a rank of a job serves on, or the next pool
  }

 private:
  void handle(const Message& message) {
    switch (message.tag) {
      case Tag::config:
        config_ = decode_config(message.data);
        watch_parent();
        attach_and_greet();
        break;
      case Tag::tasks:
        run_batch(message.data);
        break;
      case Tag::stop:
        stopping_ = true;
        break;
      case Tag::abandon:
        stopping_ = true;
        abandoned_ = true;
        note_dead_rank_in_job();
        break;
      default:
        throw WireError("mr worker: unexpected message tag " + std::to_string(static_cast<int>(message.tag)));
    }
  }

  void run_batch(std::string_view data) {
    const auto tasks = decode_tasks(data);
    Bytes results;
    begin_batch(results);
    std::uint32_t count = 0;
    Clock::time_point oldest{};
    Bytes value;
    for (const TaskMessage& task : tasks) {
      value.clear();
      ResultStatus status = ResultStatus::ok;
      run_task(task, value, status);
      append_result(results, {task.id, status, value});
      if (count++ == 0) oldest = Clock::now();
      if (Clock::now() - oldest > kResultFlushDelay) {
        flush(results, count);
      }
      transport_.progress();
    }
    flush(results, count);
  }

  /// Says hello over MPI, then (same host, segment still there) switches to the pool's
  /// shared-memory channel for everything else.
  void attach_and_greet() {
    int rank = 0;
    MR_MPI_CALL(MPI_Comm_rank, parent_, &rank);
    WorkerHello hello{static_cast<std::int64_t>(getpid()), this_host(), false};
    std::unique_ptr<ShmSegment> segment;
    if (!config_.shm_name.empty() && config_.parent_host == hello.host) {
      segment = ShmSegment::open(config_.shm_name);
      hello.shared_memory = segment != nullptr && rank < segment->workers();
    }
    transport_.send(0, Tag::hello, encode_hello(hello));
    if (hello.shared_memory) {
      segment_ = std::move(segment);
      transport_.attach(0, segment_->worker_endpoint(rank));
      bell_ = &segment_->worker_bell(rank);
    }
    // A worker on the parent's host is watched through its pid, and a heartbeat could only
    // travel over MPI, which an attached worker no longer reads or writes.
    if (config_.heartbeat_seconds > 0 && !hello.shared_memory) start_heartbeat();
  }

  /// A worker on another host cannot be watched through its pid: it says it is alive every
  /// heartbeat_seconds over MPI, from a thread so that a long task does not silence it (the runtime
  /// asks for MPI_THREAD_MULTIPLE; without it there is no heartbeat and the parent relies on
  /// the launcher to notice a dead host).
  void start_heartbeat() {
    int level = MPI_THREAD_SINGLE;
    MR_MPI_CALL(MPI_Query_thread, &level);
    if (level < MPI_THREAD_MULTIPLE) return;
    const auto period = std::chrono::duration<double>(config_.heartbeat_seconds);
    heartbeat_ = std::thread([this, period] {
      std::unique_lock lock(heartbeat_mutex_);
      while (!heartbeat_cv_.wait_for(lock, period, [this] { return heartbeat_stop_; })) {
        lock.unlock();
        MPI_Send(nullptr, 0, MPI_BYTE, 0, static_cast<int>(Tag::heartbeat), parent_);
        lock.lock();
      }
    });
  }

  void stop_heartbeat() {
    if (!heartbeat_.joinable()) return;
    {
      std::lock_guard lock(heartbeat_mutex_);
      heartbeat_stop_ = true;
    }
    heartbeat_cv_.notify_one();
    heartbeat_.join();
  }

  void flush(Bytes& results, std::uint32_t& count) {
    if (count == 0) return;
    finish_batch(results, count);
    transport_.send(0, Tag::results, std::move(results));
    begin_batch(results);
    count = 0;
  }

  /// A thread, so that a worker busy in a long task also notices: if the parent dies (killed,
  /// crashed) the worker ends itself instead of living on as an orphan. MPI cannot be shut
  /// down cleanly at that point, hence _Exit.
  void watch_parent() const {
    if (config_.parent_pid <= 0 || config_.parent_host != this_host()) return;
    const auto parent = static_cast<pid_t>(config_.parent_pid);
    std::thread([parent, stop = parent_watch_stop_] {
      for (;;) {
        std::this_thread::sleep_for(kParentCheckInterval);
        if (stop->load()) return;
        if (kill(parent, 0) != 0 && errno != EPERM) std::_Exit(EXIT_FAILURE);
      }
    }).detach();
  }

  MPI_Comm parent_;
  MPI_Comm workers_ = MPI_COMM_NULL;
  Transport transport_;
  PoolConfig config_;
  std::unique_ptr<ShmSegment> segment_;
  Doorbell* bell_ = nullptr;  ///< this worker's doorbell in the segment, once attached
  bool stopping_ = false;
  bool abandoned_ = false;  ///< the pool broke: its intercommunicator has a dead member
  std::thread heartbeat_;
  std::mutex heartbeat_mutex_;
  std::condition_variable heartbeat_cv_;
  bool heartbeat_stop_ = false;
  std::shared_ptr<std::atomic<bool>> parent_watch_stop_ = std::make_shared<std::atomic<bool>>(false);
};

/// Open MPI 4.1 now and then leaves a freshly spawned process stuck inside MPI_Init
/// (PMIx_Init never returns). The parent gives up on that spawn and retries, but the stuck
/// child would live on and keep mpirun from exiting. So every spawned copy of the program
/// starts, before main() (the hang is inside mr::Runtime's MPI_Init), a watchdog that ends it
/// if MPI is not initialised in time. Exit code 0: a process that never joined MPI exiting
/// normally does not make the launcher abort the job.
constexpr auto kInitWatchdog = std::chrono::seconds(20);

bool start_init_watchdog() {
  if (std::getenv("OMPI_PARENT_PORT") == nullptr) return false;  // not a spawned child
  std::thread([] {
    std::this_thread::sleep_for(kInitWatchdog);
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) std::_Exit(EXIT_SUCCESS);
  }).detach();
  return true;
}

[[maybe_unused]] const bool init_watchdog_started = start_init_watchdog();

}  // namespace

MPI_Comm pool_workers_comm() {
  if (serving_loop == nullptr)
    throw UsageError("mr: the pool's workers' communicator exists only in a task running on a pool worker");
  return serving_loop->workers();
}

int serve_spawned_worker(MPI_Comm parent) {
  MR_MPI_CALL(MPI_Comm_set_errhandler, parent, MPI_ERRORS_RETURN);
  try {
    return WorkerLoop(parent).run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mr worker %d: %s\n", static_cast<int>(getpid()), e.what());
    return EXIT_FAILURE;
  }
}

}  // namespace mr::detail
