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
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mr/asio.hpp"
#include "mr/comm_executor.hpp"
#include "executor_checks.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

using mr_test::fail_on_three;
using mr_test::pid_of_worker;
using mr_test::processes_of_this_job;
using mr_test::sleep_ms;
using mr_test::square;

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
  mr_test::check_map_keeps_input_order(ex);
}

TEST(CommExecutor, ATaskExceptionIsARemoteErrorAndTheRankKeepsServing) {
  mr::CommExecutor ex;
  if (!ex.is_root()) return;
  const long pid = ex.submit_to(0, pid_of_worker, 0L).result(10s);
  mr_test::check_remote_error(ex.submit_to(0, fail_on_three, 3L));
  EXPECT_EQ(ex.submit_to(0, pid_of_worker, 0L).result(10s), pid) << "the same rank serves on";
  EXPECT_FALSE(ex.broken());
}

TEST(CommExecutor, TimeoutsOnResultAndMap) {
  mr::CommExecutor ex;
  if (!ex.is_root()) return;
  mr_test::check_result_and_map_timeouts(ex);
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
