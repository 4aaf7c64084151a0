#pragma once
/// \file future.hpp
/// mr::Future<T> — Python's concurrent.futures.Future — and the free functions that wait on
/// several futures: mr::wait (FIRST_COMPLETED / FIRST_EXCEPTION / ALL_COMPLETED) and
/// mr::as_completed (futures in the order they finish).

#include <algorithm>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "mr/detail/shared_state.hpp"
#include "mr/error.hpp"

namespace mr {

/// The eventual result of a call submitted to an executor. Copies share one result.
/// Python: concurrent.futures.Future.
template <class T>
class Future {
 public:
  using value_type = T;
  using State = detail::SharedState<T>;

  /// A future with no state; only valid() may be called on it.
  Future() = default;
  explicit Future(std::shared_ptr<State> state) : state_(std::move(state)) {}

  /// True if this future refers to a result (a default-constructed one does not).
  bool valid() const noexcept { return state_ != nullptr; }

  /// The call's return value, waiting up to `timeout`. Rethrows the call's exception
  /// (mr::RemoteError for a task that failed in another process, mr::BrokenPool when its
  /// worker died); mr::CancelledError if cancelled; mr::TimeoutError if not done in time.
  T result(const Timeout& timeout = std::nullopt) const {
    if constexpr (std::is_void_v<T>) {
      checked().get(timeout);
    } else {
      return checked().get(timeout);
    }
  }

  /// The call's exception (null if it returned normally), waiting up to `timeout`.
  /// mr::CancelledError is thrown, not returned, for a cancelled future (as in Python).
  std::exception_ptr exception(const Timeout& timeout = std::nullopt) const {
    auto error = checked().exception(timeout);
    if (cancelled()) std::rethrow_exception(error);
    return error;
  }

  /// Waits until done (finished or cancelled); false if `timeout` expired first.
  bool wait(const Timeout& timeout = std::nullopt) const { return checked().wait(timeout); }

  /// Attempts to cancel the call. Succeeds only while it is still pending (not yet running).
  bool cancel() const {
    auto [cancelled, callbacks] = checked().cancel();
    detail::run_callbacks(callbacks);
    return cancelled;
  }

  bool cancelled() const { return checked().state() == detail::FutureState::cancelled; }
  bool running() const { return checked().state() == detail::FutureState::running; }
  /// True once the call finished (normally or with an exception) or was cancelled.
  bool done() const { return checked().done(); }

  /// Calls `callback(future)` when the future is done — at once, on this thread, if it
  /// already is; otherwise on the thread that completes it. Exceptions from the callback are
  /// reported on stderr and ignored, as in Python.
  template <std::invocable<const Future<T>&> Callback>
  void add_done_callback(Callback callback) const {
    // A weak reference: the callback is stored in the state, and a strong one would keep a
    // never-completed state alive forever. Whoever completes the state holds it meanwhile.
    checked().add_done_callback([weak = std::weak_ptr<State>(state_), callback = std::move(callback)]() mutable {
      if (auto state = weak.lock()) callback(Future(std::move(state)));
    });
  }

  /// The shared completion state (for executors and the event-loop adapters).
  const std::shared_ptr<State>& state() const noexcept { return state_; }

  friend bool operator==(const Future& a, const Future& b) { return a.state_ == b.state_; }

 private:
  State& checked() const {
    if (!state_) throw UsageError("mr::Future has no state: use a future returned by submit()");
    return *state_;
  }

