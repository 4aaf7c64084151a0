// mr::CommExecutor over the ranks of the running job (no spawn), at 2, 3 and 4 ranks and over
// TCP only: every test constructs the executor on all ranks; rank 0 runs the checks while
// the other ranks serve inside the constructor and then check what a non-root sees.
#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mr/asio.hpp"
#include "mr/comm_executor.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

long square(long x) { return x * x; }
MR_TASK(square);

long sleep_ms(long ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
MR_TASK(sleep_ms);

long fail_on_three(long x) {
  if (x == 3) throw std::invalid_argument("three is not allowed");
  return x;
}
MR_TASK(fail_on_three);

long pid_of_worker(long) { return static_cast<long>(getpid()); }
MR_TASK(pid_of_worker);

/// CPU seconds this process has used (all threads).
double cpu_seconds(long) {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}
MR_TASK(cpu_seconds);

static_assert(mr::Executor<mr::CommExecutor>);

int world_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}
int world_size() {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

/// Processes running this test binary that share our parent (the launcher's daemon, which
/// also starts any spawned process): the job's ranks plus anything spawned.
int processes_of_this_job() {
  char self[4096] = {};
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return -1;
  const pid_t parent = getppid();
  int count = 0;
  DIR* proc = opendir("/proc");
  while (dirent* entry = readdir(proc)) {
    const std::string pid = entry->d_name;
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    char exe[4096] = {};
    if (readlink(("/proc/" + pid + "/exe").c_str(), exe, sizeof(exe) - 1) != n || std::string(exe) != self) continue;
    std::ifstream stat("/proc/" + pid + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(line.c_str() + close + 2, "%c %d", &state, &ppid) == 2 && ppid == parent) ++count;
  }
  closedir(proc);
  return count;
}

TEST(CommExecutor, NonRootRanksServeAndReturnWithoutAnExecutor) {
  mr::CommExecutor ex(MPI_COMM_WORLD);
  EXPECT_EQ(ex.is_root(), world_rank() == 0);
  if (!ex.is_root()) {
    EXPECT_EQ(ex.max_workers(), 0u);
    EXPECT_THROW(ex.submit(square, 1L), mr::StateError);
    ex.shutdown();  // nothing to do on a non-root
    return;
  }
  EXPECT_EQ(ex.max_workers(), static_cast<std::size_t>(world_size() - 1));
  EXPECT_EQ(ex.submit(square, 7L).result(10s), 49);
}

TEST(CommExecutor, TasksRunOnTheOtherRanksAndNoProcessIsSpawned) {
  // Every rank's pid, in rank order, learnt before the executor exists.
  const int size = world_size();
  std::vector<int> pids(static_cast<std::size_t>(size));
  const int mine = static_cast<int>(getpid());
  MPI_Allgather(&mine, 1, MPI_INT, pids.data(), 1, MPI_INT, MPI_COMM_WORLD);
  mr::CommExecutor ex;
  if (!ex.is_root()) return;
  const std::vector<int> others(pids.begin() + 1, pids.end());
  EXPECT_EQ(ex.worker_pids(), others) << "worker i is rank i+1";
  std::set<long> seen;
  for (std::size_t worker = 0; worker < ex.max_workers(); ++worker)
    seen.insert(ex.submit_to(worker, pid_of_worker, 0L).result(10s));
  for (long pid : ex.map(pid_of_worker, std::vector<long>(200, 0L), {.chunksize = 5})) seen.insert(pid);
  EXPECT_EQ(seen, std::set<long>(others.begin(), others.end()));
  EXPECT_EQ(seen.count(getpid()), 0u) << "the root runs no task";
  MPI_Comm parent = MPI_COMM_NULL;
  MPI_Comm_get_parent(&parent);
  EXPECT_EQ(parent, MPI_COMM_NULL);
  EXPECT_EQ(processes_of_this_job(), size) << "only the job's own ranks run this program";
}

TEST(CommExecutor, MapKeepsInputOrderForEveryChunksize) {
  mr::CommExecutor ex;
  if (!ex.is_root()) return;
  std::vector<long> inputs(101);
  std::iota(inputs.begin(), inputs.end(), -50L);
  for (std::size_t chunksize : {1u, 7u, 200u}) {
    auto results = ex.map(square, inputs, {.chunksize = chunksize}).to_vector();
    ASSERT_EQ(results.size(), inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) EXPECT_EQ(results[i], inputs[i] * inputs[i]);
  }
  auto failing = ex.map(fail_on_three, std::vector<long>{1, 2, 3, 4}, {.chunksize = 2});
  auto it = failing.begin();
  EXPECT_EQ(*it, 1);
  ++it;
  EXPECT_EQ(*it, 2);
  EXPECT_THROW(++it, mr::RemoteError);
}

TEST(CommExecutor, ATaskExceptionIsARemoteErrorAndTheRankKeepsServing) {
  mr::CommExecutor ex;
  if (!ex.is_root()) return;
  const long pid = ex.submit_to(0, pid_of_worker, 0L).result(10s);
  auto bad = ex.submit_to(0, fail_on_three, 3L);
  try {
    bad.result(10s);
    FAIL() << "expected RemoteError";
  } catch (const mr::RemoteError& e) {
    EXPECT_NE(e.type_name().find("invalid_argument"), std::string::npos) << e.type_name();
    EXPECT_EQ(e.remote_message(), "three is not allowed");
  }
  EXPECT_EQ(ex.submit_to(0, pid_of_worker, 0L).result(10s), pid) << "the same rank serves on";
  EXPECT_FALSE(ex.broken());
}

TEST(CommExecutor, TimeoutsOnResultAndMap) {
  mr::CommExecutor ex;
  if (!ex.is_root()) return;
  auto slow = ex.submit(sleep_ms, 300L);
  EXPECT_THROW(slow.result(20ms), mr::TimeoutError);
  EXPECT_EQ(slow.result(10s), 300);
  auto results = ex.map(sleep_ms, std::vector<long>{1, 800}, {.timeout = 400ms});
  auto it = results.begin();
  EXPECT_EQ(*it, 1);
  EXPECT_THROW(++it, mr::TimeoutError);
}

/// Occupies every serving rank with a slow task, then queues more than they may hold.
std::vector<mr::Future<long>> busy_then_queued(mr::CommExecutor& ex, std::vector<mr::Future<long>>& slow) {
  for (std::size_t worker = 0; worker < ex.max_workers(); ++worker) slow.push_back(ex.submit_to(worker, sleep_ms, 500L));
  for (auto& f : slow)
    for (int i = 0; i < 5000 && !f.running(); ++i) std::this_thread::sleep_for(1ms);
  std::vector<mr::Future<long>> queued;
  for (long i = 0; i < 8000; ++i) queued.push_back(ex.submit(square, i));
  return queued;
}

TEST(CommExecutor, CancelSucceedsOnlyWhilePending) {
  mr::CommExecutor ex;
  if (!ex.is_root()) return;
  std::vector<mr::Future<long>> slow;
  auto queued = busy_then_queued(ex, slow);
  EXPECT_FALSE(slow.front().cancel()) << "running";
  EXPECT_TRUE(queued.back().cancel());
  EXPECT_TRUE(queued.back().cancelled());
  EXPECT_THROW(queued.back().result(), mr::CancelledError);
  for (auto& f : slow) EXPECT_EQ(f.result(10s), 500);
  EXPECT_EQ(queued.front().result(10s), 0);
}

TEST(CommExecutor, ShutdownCancelsPendingAndRefusesNewWork) {
  mr::CommExecutor ex;
  if (!ex.is_root()) return;
  std::vector<mr::Future<long>> slow;
  auto queued = busy_then_queued(ex, slow);
  ex.shutdown(/*wait=*/true, /*cancel_futures=*/true);
  for (auto& f : slow) EXPECT_EQ(f.result(), 500);
  EXPECT_TRUE(queued.back().cancelled());
  for (const auto& f : queued) EXPECT_TRUE(f.done());
  EXPECT_THROW(ex.submit(square, 1L), mr::StateError);
}

TEST(CommExecutor, WaitAndAsCompleted) {
  mr::CommExecutor ex;
  if (!ex.is_root()) return;
  // A worker returns a batch's results together, so the fast call finishes before the slow
  // one is even submitted.
  auto fast = ex.submit(sleep_ms, 1L);
  fast.wait(10s);
  auto slow = ex.submit(sleep_ms, 300L);
  std::vector<mr::Future<long>> futures{slow, fast, fast};
  auto [done, not_done] = mr::wait(futures, mr::ReturnWhen::first_completed, 10s);
  ASSERT_GE(done.size(), 1u);
  std::vector<long> order;
  for (const auto& f : mr::as_completed(futures, 10s)) order.push_back(f.result());
  EXPECT_EQ(order, (std::vector<long>{1, 300}));
}

TEST(CommExecutor, TenThousandTasksThroughRunInExecutorAndGather) {
  mr::CommExecutor ex;
  if (!ex.is_root()) return;
  asio::io_context loop;
  long total = 0;
  asio::co_spawn(loop, [&]() -> asio::awaitable<void> {
    std::vector<asio::awaitable<long>> calls;
    for (long i = 0; i < 10'000; ++i) calls.push_back(mr::run_in_executor(ex, square, i));
    for (long r : co_await mr::gather(std::move(calls))) total += r;
    auto [a, b] = co_await mr::gather(mr::run_in_executor(ex, square, 5L), mr::run_in_executor(ex, square, 6L));
    total += a + b;
  }, asio::detached);
  loop.run();
  EXPECT_EQ(total, 333'283'335'000L + 25 + 36);
}

TEST(CommExecutor, AnyRankCanBeTheRoot) {
  const int root = world_size() - 1;
  mr::CommExecutor ex(MPI_COMM_WORLD, root);
  EXPECT_EQ(ex.is_root(), world_rank() == root);
  if (!ex.is_root()) return;
  EXPECT_EQ(ex.map(square, std::vector<long>{1, 2, 3}).to_vector(), (std::vector<long>{1, 4, 9}));
}

TEST(CommExecutor, IdleServingRanksDoNotSpin) {
  mr::CommExecutor ex;
  if (!ex.is_root()) return;
  std::vector<double> before;
  for (std::size_t w = 0; w < ex.max_workers(); ++w) before.push_back(ex.submit_to(w, cpu_seconds, 0L).result(10s));
  std::this_thread::sleep_for(600ms);
  for (std::size_t w = 0; w < ex.max_workers(); ++w) {
    const double used = ex.submit_to(w, cpu_seconds, 0L).result(10s) - before[w];
    EXPECT_LT(used, 0.15) << "worker " << w << " used " << used << " s of CPU in 0.6 s idle";
  }
}

TEST(CommExecutor, BadArgumentsAreUsageErrors) {
  EXPECT_THROW(mr::CommExecutor(MPI_COMM_WORLD, world_size()), mr::UsageError);
  EXPECT_THROW(mr::CommExecutor(MPI_COMM_SELF), mr::UsageError) << "one rank: nobody to run tasks";
}

// The TCP-only variant (mpirun --mca btl tcp,self) also keeps the pool off its shared-memory
// channels, so every message crosses the MPI transport as between hosts.
const bool mpi_transport_for_tcp = [] {
  const char* btl = std::getenv("OMPI_MCA_btl");
  if (btl != nullptr && std::string(btl).find("tcp") != std::string::npos) setenv("MR_POOL_TRANSPORT", "mpi", 1);
  return true;
}();

}  // namespace
