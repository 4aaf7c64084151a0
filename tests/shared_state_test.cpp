#include <gtest/gtest.h>

#include <thread>

#include "mr/detail/shared_state.hpp"

using mr::detail::FutureState;
using mr::detail::SharedState;

TEST(SharedState, ValueIsDeliveredAcrossThreads) {
  auto state = std::make_shared<SharedState<int>>();
  std::thread producer([&] {
    ASSERT_TRUE(state->set_running());
    auto callbacks = state->set_value(42);
    mr::detail::run_callbacks(callbacks);
  });
  EXPECT_EQ(state->get(std::nullopt), 42);
  producer.join();
  EXPECT_EQ(state->state(), FutureState::finished);
}

TEST(SharedState, TimeoutExpiresWhilePending) {
  SharedState<int> state;
  EXPECT_THROW(state.get(std::chrono::milliseconds(10)), mr::TimeoutError);
  EXPECT_FALSE(state.wait(std::chrono::milliseconds(1)));
}

TEST(SharedState, CancelSucceedsOnlyWhilePending) {
  SharedState<int> pending;
  EXPECT_TRUE(pending.cancel().first);
  EXPECT_THROW(pending.get(std::nullopt), mr::CancelledError);
  EXPECT_FALSE(pending.set_running());

  SharedState<int> running;
  ASSERT_TRUE(running.set_running());
  EXPECT_FALSE(running.cancel().first);
}

TEST(SharedState, ExceptionIsRethrownAndCallbacksRun) {
  SharedState<void> state;
  int calls = 0;
  state.add_done_callback([&] { ++calls; });
  auto callbacks = state.set_exception(std::make_exception_ptr(std::logic_error("boom")));
  EXPECT_EQ(calls, 0);
  mr::detail::run_callbacks(callbacks);
  EXPECT_EQ(calls, 1);
  EXPECT_THROW(state.get(std::nullopt), std::logic_error);
  state.add_done_callback([&] { ++calls; });  // already done: runs at once
  EXPECT_EQ(calls, 2);
}