  std::shared_ptr<State> state_;
};

/// When mr::wait returns. Python: FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED.
enum class ReturnWhen { first_completed, first_exception, all_completed };

/// The two sets mr::wait returns (in input order within each set).
template <class T>
struct WaitResult {
  std::vector<Future<T>> done;
  std::vector<Future<T>> not_done;
};

namespace detail {

/// Counts completions for mr::wait; shared with the done-callbacks it registers, so it
/// outlives a wait that returned early.
struct WaitCounter {
  std::mutex mutex;
  std::condition_variable cv;
  std::size_t completed = 0;
  bool failed = false;
};

/// Completion-order queue for mr::as_completed.
struct CompletionQueue {
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::size_t> ready;
};

using Clock = std::chrono::steady_clock;

inline std::optional<Clock::time_point> deadline_after(const Timeout& timeout) {
  if (!timeout) return std::nullopt;
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(*timeout);
}

/// Time left until `deadline` (never negative), or nullopt for no deadline.
inline Timeout remaining(const std::optional<Clock::time_point>& deadline) {
  if (!deadline) return std::nullopt;
  const auto left = *deadline - Clock::now();
  return std::chrono::duration<double>(std::max(left, Clock::duration::zero()));
}

}  // namespace detail

/// Waits for the futures to complete as `return_when` says, or until `timeout` expires
/// (no exception on timeout: inspect not_done). Python: concurrent.futures.wait.
template <std::ranges::input_range Futures>
auto wait(const Futures& futures, ReturnWhen return_when = ReturnWhen::all_completed,
          const Timeout& timeout = std::nullopt) {
  using F = std::ranges::range_value_t<Futures>;
  using T = typename F::value_type;
  auto counter = std::make_shared<detail::WaitCounter>();
  std::size_t total = 0;
  for (const F& future : futures) {
    ++total;
    // The state runs this callback itself, so a plain pointer to it is valid there (a
    // shared_ptr stored in the state's own callbacks would never be freed if it never completes).
    future.state()->add_done_callback([counter, state = future.state().get()] {
      const bool failed = state->state() == detail::FutureState::finished &&
                          state->exception(std::chrono::seconds(0)) != nullptr;
      {
        std::lock_guard lock(counter->mutex);
        ++counter->completed;
        counter->failed = counter->failed || failed;
      }
      counter->cv.notify_all();
    });
  }
  auto satisfied = [&] {
    if (counter->completed == total) return true;
    switch (return_when) {
      case ReturnWhen::first_completed: return counter->completed > 0;
      case ReturnWhen::first_exception: return counter->failed;
      case ReturnWhen::all_completed: return false;
    }
    return false;
  };
  {
    std::unique_lock lock(counter->mutex);
    if (timeout) {
      counter->cv.wait_for(lock, *timeout, satisfied);
    } else {
      counter->cv.wait(lock, satisfied);
    }
  }
  WaitResult<T> result;
  for (const F& future : futures) (future.done() ? result.done : result.not_done).push_back(future);
  return result;
}

/// Yields the futures as they complete (already-done ones first). Iterating past the
/// deadline throws mr::TimeoutError, as Python's concurrent.futures.as_completed. A future
/// given more than once (copies share one result) is yielded once: Python takes a set.
template <class T>
class AsCompleted {
 public:
  AsCompleted(std::vector<Future<T>> futures, const Timeout& timeout)
      : futures_(distinct(std::move(futures))),
        queue_(std::make_shared<detail::CompletionQueue>()),
        deadline_(detail::deadline_after(timeout)) {
    for (std::size_t i = 0; i < futures_.size(); ++i) {
      futures_[i].state()->add_done_callback([queue = queue_, i] {
        {
          std::lock_guard lock(queue->mutex);
          queue->ready.push_back(i);
        }
        queue->cv.notify_all();
      });
    }
  }

  class iterator {
   public:
    using value_type = Future<T>;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(AsCompleted* owner) : owner_(owner) { advance(); }
    const Future<T>& operator*() const { return current_; }
    const Future<T>* operator->() const { return &current_; }
    iterator& operator++() {
      advance();
      return *this;
    }
    void operator++(int) { advance(); }
    bool operator==(std::default_sentinel_t) const { return owner_ == nullptr; }

   private:
    void advance() {
      if (owner_->yielded_ == owner_->futures_.size()) {
        owner_ = nullptr;
        return;
      }
      current_ = owner_->futures_[owner_->next_index()];
    }
    AsCompleted* owner_ = nullptr;
    Future<T> current_;
  };

  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() const { return {}; }

 private:
  /// The futures without repeats (same shared state), first occurrence kept.
  static std::vector<Future<T>> distinct(std::vector<Future<T>> futures) {
    std::unordered_set<const void*> seen(futures.size());
    std::erase_if(futures, [&](const Future<T>& future) { return !seen.insert(future.state().get()).second; });
    return futures;
  }

  std::size_t next_index() {
    auto& queue = *queue_;
    std::unique_lock lock(queue.mutex);
    auto ready = [&] { return !queue.ready.empty(); };
    if (!deadline_) {
      queue.cv.wait(lock, ready);
    } else if (!queue.cv.wait_until(lock, *deadline_, ready)) {
      throw TimeoutError(std::to_string(futures_.size() - yielded_) + " (of " +
                         std::to_string(futures_.size()) + ") futures unfinished at the deadline");
    }
    const std::size_t index = queue.ready.front();
    queue.ready.pop_front();
    ++yielded_;
    return index;
  }

  std::vector<Future<T>> futures_;
  std::shared_ptr<detail::CompletionQueue> queue_;
  std::optional<detail::Clock::time_point> deadline_;
  std::size_t yielded_ = 0;
};

/// Iterate with `for (auto& f : mr::as_completed(futures, timeout))`.
template <std::ranges::input_range Futures>
auto as_completed(const Futures& futures, const Timeout& timeout = std::nullopt) {
  using F = std::ranges::range_value_t<Futures>;
  return AsCompleted<typename F::value_type>(std::vector<F>(std::ranges::begin(futures),
                                                            std::ranges::end(futures)),
                                             timeout);
}

}  // namespace mr
