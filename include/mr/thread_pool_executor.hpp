#pragma once
/// \file thread_pool_executor.hpp
/// mr::ThreadPoolExecutor — Python's concurrent.futures.ThreadPoolExecutor: runs any
/// callable on a fixed set of threads in this process.

#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <ranges>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "mr/executor.hpp"
#include "mr/future.hpp"

namespace mr {
namespace detail {

/// A queued call: run() executes it (unless cancelled meanwhile), cancel() drops it.
class ThreadJob {
 public:
  virtual ~ThreadJob() = default;
  virtual void run() = 0;
  virtual void cancel() = 0;
};

/// Stores the outcome of `call` in `state` and runs its done-callbacks on this thread.
template <class T, class Call>
void complete_state(SharedState<T>& state, Call&& call) {
  typename SharedState<T>::Callbacks callbacks;
  try {
    if constexpr (std::is_void_v<T>) {
      call();
      callbacks = state.set_value(std::monostate{});
    } else {
      callbacks = state.set_value(call());
    }
  } catch (...) {
    callbacks = state.set_exception(std::current_exception());
  }
  run_callbacks(callbacks);
}

template <class R, class F, class... Args>
class BoundThreadJob final : public ThreadJob {
 public:
  BoundThreadJob(std::shared_ptr<SharedState<R>> state, F function, std::tuple<Args...> args)
      : state_(std::move(state)), function_(std::move(function)), args_(std::move(args)) {}
  void run() override {
    if (!state_->set_running()) return;  // cancelled while queued
    complete_state(*state_, [this]() -> R { return std::apply(function_, std::move(args_)); });
  }
  void cancel() override {
    auto [cancelled, callbacks] = state_->cancel();
    run_callbacks(callbacks);
  }

 private:
  std::shared_ptr<SharedState<R>> state_;
  F function_;
  std::tuple<Args...> args_;
};

/// The non-template core of ThreadPoolExecutor: a job queue and its threads.
class ThreadWorkQueue {
 public:
  explicit ThreadWorkQueue(std::size_t threads);
  ~ThreadWorkQueue();
  ThreadWorkQueue(const ThreadWorkQueue&) = delete;
  ThreadWorkQueue& operator=(const ThreadWorkQueue&) = delete;

  /// Throws StateError after shutdown.
  void push(std::unique_ptr<ThreadJob> job);
  void shutdown(bool wait, bool cancel_pending);
  std::size_t threads() const noexcept { return thread_count_; }

 private:
  void serve();

  std::size_t thread_count_;
  std::mutex mutex_;
  std::condition_variable work_cv_;
  std::deque<std::unique_ptr<ThreadJob>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::vector<std::thread::id> thread_ids_;  // fixed after construction; join() resets get_id()
  std::mutex join_mutex_;
};

}  // namespace detail

/// Runs calls on `max_workers` threads of this process. Any callable may be submitted.
/// The destructor calls shutdown(true). Python: concurrent.futures.ThreadPoolExecutor.
class ThreadPoolExecutor {
 public:
  using is_mr_executor = void;

  /// `max_workers` threads (default: the number of hardware threads); must be at least 1.
  explicit ThreadPoolExecutor(std::size_t max_workers = default_max_workers());
  ~ThreadPoolExecutor();
  ThreadPoolExecutor(const ThreadPoolExecutor&) = delete;
  ThreadPoolExecutor& operator=(const ThreadPoolExecutor&) = delete;

  /// Schedules `task(args...)` (both decay-copied) and returns its future.
  /// Throws mr::StateError after shutdown().
  template <class Task, class... Args>
    requires std::invocable<std::decay_t<Task>, std::decay_t<Args>...>
  auto submit(Task&& task, Args&&... args) {
    using R = std::invoke_result_t<std::decay_t<Task>, std::decay_t<Args>...>;
    auto state = std::make_shared<detail::SharedState<R>>();
    queue_.push(std::make_unique<detail::BoundThreadJob<R, std::decay_t<Task>, std::decay_t<Args>...>>(
        state, std::forward<Task>(task), std::tuple<std::decay_t<Args>...>(std::forward<Args>(args)...)));
    return Future<R>(std::move(state));
  }

  /// `task(x)` for every x of `inputs`, results in input order (see mr::MapResults).
  /// `options.chunksize` is accepted and ignored, as in Python's ThreadPoolExecutor.
  template <class Task, std::ranges::input_range Inputs>
    requires std::invocable<std::decay_t<Task>&, std::ranges::range_reference_t<const Inputs&>>
  auto map(const Task& task, const Inputs& inputs, const MapOptions& options = {}) {
    detail::check_map_options(options);
    using R = std::invoke_result_t<std::decay_t<Task>&, std::ranges::range_reference_t<const Inputs&>>;
    static_assert(!std::is_void_v<R>, "Executor::map needs a task that returns a value");
    std::vector<Future<R>> futures;
    for (const auto& input : inputs) futures.push_back(submit(task, input));
    return MapResults<R>(std::move(futures), options.timeout);
  }

  /// Stops accepting work. cancel_futures cancels calls not yet started; wait blocks until
  /// the running and remaining queued calls are done. Safe to call more than once.
  void shutdown(bool wait = true, bool cancel_futures = false);

  std::size_t max_workers() const noexcept { return queue_.threads(); }

  static std::size_t default_max_workers();

 private:
  detail::ThreadWorkQueue queue_;
};

}  // namespace mr
