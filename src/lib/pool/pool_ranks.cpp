// Workers that are ranks of a running job rather than spawned processes: mr::CommExecutor
// (the ranks of a communicator) and PoolLaunch::world (ranks 1..N-1 of MPI_COMM_WORLD).
// Both sides build an intercommunicator whose remote group is, for the pool, its workers
// 0..n-1 and, for a worker, the pool as rank 0: exactly what MPI_Comm_spawn gives, so the
// pool core and the worker loop run unchanged on it (one protocol, one transport).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/backoff.hpp"
#include "mr/detail/mpi_check.hpp"
#include "mr/error.hpp"
#include "pool/pool_impl.hpp"
#include "pool/worker.hpp"

namespace mr::detail {
namespace {

/// Rank 0 -> ranks 1..N-1 of a world-mode job: one int, 1 (a pool follows) or 0 (the end).
/// On MPI_COMM_WORLD, where the serving ranks make no other call.
constexpr int kWorldPoolTag = 0x6d72;

/// World-mode bookkeeping of rank 0: one pool holds the serving ranks at a time.
struct WorldRanks {
  std::mutex mutex;
  std::condition_variable released;
  bool held = false;
  bool announced = false;  ///< some pool (or the Runtime) put this job in world mode
};
WorldRanks& world_ranks() {
  static WorldRanks ranks;
  return ranks;
}

void send_to_serving_ranks(int what) {
  int size = 1;
  MR_MPI_CALL(MPI_Comm_size, MPI_COMM_WORLD, &size);
  for (int rank = 1; rank < size; ++rank) MR_MPI_CALL(MPI_Send, &what, 1, MPI_INT, rank, kWorldPoolTag, MPI_COMM_WORLD);
}

}  // namespace

MPI_Comm connect_pool_ranks(MPI_Comm comm, int root, const std::function<bool()>& give_up) {
  // A non-blocking barrier first, polled with the pool's backoff: ranks that wait for a late
  // root (or root for late ranks) sleep instead of spinning inside a blocking collective.
  MPI_Request arrived = MPI_REQUEST_NULL;
  MR_MPI_CALL(MPI_Ibarrier, comm, &arrived);
  Backoff backoff;
  for (int done = 0;;) {
    MR_MPI_CALL(MPI_Test, &arrived, &done, MPI_STATUS_IGNORE);
    if (done) break;
    if (give_up && give_up()) throw BrokenPool("abandoned");
    backoff.pause();
  }
  int rank = 0;
  MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
  // Our own communicators: the pool's messages never mix with the program's.
  MPI_Comm dup = MPI_COMM_NULL;
  MPI_Comm local = MPI_COMM_NULL;
  MPI_Comm inter = MPI_COMM_NULL;
  MR_MPI_CALL(MPI_Comm_dup, comm, &dup);
  MR_MPI_CALL(MPI_Comm_split, dup, rank == root ? 0 : 1, rank, &local);
  const int remote_leader = rank != root ? root : (root == 0 ? 1 : 0);
  MR_MPI_CALL(MPI_Intercomm_create, local, 0, dup, remote_leader, 0, &inter);
  MR_MPI_CALL(MPI_Comm_free, &local);
  MR_MPI_CALL(MPI_Comm_free, &dup);
  MR_MPI_CALL(MPI_Comm_set_errhandler, inter, MPI_ERRORS_RETURN);
  return inter;
}

int serve_pool_ranks(MPI_Comm comm, int root) {
  try {
    return serve_spawned_worker(connect_pool_ranks(comm, root, nullptr));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mr: pool rank could not join its pool: %s\n", e.what());
    return EXIT_FAILURE;
  }
}

int serve_world_pools() {
  Backoff backoff;
  for (;;) {
    int arrived = 0;
    MR_MPI_CALL(MPI_Iprobe, 0, kWorldPoolTag, MPI_COMM_WORLD, &arrived, MPI_STATUS_IGNORE);
    if (!arrived) {
      backoff.pause();  // an idle serving rank sleeps (naps up to 5 ms), it never spins
      continue;
    }
    int what = 0;
    MR_MPI_CALL(MPI_Recv, &what, 1, MPI_INT, 0, kWorldPoolTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (what == 0) return EXIT_SUCCESS;
    if (const int code = serve_pool_ranks(MPI_COMM_WORLD, 0); code != EXIT_SUCCESS) return code;
    backoff.reset();
  }
}

namespace {
std::optional<PoolLaunch> runtime_launch;  // set once by mr::Runtime's constructor

int world_size() {
  int size = 1;
  MR_MPI_CALL(MPI_Comm_size, MPI_COMM_WORLD, &size);
  return size;
}
}  // namespace

PoolLaunch resolve_pool_launch(std::optional<PoolLaunch> launch) {
  if (!launch) launch = runtime_launch;
  if (!launch) {
    const char* value = std::getenv("MR_POOL_LAUNCH");
    const std::string_view name = value == nullptr ? "spawn" : value;
    if (name == "spawn" || name.empty()) {
      launch = PoolLaunch::spawn;
    } else if (name == "world") {
      launch = PoolLaunch::world;
    } else if (name == "automatic") {
      launch = PoolLaunch::automatic;
    } else {
      throw UsageError("mr: MR_POOL_LAUNCH=" + std::string(name) + " is not one of spawn, world, automatic");
    }
  }
  if (*launch == PoolLaunch::automatic) return world_size() > 1 ? PoolLaunch::world : PoolLaunch::spawn;
  return *launch;
}

bool start_world_mode(std::optional<PoolLaunch> launch) {
  if (launch) runtime_launch = launch;
  if (resolve_pool_launch(launch) != PoolLaunch::world || world_size() < 2) return false;
  int rank = 0;
  MR_MPI_CALL(MPI_Comm_rank, MPI_COMM_WORLD, &rank);
  if (rank != 0) return true;
  std::lock_guard lock(world_ranks().mutex);
  world_ranks().announced = true;
  return false;
}

void end_world_pools() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  bool announced = false;
  {
    std::lock_guard lock(world_ranks().mutex);
    announced = std::exchange(world_ranks().announced, false);
  }
  if (rank == 0 && announced) send_to_serving_ranks(0);
}

void acquire_world_ranks(std::chrono::steady_clock::time_point deadline) {
  WorldRanks& ranks = world_ranks();
  std::unique_lock lock(ranks.mutex);
  if (!ranks.released.wait_until(lock, deadline, [&] { return !ranks.held; }))
    throw UsageError(
        "mr: another world-mode pool still holds ranks 1..N-1 of the job (one world-mode pool at a time); "
        "shut the first down (shutdown()/join()) before creating the next, or give the second "
        "PoolLaunch::spawn");
  ranks.held = true;
  ranks.announced = true;
}

void release_world_ranks() {
  {
    std::lock_guard lock(world_ranks().mutex);
    world_ranks().held = false;
  }
  world_ranks().released.notify_all();
}

void announce_world_pool() { send_to_serving_ranks(1); }

}  // namespace mr::detail
