#pragma once
/// \file process.hpp
/// mr::Process: Python's multiprocessing.Process for one registered task.
///
///     mr::Process p(count, 100'000'000L);
///     p.start();
///     p.join();
///     long n = p.result();           // or rethrows the task's exception
///
/// The process is an MPI_Comm_spawn'ed copy of this program serving exactly one task.

#include <csignal>
#include <memory>
#include <optional>
#include <string>

#include "mr/detail/pool_core.hpp"
#include "mr/detail/pool_tasks.hpp"
#include "mr/error.hpp"
#include "mr/task.hpp"

namespace mr {

template <class R>
class Process {
 public:
  /// Prepares `fn(args...)`; nothing runs until start(). UsageError if fn is not registered.
  template <class F, class... Args>
    requires TaskCallableWith<F, Args...> && std::is_same_v<task_result_t<F>, R>
  explicit Process(F fn, const Args&... args) : name_(detail::task_name(fn)) {
    detail::encode_call_args<detail::params_tuple_t<F>>(payload_, args...);
  }
  /// Joins (waits for the task) if started and not joined.
  ~Process() {
    try {
      if (core_) join();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mr: error while joining a process: %s\n", e.what());
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  /// Spawns the process and starts the task. StateError if called twice.
  void start() {
    if (started_) throw StateError("mr: a process can be started only once");
    started_ = true;
    detail::PoolCoreOptions options;
    options.processes = 1;
    core_ = std::make_unique<detail::PoolCore>(options);
    auto [state, completion] = detail::make_task_state<R>();
    state_ = state;
    core_->submit(detail::TaskKind::call, name_, std::move(payload_), std::move(completion));
    core_->shutdown(false);  // the worker exits after this one task
  }

  /// Waits for the task to finish (at most `timeout`); afterwards is_alive() tells which.
  void join(const Timeout& timeout = std::nullopt) {
    if (!started_) throw StateError("mr: join() on a process that was not started");
    if (!state_->wait(timeout)) return;
    if (core_) core_->join();
  }

  /// Started and not yet finished.
  bool is_alive() const { return started_ && !terminated_ && !state_->done(); }

  /// nullopt while not started or running; 0 after success; 1 if the task threw; -SIGKILL after
  /// terminate(); -1 if the process died by itself (the signal or status is not known here).
  std::optional<int> exitcode() const {
    if (terminated_) return -SIGKILL;
    if (!started_ || !state_->done()) return std::nullopt;
    const std::exception_ptr error = state_->exception(std::nullopt);
    if (!error) return 0;
    try {
      std::rethrow_exception(error);
    } catch (const BrokenPool&) {
      return -1;
    } catch (...) {
      return 1;
    }
  }

  /// Kills the process (SIGKILL). Python sends SIGTERM; SIGKILL cannot be caught and leaves no
  /// half-finished MPI state behind.
  void terminate() {
    if (!core_ || state_->done()) return;
    terminated_ = true;
    core_->terminate();
  }

  /// Process id (0 if not started or on another host).
  int pid() const { return core_ ? core_->worker_pids().at(0) : 0; }

  /// The task's return value (waits for it); rethrows its exception (mr::RemoteError), or
  /// mr::BrokenPool if the process died.
  R result(const Timeout& timeout = std::nullopt) const {
    if (!started_) throw StateError("mr: result() on a process that was not started");
    if constexpr (std::is_void_v<R>) {
      state_->get(timeout);
    } else {
      return state_->get(timeout);
    }
  }
  /// The task's exception (null after success); waits for the task.
  std::exception_ptr exception(const Timeout& timeout = std::nullopt) const {
    if (!started_) throw StateError("mr: exception() on a process that was not started");
    return state_->exception(timeout);
  }

 private:
  std::string name_;
  detail::Bytes payload_;
  std::unique_ptr<detail::PoolCore> core_;
  std::shared_ptr<detail::SharedState<R>> state_;
  bool started_ = false;
  bool terminated_ = false;
};

template <class F, class... Args>
Process(F, const Args&...) -> Process<task_result_t<F>>;

}  // namespace mr
