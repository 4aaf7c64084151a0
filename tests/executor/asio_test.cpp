// run_in_executor and gather in a Boost.Asio event loop, with a thread-pool executor.
#include <gtest/gtest.h>

#include "mr/asio.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mr/thread_pool_executor.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

long square(long x) { return x * x; }

/// Runs `coroutine` to completion on a fresh io_context and returns its value.
template <class T>
T run_loop(asio::awaitable<T> coroutine) {
  asio::io_context loop;
  std::optional<T> value;
  std::exception_ptr error;
  asio::co_spawn(loop, std::move(coroutine), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) value.emplace(std::move(v));
  });
  loop.run();
  if (error) std::rethrow_exception(error);
  return std::move(*value);
}

TEST(RunInExecutor, ReturnsTheValueAndRethrowsTheException) {
  mr::ThreadPoolExecutor executor(2);
  auto coroutine = [&]() -> asio::awaitable<long> {
    long a = co_await mr::run_in_executor(executor, square, 9L);
    try {
      co_await mr::run_in_executor(executor, [] { throw std::out_of_range("index 7"); });
    } catch (const std::out_of_range& e) {
      a += std::string(e.what()) == "index 7" ? 1000 : 0;
    }
    co_return a;
  };
  EXPECT_EQ(run_loop(coroutine()), 1081);
}

TEST(RunInExecutor, NeverBlocksTheLoopThread) {
  // One slow call and a timer that ticks on the loop meanwhile: if run_in_executor blocked
  // the loop's thread, the ticks would all happen after the call finished.
  mr::ThreadPoolExecutor executor(1);
  std::atomic<bool> call_finished{false};
  auto coroutine = [&]() -> asio::awaitable<int> {
    auto ticker = [&]() -> asio::awaitable<int> {
      asio::steady_timer timer(co_await asio::this_coro::executor);
      int ticks_before_finish = 0;
      for (int i = 0; i < 5; ++i) {
        timer.expires_after(5ms);
        co_await timer.async_wait(asio::use_awaitable);
        if (!call_finished) ++ticks_before_finish;
      }
      co_return ticks_before_finish;
    };
    auto slow = mr::run_in_executor(executor, [&] {
      std::this_thread::sleep_for(200ms);
      call_finished = true;
      return 0;
    });
    auto [ticks, unused] = co_await mr::gather(ticker(), std::move(slow));
    co_return ticks;
  };
  EXPECT_EQ(run_loop(coroutine()), 5);
}

TEST(Gather, VariadicReturnsATupleInArgumentOrder) {
  mr::ThreadPoolExecutor executor(2);
  auto coroutine = [&]() -> asio::awaitable<std::string> {
    auto [a, b, c] = co_await mr::gather(
        mr::run_in_executor(executor, square, 3L),
        mr::run_in_executor(executor, [] { return std::string("x"); }),
        mr::run_in_executor(executor, [] {}));
    static_assert(std::is_same_v<decltype(c), std::monostate>);
    co_return std::to_string(a) + b;
  };
  EXPECT_EQ(run_loop(coroutine()), "9x");
}

TEST(Gather, TenThousandAwaitablesInOneGather) {
  mr::ThreadPoolExecutor executor(2);
  auto coroutine = [&]() -> asio::awaitable<std::vector<long>> {
    std::vector<asio::awaitable<long>> calls;
    for (long i = 0; i < 10'000; ++i) calls.push_back(mr::run_in_executor(executor, square, i));
    co_return co_await mr::gather(std::move(calls));
  };
  const auto results = run_loop(coroutine());
  ASSERT_EQ(results.size(), 10'000u);
  for (long i = 0; i < 10'000; ++i) ASSERT_EQ(results[static_cast<std::size_t>(i)], i * i);
}

TEST(Gather, FirstExceptionPropagatesAfterTheOthersRanToCompletion) {
  mr::ThreadPoolExecutor executor(2);
  std::atomic<int> finished{0};
  auto coroutine = [&]() -> asio::awaitable<std::string> {
    std::vector<asio::awaitable<int>> calls;
    for (int i = 0; i < 20; ++i) {
      calls.push_back(mr::run_in_executor(executor, [&, i] {
        std::this_thread::sleep_for(std::chrono::milliseconds(i == 3 ? 1 : 10));
        ++finished;
        if (i == 3) throw std::runtime_error("first");
        if (i == 15) throw std::logic_error("second");
        return i;
      }));
    }
    try {
      co_await mr::gather(std::move(calls));
    } catch (const std::runtime_error& e) {
      co_return std::string(e.what()) + " after " + std::to_string(finished.load());
    }
    co_return "no exception";
  };
  EXPECT_EQ(run_loop(coroutine()), "first after 20");
}

TEST(Gather, EmptyRangeAndCoroutinesThatAreNotExecutorCalls) {
  auto coroutine = []() -> asio::awaitable<std::size_t> {
    auto none = co_await mr::gather(std::vector<asio::awaitable<int>>{});
    auto plain = []() -> asio::awaitable<int> { co_return 4; };
    auto [x] = co_await mr::gather(plain());
    co_return none.size() + static_cast<std::size_t>(x);
  };
  EXPECT_EQ(run_loop(coroutine()), 4u);
}

TEST(RunInExecutor, SubmittingToAShutDownExecutorThrowsAtTheCall) {
  mr::ThreadPoolExecutor executor(1);
  executor.shutdown();
  EXPECT_THROW(mr::run_in_executor(executor, square, 1L), mr::StateError);
}

}  // namespace
