// mr::Future, mr::wait and mr::as_completed over states completed by hand, so every
// ordering is deterministic.
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mr/future.hpp"

namespace {

using namespace std::chrono_literals;

template <class T>
mr::Future<T> pending() {
  return mr::Future<T>(std::make_shared<mr::detail::SharedState<T>>());
}

template <class T>
void finish(const mr::Future<T>& future, T value) {
  ASSERT_TRUE(future.state()->set_running());
  auto callbacks = future.state()->set_value(std::move(value));
  mr::detail::run_callbacks(callbacks);
}

template <class T>
void fail(const mr::Future<T>& future, const std::string& what) {
  ASSERT_TRUE(future.state()->set_running());
  auto callbacks = future.state()->set_exception(std::make_exception_ptr(std::runtime_error(what)));
  mr::detail::run_callbacks(callbacks);
}

TEST(Future, StatesFollowPythonsLifecycle) {
  auto future = pending<int>();
  EXPECT_FALSE(future.done());
  EXPECT_FALSE(future.running());
  EXPECT_FALSE(future.cancelled());
  ASSERT_TRUE(future.state()->set_running());
  EXPECT_TRUE(future.running());
  EXPECT_FALSE(future.cancel()) << "a running call cannot be cancelled";
  auto callbacks = future.state()->set_value(7);
  EXPECT_TRUE(future.done());
  EXPECT_FALSE(future.running());
  EXPECT_EQ(future.result(), 7);
  EXPECT_EQ(future.result(0s), 7) << "result() may be called again";
  EXPECT_EQ(future.exception(), nullptr);
}

TEST(Future, CancelSucceedsOnlyWhilePendingAndRunsCallbacks) {
  auto future = pending<std::string>();
  int seen = 0;
  future.add_done_callback([&](const mr::Future<std::string>& f) { seen += f.cancelled() ? 1 : 100; });
  EXPECT_TRUE(future.cancel());
  EXPECT_EQ(seen, 1);
  EXPECT_TRUE(future.cancelled());
  EXPECT_TRUE(future.done());
  EXPECT_TRUE(future.cancel()) << "cancelling twice still reports cancelled, as Python";
  EXPECT_THROW(future.result(), mr::CancelledError);
  EXPECT_THROW(future.exception(), mr::CancelledError);
}

TEST(Future, ResultAndExceptionTimeOut) {
  auto future = pending<int>();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(future.result(30ms), mr::TimeoutError);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);
  EXPECT_THROW(future.exception(1ms), mr::TimeoutError);
  EXPECT_FALSE(future.wait(1ms));
}

TEST(Future, ExceptionIsRethrownByResultAndReturnedByException) {
  auto future = pending<int>();
  fail(future, "bad input");
  try {
    future.result();
    FAIL() << "result() should rethrow";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "bad input");
  }
  EXPECT_NE(future.exception(), nullptr);
}

TEST(Future, DoneCallbackGetsTheFutureAndRunsAtOnceWhenAlreadyDone) {
  auto future = pending<int>();
  std::vector<int> seen;
  future.add_done_callback([&](const mr::Future<int>& f) { seen.push_back(f.result()); });
  finish(future, 5);
  future.add_done_callback([&](const mr::Future<int>& f) { seen.push_back(f.result() * 10); });
  EXPECT_EQ(seen, (std::vector<int>{5, 50}));
}

TEST(Future, DefaultConstructedFutureSaysWhatToDo) {
  mr::Future<int> empty;
  EXPECT_FALSE(empty.valid());
  EXPECT_THROW(empty.done(), mr::UsageError);
}

TEST(Wait, FirstCompletedReturnsAsSoonAsOneIsDone) {
  std::vector<mr::Future<int>> futures{pending<int>(), pending<int>(), pending<int>()};
  std::thread completer([&] {
    std::this_thread::sleep_for(20ms);
    finish(futures[1], 1);
  });
  auto [done, not_done] = mr::wait(futures, mr::ReturnWhen::first_completed);
  completer.join();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0], futures[1]);
  EXPECT_EQ(not_done.size(), 2u);
}

TEST(Wait, FirstExceptionIgnoresSuccessesAndReturnsOnFailure) {
  std::vector<mr::Future<int>> futures{pending<int>(), pending<int>(), pending<int>()};
  finish(futures[0], 0);
  auto early = mr::wait(futures, mr::ReturnWhen::first_exception, 20ms);
  EXPECT_EQ(early.done.size(), 1u) << "a success alone must not end a FIRST_EXCEPTION wait";
  EXPECT_EQ(early.not_done.size(), 2u);
  fail(futures[2], "x");
  auto [done, not_done] = mr::wait(futures, mr::ReturnWhen::first_exception);
  EXPECT_EQ(done.size(), 2u);
  ASSERT_EQ(not_done.size(), 1u);
  EXPECT_EQ(not_done[0], futures[1]);
}

TEST(Wait, AllCompletedAndTimeout) {
  std::vector<mr::Future<int>> futures{pending<int>(), pending<int>()};
  finish(futures[0], 0);
  auto partial = mr::wait(futures, mr::ReturnWhen::all_completed, 10ms);
  EXPECT_EQ(partial.done.size(), 1u);
  EXPECT_EQ(partial.not_done.size(), 1u);
  EXPECT_TRUE(futures[1].cancel());  // cancelled counts as done
  auto all = mr::wait(futures);
  EXPECT_EQ(all.done.size(), 2u);
  EXPECT_TRUE(all.not_done.empty());
}

TEST(AsCompleted, YieldsDoneFirstThenInCompletionOrder) {
  std::vector<mr::Future<int>> futures{pending<int>(), pending<int>(), pending<int>(), pending<int>()};
  finish(futures[2], 2);
  std::thread completer([&] {
    for (int i : {3, 0, 1}) {
      std::this_thread::sleep_for(5ms);
      finish(futures[static_cast<std::size_t>(i)], i);
    }
  });
  std::vector<int> order;
  for (const auto& future : mr::as_completed(futures)) order.push_back(future.result());
  completer.join();
  EXPECT_EQ(order, (std::vector<int>{2, 3, 0, 1}));
}

TEST(AsCompleted, YieldsAFutureGivenTwiceOnlyOnce) {
  // Python's as_completed takes a set: a future listed twice (here a copy and itself) is
  // yielded once, whether it is done before the call or finishes later.
  std::vector<mr::Future<int>> futures{pending<int>(), pending<int>()};
  finish(futures[0], 0);
  futures.push_back(futures[0]);
  futures.push_back(futures[1]);
  futures.push_back(futures[1]);
  std::thread completer([&] {
    std::this_thread::sleep_for(5ms);
    finish(futures[1], 1);
  });
  std::vector<int> order;
  for (const auto& future : mr::as_completed(futures, 10s)) order.push_back(future.result());
  completer.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1}));
}

TEST(AsCompleted, ThrowsTimeoutErrorAtTheDeadline) {
  std::vector<mr::Future<int>> futures{pending<int>(), pending<int>()};
  finish(futures[1], 1);
  std::vector<int> order;
  auto completed = mr::as_completed(futures, 30ms);
  auto it = completed.begin();
  order.push_back(it->result());
  EXPECT_THROW(++it, mr::TimeoutError);
  EXPECT_EQ(order, std::vector<int>{1});
}

}  // namespace
