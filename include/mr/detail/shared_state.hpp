#pragma once
/// The one completion primitive behind AsyncResult (process pool) and Future (executors):
/// a value-or-exception slot with a Python-style state machine
/// (pending -> running -> finished, or pending -> cancelled), timed waits and done-callbacks.

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "mr/error.hpp"

namespace mr {

/// How long a wait may take; std::nullopt waits forever.
using Timeout = std::optional<std::chrono::duration<double>>;

namespace detail {

enum class FutureState { pending, running, finished, cancelled };

/// Storage type for T, with void mapped to std::monostate.
template <class T>
using stored_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class T>
class SharedState : public std::enable_shared_from_this<SharedState<T>> {
 public:
  using Callback = std::function<void()>;
  using Callbacks = std::vector<Callback>;

  /// pending -> running. False if the state was cancelled (the work must not run).
  bool set_running() {
    std::lock_guard lock(mutex_);
    if (state_ != FutureState::pending) return state_ == FutureState::running;
    state_ = FutureState::running;
    return true;
  }

  /// pending -> cancelled. Succeeds only while pending (as Python's Future.cancel()).
  /// Returns the callbacks the caller must run (outside any lock it holds).
  [[nodiscard]] std::pair<bool, Callbacks> cancel() {
    std::unique_lock lock(mutex_);
    if (state_ == FutureState::cancelled) return {true, {}};
    if (state_ != FutureState::pending) return {false, {}};
    state_ = FutureState::cancelled;
    error_ = std::make_exception_ptr(CancelledError("the task was cancelled before it ran"));
    return {true, finish(lock)};
  }

  /// Stores the result. Returns the done-callbacks for the caller to run where it sees
  /// fit (a progress thread hands them to another thread so a slow callback can't stall it).
  [[nodiscard]] Callbacks set_value(stored_t<T> value) {
    std::unique_lock lock(mutex_);
    if (is_done_locked()) return {};
    value_.emplace(std::move(value));
    state_ = FutureState::finished;
    return finish(lock);
  }

  [[nodiscard]] Callbacks set_exception(std::exception_ptr error) {
    std::unique_lock lock(mutex_);
    if (is_done_locked()) return {};
    error_ = std::move(error);
    state_ = FutureState::finished;
    return finish(lock);
  }

  /// Waits until finished or cancelled. Returns false if the timeout expired first.
  bool wait(const Timeout& timeout) const {
    std::unique_lock lock(mutex_);
    auto done = [this] { return is_done_locked(); };
    if (!timeout) {
      done_cv_.wait(lock, done);
      return true;
    }
    return done_cv_.wait_for(lock, *timeout, done);
  }

  /// The value, or rethrows the stored exception; TimeoutError if not ready in time.
  stored_t<T>& get(const Timeout& timeout) {
    if (!wait(timeout)) throw TimeoutError("result not ready within the timeout");
    std::lock_guard lock(mutex_);
    if (error_) std::rethrow_exception(error_);
    return *value_;
  }

  /// The stored exception (null on success); TimeoutError if not done in time.
  std::exception_ptr exception(const Timeout& timeout) const {
    if (!wait(timeout)) throw TimeoutError("result not ready within the timeout");
    std::lock_guard lock(mutex_);
    return error_;
  }

  FutureState state() const {
    std::lock_guard lock(mutex_);
    return state_;
  }
  bool done() const {
    std::lock_guard lock(mutex_);
    return is_done_locked();
  }

  /// Runs `callback` when done; immediately, on this thread, if already done.
  void add_done_callback(Callback callback) {
    {
      std::lock_guard lock(mutex_);
      if (!is_done_locked()) {
        callbacks_.push_back(std::move(callback));
        return;
      }
    }
    callback();
  }

 private:
  bool is_done_locked() const {
    return state_ == FutureState::finished || state_ == FutureState::cancelled;
  }

  Callbacks finish(std::unique_lock<std::mutex>& lock) {
    Callbacks callbacks = std::move(callbacks_);
    callbacks_.clear();
    lock.unlock();
    done_cv_.notify_all();
    return callbacks;
  }

  mutable std::mutex mutex_;
  mutable std::condition_variable done_cv_;
  FutureState state_ = FutureState::pending;
  std::optional<stored_t<T>> value_;
  std::exception_ptr error_;
  Callbacks callbacks_;
};

/// Runs a batch of done-callbacks. As in Python, an exception from a callback is reported
/// on stderr and ignored: a callback has no caller to hand it to.
inline void run_callbacks(std::vector<std::function<void()>>& callbacks) {
  for (auto& callback : callbacks) {
    try {
      callback();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mr: exception in a done-callback ignored: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "mr: exception of unknown type in a done-callback ignored\n");
    }
  }
}

}  // namespace detail
}  // namespace mr
