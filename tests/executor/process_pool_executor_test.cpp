// mr::ProcessPoolExecutor in singleton mode (and under mpirun -np 1): the executor
// interface over spawned workers, the same generic code on both executors, the event-loop
// adapters over processes, and a worker dying in the middle of a map.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdlib>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mr/asio.hpp"
#include "mr/process_pool_executor.hpp"
#include "mr/thread_pool_executor.hpp"
#include "executor_checks.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

using mr_test::fail_on_three;
using mr_test::pid_of_worker;
using mr_test::sleep_ms;
using mr_test::square;

long abort_on_five(long x) {
  if (x == 5) std::abort();
  std::this_thread::sleep_for(1ms);
  return x;
}
MR_TASK(abort_on_five);

long unregistered(long x) { return x; }

std::string pml_setting(long) {
  const char* pml = std::getenv("OMPI_MCA_pml");
  return pml ? pml : "";
}
MR_TASK(pml_setting);

static_assert(mr::Executor<mr::ProcessPoolExecutor>);

/// Code written once against the executor interface.
template <mr::Executor E>
long sum_of_squares(E& executor, long n) {
  std::vector<long> inputs(static_cast<std::size_t>(n));
  std::iota(inputs.begin(), inputs.end(), 0L);
  long total = executor.submit(square, n).result();
  for (long r : executor.map(square, inputs, {.chunksize = 16})) total += r;
  return total;
}

TEST(ProcessPoolExecutor, SwitchingExecutorsIsAOneLineChange) {
  mr::ProcessPoolExecutor processes(2);
  mr::ThreadPoolExecutor threads(2);
  EXPECT_EQ(processes.max_workers(), 2u);
  EXPECT_EQ(sum_of_squares(processes, 1000), sum_of_squares(threads, 1000));
  EXPECT_EQ(sum_of_squares(processes, 1000), 332'833'500L + 1'000'000L);
}

TEST(ProcessPoolExecutor, SubmitResultAndRemoteExceptions) {
  mr::ProcessPoolExecutor executor(2);
  auto ok = executor.submit(square, 11L);
  auto bad = executor.submit(fail_on_three, 3L);
  EXPECT_EQ(ok.result(10s), 121);
  mr_test::check_remote_error(bad);
  EXPECT_NE(bad.exception(), nullptr);
  EXPECT_EQ(executor.submit(square, 2L).result(10s), 4) << "the executor keeps working after an exception";
  EXPECT_THROW(executor.submit(unregistered, 1L), mr::UsageError);
}

TEST(ProcessPoolExecutor, CancelSucceedsOnlyWhilePending) {
  mr::ProcessPoolExecutor executor(1);
  auto slow = executor.submit(sleep_ms, 800L);
  for (int i = 0; i < 5000 && !slow.running(); ++i) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(slow.running());
  // More tasks than the worker may hold: the last ones stay pending in the parent.
  std::vector<mr::Future<long>> queued;
  for (long i = 0; i < 3000; ++i) queued.push_back(executor.submit(square, i));
  EXPECT_FALSE(slow.cancel());
  EXPECT_TRUE(queued.back().cancel());
  EXPECT_TRUE(queued.back().cancelled());
  EXPECT_THROW(queued.back().result(), mr::CancelledError);
  EXPECT_EQ(slow.result(10s), 800);
  EXPECT_EQ(queued.front().result(10s), 0);
}

TEST(ProcessPoolExecutor, TimeoutsOnResultAndMap) {
  mr::ProcessPoolExecutor executor(1);
  mr_test::check_result_and_map_timeouts(executor);
}

TEST(ProcessPoolExecutor, MapKeepsInputOrderForEveryChunksize) {
  mr::ProcessPoolExecutor executor(2);
  mr_test::check_map_keeps_input_order(executor);
}

TEST(ProcessPoolExecutor, WaitAndAsCompletedOnProcessFutures) {
  mr::ProcessPoolExecutor executor(2);
  // The fast call is submitted first: whichever workers the two land on, it finishes first.
  auto fast = executor.submit(sleep_ms, 1L);
  auto slow = executor.submit(sleep_ms, 300L);
  std::vector<mr::Future<long>> futures{slow, fast};
  auto [done, not_done] = mr::wait(futures, mr::ReturnWhen::first_completed, 10s);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].result(), 1);
  std::vector<long> order;
  for (const auto& f : mr::as_completed(futures, 10s)) order.push_back(f.result());
  EXPECT_EQ(order, (std::vector<long>{1, 300}));
}

TEST(ProcessPoolExecutor, ShutdownCancelsPendingAndRefusesNewWork) {
  mr::ProcessPoolExecutor executor(1);
  auto slow = executor.submit(sleep_ms, 600L);
  for (int i = 0; i < 5000 && !slow.running(); ++i) std::this_thread::sleep_for(1ms);
  std::vector<mr::Future<long>> queued;
  for (long i = 0; i < 3000; ++i) queued.push_back(executor.submit(square, i));
  executor.shutdown(/*wait=*/true, /*cancel_futures=*/true);
  EXPECT_EQ(slow.result(), 600);
  EXPECT_TRUE(queued.back().cancelled());
  for (const auto& f : queued) EXPECT_TRUE(f.done());
  EXPECT_THROW(executor.submit(square, 1L), mr::StateError);
}

