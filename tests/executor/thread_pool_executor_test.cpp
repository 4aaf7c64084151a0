// mr::ThreadPoolExecutor: the executor interface with any callable.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mr/thread_pool_executor.hpp"

namespace {

using namespace std::chrono_literals;

static_assert(mr::Executor<mr::ThreadPoolExecutor>);

long square(long x) { return x * x; }

TEST(ThreadPoolExecutor, SubmitFunctionsLambdasAndMoveOnlyArguments) {
  mr::ThreadPoolExecutor executor(2);
  EXPECT_EQ(executor.max_workers(), 2u);
  auto a = executor.submit(square, 12L);
  auto b = executor.submit([](std::string s, int n) { return s + std::to_string(n); }, std::string("n="), 3);
  auto c = executor.submit([](std::unique_ptr<int> p) { return *p + 1; }, std::make_unique<int>(41));
  auto d = executor.submit([] {});
  EXPECT_EQ(a.result(), 144);
  EXPECT_EQ(b.result(), "n=3");
  EXPECT_EQ(c.result(), 42);
  d.result();
  EXPECT_TRUE(d.done());
}

TEST(ThreadPoolExecutor, ExceptionsReachResultAndThePoolKeepsWorking) {
  mr::ThreadPoolExecutor executor(1);
  auto bad = executor.submit([]() -> int { throw std::invalid_argument("no such key"); });
  EXPECT_THROW(bad.result(), std::invalid_argument);
  EXPECT_NE(bad.exception(), nullptr);
  EXPECT_EQ(executor.submit(square, 3L).result(), 9);
}

TEST(ThreadPoolExecutor, CancelWorksOnlyWhilePendingAndRunningIsReported) {
  mr::ThreadPoolExecutor executor(1);
  std::latch started(1);
  std::atomic<bool> release{false};
  auto blocker = executor.submit([&] {
    started.count_down();
    while (!release) std::this_thread::sleep_for(1ms);
    return 1;
  });
  started.wait();
  auto queued = executor.submit(square, 2L);
  EXPECT_TRUE(blocker.running());
  EXPECT_FALSE(blocker.cancel());
  EXPECT_FALSE(queued.running());
  EXPECT_TRUE(queued.cancel());
  release = true;
  EXPECT_EQ(blocker.result(), 1);
  EXPECT_THROW(queued.result(), mr::CancelledError);
}

TEST(ThreadPoolExecutor, MapReturnsResultsInInputOrderLazily) {
  mr::ThreadPoolExecutor executor(3);
  std::vector<long> inputs(200);
  std::iota(inputs.begin(), inputs.end(), 0L);
  std::vector<long> results;
  for (long r : executor.map(square, inputs, {.chunksize = 7})) results.push_back(r);
  ASSERT_EQ(results.size(), inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) EXPECT_EQ(results[i], inputs[i] * inputs[i]);
}

TEST(ThreadPoolExecutor, MapRethrowsWhenTheIterationReachesAFailure) {
  mr::ThreadPoolExecutor executor(2);
  auto results = executor.map([](int x) { return x == 2 ? throw std::domain_error("two") : x; },
                              std::vector<int>{0, 1, 2, 3});
  auto it = results.begin();
  EXPECT_EQ(*it, 0);
  ++it;
  EXPECT_EQ(*it, 1);
  EXPECT_THROW(++it, std::domain_error);
}

TEST(ThreadPoolExecutor, MapTimeoutCountsFromTheCall) {
  mr::ThreadPoolExecutor executor(1);
  auto results = executor.map([](int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); return ms; },
                              std::vector<int>{1, 300}, {.timeout = 50ms});
  auto it = results.begin();
  EXPECT_EQ(*it, 1);
  EXPECT_THROW(++it, mr::TimeoutError);
  EXPECT_THROW(executor.map(square, std::vector<long>{1}, {.chunksize = 0}), mr::UsageError);
}

TEST(ThreadPoolExecutor, ShutdownWaitsRunsQueuedWorkAndRefusesNewWork) {
  mr::ThreadPoolExecutor executor(1);
  std::vector<mr::Future<long>> futures;
  for (long i = 0; i < 20; ++i)
    futures.push_back(executor.submit([](long x) { std::this_thread::sleep_for(1ms); return x; }, i));
  executor.shutdown(/*wait=*/true);
  for (long i = 0; i < 20; ++i) {
    EXPECT_TRUE(futures[static_cast<std::size_t>(i)].done());
    EXPECT_EQ(futures[static_cast<std::size_t>(i)].result(), i);
  }
  EXPECT_THROW(executor.submit(square, 1L), mr::StateError);
  executor.shutdown();  // idempotent
}

TEST(ThreadPoolExecutor, ShutdownWithCancelFuturesCancelsOnlyPendingCalls) {
  mr::ThreadPoolExecutor executor(1);
  std::latch started(1);
  auto running = executor.submit([&] {
    started.count_down();
    std::this_thread::sleep_for(30ms);
    return 1;
  });
  started.wait();
  std::vector<mr::Future<long>> queued;
  for (long i = 0; i < 10; ++i) queued.push_back(executor.submit(square, i));
  executor.shutdown(/*wait=*/true, /*cancel_futures=*/true);
  EXPECT_EQ(running.result(), 1);
  for (const auto& f : queued) EXPECT_TRUE(f.cancelled());
}

TEST(ThreadPoolExecutor, DestructorWaitsForSubmittedWork) {
  std::atomic<int> ran{0};
  {
    mr::ThreadPoolExecutor executor(2);
    for (int i = 0; i < 50; ++i) executor.submit([&] { std::this_thread::sleep_for(100us); ++ran; });
  }
  EXPECT_EQ(ran.load(), 50);
}

TEST(ThreadPoolExecutor, CallbacksMayShutDownTheExecutorWithoutDeadlock) {
  mr::ThreadPoolExecutor executor(1);
  auto future = executor.submit(square, 4L);
  future.add_done_callback([&](const mr::Future<long>&) { executor.shutdown(true); });
  EXPECT_EQ(future.result(), 16);
  EXPECT_THROW(mr::ThreadPoolExecutor(0), mr::UsageError);
}

TEST(ThreadPoolExecutor, TenThousandSmallTasksWithAsCompleted) {
  mr::ThreadPoolExecutor executor(2);
  std::vector<mr::Future<long>> futures;
  for (long i = 0; i < 10'000; ++i) futures.push_back(executor.submit(square, i));
  long sum = 0, count = 0;
  for (const auto& f : mr::as_completed(futures, 30s)) {
    sum += f.result();
    ++count;
  }
  EXPECT_EQ(count, 10'000);
  EXPECT_EQ(sum, 333'283'335'000L);  // sum of i^2 for i < 10000 = (n-1)n(2n-1)/6
}

}  // namespace
