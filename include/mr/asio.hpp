#pragma once
/// \file asio.hpp
/// Executors in a Boost.Asio event loop with C++20 coroutines — Python's
/// `loop.run_in_executor` and `asyncio.gather`:
///
///     boost::asio::awaitable<long> job(mr::ProcessPoolExecutor& pool) {
///       auto [a, b] = co_await mr::gather(mr::run_in_executor(pool, count, 10L),
///                                         mr::run_in_executor(pool, count, 20L));
///       co_return a + b;
///     }
///
/// The loop thread never blocks: a submitted call's completion posts the waiting coroutine's
/// resumption to its executor. Works with Boost 1.74 (no asio::experimental needed).

// Boost 1.74's Asio coroutine headers use std::exchange without including <utility>.
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <tuple>
#include <type_traits>
#include <vector>

#include "mr/detail/shared_state.hpp"
#include "mr/executor.hpp"
#include "mr/future.hpp"

namespace mr {
namespace detail {

/// Suspends the calling coroutine until `state` is done and resumes it on its own executor
/// (posted, never inline on the thread that completed the state). The io_context counts the
/// wait as outstanding work, so run() does not return while a call is pending.
template <class T>
auto async_wait_done(std::shared_ptr<SharedState<T>> state) {
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void()>(
      [state](auto handler) {
        using Handler = decltype(handler);
        auto executor = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                            boost::asio::execution::outstanding_work.tracked);
        // Done-callbacks are std::function (copyable); the coroutine handler is move-only.
        auto shared_handler = std::make_shared<Handler>(std::move(handler));
        state->add_done_callback([executor, shared_handler] {
          boost::asio::post(executor, [shared_handler] { (*shared_handler)(); });
        });
      },
      boost::asio::use_awaitable);
}

/// Awaits a future that nobody else holds, moving its result out.
template <class T>
boost::asio::awaitable<T> await_owned(Future<T> future) {
  // A finished future is read at once, as asyncio's `await fut` does: no handler, callback or
  // post (in a flood of run_in_executor calls most results are in before they are awaited).
  if (!future.state()->done()) co_await async_wait_done(future.state());
  if constexpr (std::is_void_v<T>) {
    future.state()->get(std::nullopt);
  } else {
    co_return std::move(future.state()->get(std::nullopt));
  }
}

/// Completion bookkeeping shared by gather and the coroutines it spawns.
class GatherLatch {
 public:
  explicit GatherLatch(std::size_t count) : remaining_(count) {}
  void fail(std::exception_ptr error) {
    std::lock_guard lock(mutex_);
    if (!first_error_) first_error_ = std::move(error);
  }
  void finish_one() {
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    auto callbacks = done_->set_value(std::monostate{});
    run_callbacks(callbacks);
  }
  /// Rethrows the exception that happened first, if any.
  void rethrow_first() {
    std::lock_guard lock(mutex_);
    if (first_error_) std::rethrow_exception(first_error_);
  }
  const std::shared_ptr<SharedState<void>>& done() const { return done_; }

 private:
  std::atomic<std::size_t> remaining_;
  std::mutex mutex_;
  std::exception_ptr first_error_;
  std::shared_ptr<SharedState<void>> done_ = std::make_shared<SharedState<void>>();
};

template <class T>
boost::asio::awaitable<void> gather_one(boost::asio::awaitable<T> task, std::optional<stored_t<T>>& slot,
                                        std::shared_ptr<GatherLatch> latch) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(task);
      slot.emplace();
    } else {
      slot.emplace(co_await std::move(task));
    }
  } catch (...) {
    latch->fail(std::current_exception());
  }
  latch->finish_one();
}

template <class T>
struct is_awaitable : std::false_type {};
template <class T, class E>
struct is_awaitable<boost::asio::awaitable<T, E>> : std::true_type {};

}  // namespace detail

/// An awaitable (asio::awaitable<T>) — what mr::gather accepts.
template <class A>
concept Awaitable = detail::is_awaitable<std::remove_cvref_t<A>>::value;

/// Submits `task(args...)` to `executor` now and returns an awaitable of its result, which
/// rethrows the task's exception when awaited. Python: `loop.run_in_executor(executor, f, *args)`.
template <Executor E, class Task, class... Args>
auto run_in_executor(E& executor, Task&& task, Args&&... args) {
  return detail::await_owned(executor.submit(std::forward<Task>(task), std::forward<Args>(args)...));
}

/// An awaitable of a future's result (a copy: the future may be shared).
template <class T>
boost::asio::awaitable<T> as_awaitable(Future<T> future) {
  if (!future.state()->done()) co_await detail::async_wait_done(future.state());
  co_return future.result(std::nullopt);
}

/// Runs all awaitables concurrently on the current coroutine's executor and returns their
/// results in order (void results as std::monostate). If any throws, every other one still
/// runs to completion and then the first exception (in time) propagates. Python:
/// `asyncio.gather(*aws)`.
template <class T>
boost::asio::awaitable<std::vector<detail::stored_t<T>>> gather(std::vector<boost::asio::awaitable<T>> tasks) {
  std::vector<detail::stored_t<T>> results;
  if (tasks.empty()) co_return results;
  auto executor = co_await boost::asio::this_coro::executor;
  // The slots live in this coroutine's frame, which outlives every spawned task (we wait).
  std::vector<std::optional<detail::stored_t<T>>> slots(tasks.size());
  auto latch = std::make_shared<detail::GatherLatch>(tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i)
    boost::asio::co_spawn(executor, detail::gather_one(std::move(tasks[i]), slots[i], latch),
                          boost::asio::detached);
  co_await detail::async_wait_done(latch->done());
  latch->rethrow_first();
  results.reserve(slots.size());
  for (auto& slot : slots) results.push_back(std::move(*slot));
  co_return results;
}

/// Variadic form: `auto [a, b] = co_await mr::gather(aw1, aw2);` returns a tuple.
template <Awaitable... Tasks>
  requires(sizeof...(Tasks) > 0)
auto gather(Tasks... tasks)
    -> boost::asio::awaitable<std::tuple<detail::stored_t<typename Tasks::value_type>...>> {
  auto executor = co_await boost::asio::this_coro::executor;
  std::tuple<std::optional<detail::stored_t<typename Tasks::value_type>>...> slots;
  auto latch = std::make_shared<detail::GatherLatch>(sizeof...(Tasks));
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (boost::asio::co_spawn(executor, detail::gather_one(std::move(tasks), std::get<I>(slots), latch),
                           boost::asio::detached),
     ...);
  }(std::index_sequence_for<Tasks...>{});
  co_await detail::async_wait_done(latch->done());
  latch->rethrow_first();
  co_return std::apply([](auto&... slot) { return std::tuple(std::move(*slot)...); }, slots);
}

}  // namespace mr