/// Read during static initialisation, before main() constructs mr::Runtime.
const bool pml_set_before_runtime = std::getenv("OMPI_MCA_pml") != nullptr;

TEST(ProcessPoolExecutor, ParentAndWorkersUseTheSamePml) {
  // Alone or under mpirun on this one node, mr::Runtime chose ob1 before MPI_Init, unless the
  // environment named a PML already; under mpirun the workers get mpirun's environment, so
  // the pool passes the choice with the spawn.
  const std::string chosen = pml_setting(0);
  if (!pml_set_before_runtime) EXPECT_EQ(chosen, "ob1");
  mr::ProcessPoolExecutor executor(1);
  EXPECT_EQ(executor.submit(pml_setting, 0L).result(10s), chosen) << "parent and workers must agree on the PML";
}

TEST(ProcessPoolExecutor, SubmitToRunsOnTheGivenWorkerWithoutWaitingForOthers) {
  mr::ProcessPoolExecutor executor(2);
  const std::vector<int> pids = executor.worker_pids();
  for (std::size_t worker : {1u, 0u, 1u})
    EXPECT_EQ(executor.submit_to(worker, pid_of_worker, 0L).result(10s), pids[worker]) << "worker " << worker;
  // Worker 0 is busy and the shared queue is full: a task pinned to worker 1 still runs at once.
  auto busy = executor.submit_to(0, sleep_ms, 1500L);
  std::vector<mr::Future<long>> queued;
  for (long i = 0; i < 2000; ++i) queued.push_back(executor.submit(sleep_ms, 0L));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(executor.submit_to(1, pid_of_worker, 0L).result(10s), pids[1]);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_FALSE(busy.done());
  EXPECT_EQ(busy.result(10s), 1500);
  for (auto& f : queued) EXPECT_EQ(f.result(10s), 0);
  try {
    executor.submit_to(2, square, 1L);
    FAIL() << "expected UsageError";
  } catch (const mr::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("has 2 workers"), std::string::npos) << e.what();
  }
}

TEST(ProcessPoolExecutor, PinnedTasksAreCancelledByShutdown) {
  mr::ProcessPoolExecutor executor(1);
  auto slow = executor.submit_to(0, sleep_ms, 600L);
  for (int i = 0; i < 5000 && !slow.running(); ++i) std::this_thread::sleep_for(1ms);
  // The worker holds at most two batches: the third pinned task waits in the parent.
  auto second = executor.submit_to(0, sleep_ms, 1L);
  auto third = executor.submit_to(0, sleep_ms, 1L);
  auto last = executor.submit_to(0, square, 3L);
  executor.shutdown(/*wait=*/true, /*cancel_futures=*/true);
  EXPECT_EQ(slow.result(), 600);
  EXPECT_TRUE(last.cancelled());
  for (const auto* f : {&second, &third}) EXPECT_TRUE(f->done());
}

TEST(ProcessPoolExecutor, RunInExecutorAndGatherOverProcesses) {
  mr::ProcessPoolExecutor executor(2);
  asio::io_context loop;
  long total = 0;
  std::string error;
  asio::co_spawn(loop, [&]() -> asio::awaitable<void> {
    std::vector<asio::awaitable<long>> calls;
    for (long i = 0; i < 10'000; ++i) calls.push_back(mr::run_in_executor(executor, square, i));
    for (long v : co_await mr::gather(std::move(calls))) total += v;
    auto [a, b] = co_await mr::gather(mr::run_in_executor(executor, square, 3L),
                                      mr::run_in_executor(executor, sleep_ms, 2L));
    total += a + b;
    try {
      co_await mr::run_in_executor(executor, fail_on_three, 3L);
    } catch (const mr::RemoteError& e) {
      error = e.remote_message();
    }
  }, asio::detached);
  loop.run();
  EXPECT_EQ(total, 333'283'335'000L + 9 + 2);
  EXPECT_EQ(error, "three is not allowed");
}

// A worker that dies fails the map with BrokenPool (Python: BrokenProcessPool); the parent
// survives (singleton mode only: under mpirun the dead worker takes the job down).
TEST(ProcessPoolExecutorCrash, WorkerDeathDuringMapGivesBrokenPool) {
  mr::ProcessPoolExecutor executor(2);
  std::vector<long> inputs(40);
  std::iota(inputs.begin(), inputs.end(), 0L);
  auto results = executor.map(abort_on_five, inputs);
  bool broken = false;
  try {
    for (long r : results) (void)r;
  } catch (const mr::BrokenPool&) {
    broken = true;
  }
  EXPECT_TRUE(broken);
  for (int i = 0; i < 500 && !executor.broken(); ++i) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(executor.broken());
  EXPECT_THROW(executor.submit(square, 1L).result(10s), mr::BrokenPool);
}

}  // namespace
