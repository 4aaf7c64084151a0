// Spawn and lifetime of a pool's workers: MPI_Comm_spawn under the host's spawn lock, the
// start-up handshake, the constructor's watchdog that abandons and retries a stuck spawn,
// and killing the workers when the pool breaks or is terminated.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/backoff.hpp"
#include "common/finalize.hpp"
#include "mr/detail/mpi_check.hpp"
#include "mr/detail/registry.hpp"
#include "mr/runtime.hpp"
#include "pool/pool_impl.hpp"

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

SpawnLock::SpawnLock() {
  using Clock = std::chrono::steady_clock;
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

SpawnLock::~SpawnLock() {
  if (fd_ >= 0) close(fd_);  // releases the lock
}

namespace {

std::string self_executable() {
  char path[PATH_MAX + 1] = {};
  const ssize_t n = readlink("/proc/self/exe", path, PATH_MAX);
  if (n <= 0) throw BrokenPool("mr: cannot find this program's executable (/proc/self/exe) to spawn workers");
  return std::string(path, static_cast<std::size_t>(n));
}

/// MR_POOL_TRANSPORT=mpi turns the shared-memory channels off (tests of the MPI path,
/// or a workaround should /dev/shm misbehave).
bool shared_memory_enabled() {
  const char* transport = std::getenv("MR_POOL_TRANSPORT");
  return transport == nullptr || std::string_view(transport) != "mpi";
}

/// What to do when workers cannot be had: appended to every such error.
constexpr const char* kSpawnAdvice =
    ". To get them: allow oversubscription (mpirun --oversubscribe, or export "
    "OMPI_MCA_rmaps_base_oversubscribe=1), place workers on more hosts (PoolOptions::hosts or "
    "PoolOptions::hostfile, or a larger mpirun host list / allocation), take the workers from the "
    "job's own ranks instead of spawning (PoolLaunch::world, or MR_POOL_LAUNCH=world, with mpirun -np "
    "<workers+1>), or ask for fewer processes";

bool oversubscription_allowed() {
  const char* flag = std::getenv("OMPI_MCA_rmaps_base_oversubscribe");
  if (flag != nullptr && (std::string_view(flag) == "1" || std::string_view(flag) == "true")) return true;
  const char* policy = std::getenv("OMPI_MCA_rmaps_base_mapping_policy");
  return policy != nullptr && std::string_view(policy).find("OVERSUBSCRIBE") != std::string_view::npos;
}

/// Under mpirun, a spawn beyond the allocation's free slots is refused, and Open MPI 4.1's
/// mpirun then never exits after the program does (it waits for the refused job). So a
/// request that cannot fit is refused here, before MPI_Comm_spawn, with the same advice.
void check_free_slots(int size) {
  if (std::getenv("OMPI_COMM_WORLD_SIZE") == nullptr || oversubscription_allowed()) return;
  int* universe = nullptr;
  int flag = 0;
  int world = 1;
  MR_MPI_CALL(MPI_Comm_get_attr, MPI_COMM_WORLD, MPI_UNIVERSE_SIZE, &universe, &flag);
  MR_MPI_CALL(MPI_Comm_size, MPI_COMM_WORLD, &world);
  if (!flag || universe == nullptr || *universe - world >= size) return;
  throw BrokenPool("mr: cannot start " + std::to_string(size) + " pool workers: the job's allocation has " +
                   std::to_string(std::max(0, *universe - world)) + " free slots (MPI_UNIVERSE_SIZE " +
                   std::to_string(*universe) + " minus " + std::to_string(world) +
                   " ranks) and oversubscription is off" + kSpawnAdvice);
}

}  // namespace

void PoolCore::Impl::spawn_processes() {
  MR_MPI_CALL(MPI_Comm_dup, MPI_COMM_SELF, &self);
  MR_MPI_CALL(MPI_Comm_set_errhandler, self, MPI_ERRORS_RETURN);
  const std::string command = self_executable();
  std::vector<int> codes(static_cast<std::size_t>(size), MPI_SUCCESS);
  // Explicit hosts bring their own slots; otherwise the launcher maps the workers onto the
  // free slots of its allocation (every node of it, filled in order).
  if (options.hosts.empty() && options.hostfile.empty()) check_free_slots(size);
  MPI_Info info = MPI_INFO_NULL;
  if (!options.hosts.empty() || !options.hostfile.empty()) {
    MR_MPI_CALL(MPI_Info_create, &info);
    std::string hosts;
    for (const std::string& host : options.hosts) hosts += (hosts.empty() ? "" : ",") + host;
    // A launcher's allocation already lists its nodes ("host" picks among them); a process
    // started without one knows only its own node, so the hosts are added ("add-host").
    const bool launched = std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr;
    if (!hosts.empty()) MR_MPI_CALL(MPI_Info_set, info, launched ? "host" : "add-host", hosts.c_str());
    if (!options.hostfile.empty()) MR_MPI_CALL(MPI_Info_set, info, "hostfile", options.hostfile.c_str());
  }
  // Open MPI forwards the spawner's stdin to the first worker. The info key meant to stop
  // that (ompi_stdin_target=none) crashes Open MPI 4.1's orted in pmix_server_spawn_fn
  // (it reads the integer it was given as a string), so a program that reads stdin must
  // do so before it creates a pool (README, "Known problems").
  // Workers must use the parent's PML (ob1 cannot talk to cm or ucx). Under mpirun they get
  // mpirun's environment, not ours, so the choice mr::Runtime made before MPI_Init (or the
  // user's) travels with the spawn: Open MPI's ompi_param info key sets it in the workers.
  if (const char* pml = std::getenv("OMPI_MCA_pml")) {
    if (info == MPI_INFO_NULL) MR_MPI_CALL(MPI_Info_create, &info);
    MR_MPI_CALL(MPI_Info_set, info, "ompi_param", ("OMPI_MCA_pml=" + std::string(pml)).c_str());
  }
  const SpawnLock spawn_lock;
  const int rc = MPI_Comm_spawn(command.c_str(), MPI_ARGV_NULL, size, info, 0, self, &inter, codes.data());
  if (info != MPI_INFO_NULL) MPI_Info_free(&info);
  if (rc != MPI_SUCCESS || std::any_of(codes.begin(), codes.end(), [](int c) { return c != MPI_SUCCESS; })) {
    const int code = rc != MPI_SUCCESS ? rc : *std::find_if(codes.begin(), codes.end(), [](int c) {
      return c != MPI_SUCCESS;
    });
    char text[MPI_MAX_ERROR_STRING] = {};
    int length = 0;
    MPI_Error_string(code, text, &length);
    throw BrokenPool("mr: could not start " + std::to_string(size) + " worker processes (MPI_Comm_spawn: " +
                     std::string(text, static_cast<std::size_t>(length)) +
                     "; not enough slots, or no spawn support under this launcher)" + kSpawnAdvice);
  }
}

void PoolCore::Impl::spawn() {
  if (spawned()) {
    spawn_processes();
  } else {
    if (options.world) announce_world_pool();
    inter = connect_pool_ranks(options.comm, options.root, [this] {
      std::lock_guard lock(mutex);
      return abandoned;
    });
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

void PoolCore::Impl::send_initializer(Worker& worker) {
  Job initializer{TaskKind::initializer, options.initializer, options.initargs, nullptr};
  send_batch(worker, std::span(&initializer, 1));
}

void PoolCore::Impl::kill_workers() {
  // Ranks of a running job belong to the launcher: a dead one ends the job (README, "Running
  // on a cluster"); the live ones are left alone.
  if (spawned()) {
    const SpawnLock teardown_lock;
    for (const Worker& worker : workers)
      if (worker.local && worker.pid > 0) kill(worker.pid, SIGKILL);
    // Let the launcher reap them before anything else is spawned: a spawn that races with the
    // launcher's clean-up of a finished job can hang.
    wait_for_exit();
  }
  if (transport) transport->abandon();
  // The intercommunicator is deliberately leaked: MPI_Comm_disconnect would wait for the
  // dead, and after MPI_Comm_free Open MPI reuses its context id for the next pool, which
  // then receives messages the killed workers had in flight (ob1 queues fragments for
  // not-yet-existing communicators). One communicator per broken pool is the price.
  inter = MPI_COMM_NULL;
}

void PoolCore::Impl::release_live_ranks() {
  // Without this the live ranks would serve a broken pool forever, and the job (kept alive by
  // --enable-recovery) would never reach MPI_Finalize on them.
  note_dead_rank_in_job();
  for (const Worker& worker : workers)
    if (!worker.local || process_alive(worker.pid)) transport->send(worker.rank, Tag::abandon, Bytes());
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (!transport->empty() && Clock::now() < deadline) {
    transport->progress();
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

void PoolCore::Impl::wait_for_exit() {
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  for (const Worker& worker : workers)
    while (worker.local && worker.pid > 0 && process_alive(worker.pid) && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void PoolCore::Impl::finish() {
  if (self != MPI_COMM_NULL) MPI_Comm_free(&self);
  if (options.world) release_world_ranks();
  {
    std::lock_guard lock(callback_mutex);
    callbacks_stop = true;
  }
  callback_wake.notify_one();
}

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
  using Seconds = std::chrono::duration<double>;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(options.start_timeout);
  if ((options.world || options.comm != MPI_COMM_NULL) && (!options.hosts.empty() || !options.hostfile.empty()))
    throw UsageError("mr: PoolOptions::hosts and hostfile place spawned workers; a pool on the job's ranks "
                     "(world mode, CommExecutor) runs where the launcher put those ranks");
  if (options.world) {
    int rank = 0;
    int world = 1;
    MR_MPI_CALL(MPI_Comm_rank, MPI_COMM_WORLD, &rank);
    MR_MPI_CALL(MPI_Comm_size, MPI_COMM_WORLD, &world);
    if (world < 2)
      throw UsageError("mr: PoolLaunch::world takes the pool's workers from ranks 1..N-1 of the job, but this "
                       "job has one rank: start it with mpirun -np <workers+1> (or srun -n), or use "
                       "PoolLaunch::spawn");
    if (rank != 0) {
      // Set in PoolOptions only: this rank ran main up to here; it serves rank 0's pools now
      // and never returns (MR_POOL_LAUNCH=world stops it in mr::Runtime instead).
      const int code = serve_world_pools();
      finalize_mpi();
      std::exit(code);
    }
    options.comm = MPI_COMM_WORLD;
    options.root = 0;
  }
  const bool spawning = options.comm == MPI_COMM_NULL;
  if (!spawning) {
    int rank = 0;
    int ranks = 1;
    MR_MPI_CALL(MPI_Comm_rank, options.comm, &rank);
    MR_MPI_CALL(MPI_Comm_size, options.comm, &ranks);
    if (ranks < 2)
      throw UsageError("mr: an executor over a communicator needs at least 2 ranks (the root and a worker); "
                       "this one has 1");
    if (options.root < 0 || options.root >= ranks)
      throw UsageError("mr: root " + std::to_string(options.root) + " is not a rank of the communicator (0.." +
                       std::to_string(ranks - 1) + ")");
    if (rank != options.root)
      throw UsageError("mr: the pool over a communicator runs on its root rank only");
    if (options.processes > ranks - 1)
      throw UsageError("mr: " + std::to_string(options.processes) + " workers asked for, but the job has " +
                       std::to_string(ranks - 1) + " ranks besides the root to serve them: start it with "
                       "mpirun -np " + std::to_string(options.processes + 1));
    options.processes = ranks - 1;
    if (options.world) acquire_world_ranks(deadline);
  }
  if (options.processes == 0) options.processes = default_pool_size();
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
    // Ranks of a job are connected once (every rank is in that collective); spawns are retried.
    const Seconds attempt = spawning ? std::min<Seconds>(left, options.spawn_attempt_timeout) : left;
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
    if (!spawning)
      throw BrokenPool("mr: the other " + std::to_string(options.processes) +
                       " ranks did not join the pool within the start timeout: every rank of the "
                       "communicator must construct the executor (mr::CommExecutor), or, in world mode, "
                       "serve (MR_POOL_LAUNCH=world)");
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

}  // namespace mr::detail
