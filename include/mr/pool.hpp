#pragma once
/// \file pool.hpp
/// mr::ProcessPool: Python's multiprocessing.Pool on MPI_Comm_spawn (or, with
/// PoolLaunch::world, on ranks 1..N-1 of the running job).
///
///     long count(long n) { ... }
///     MR_TASK(count);
///
///     int main(int argc, char** argv) {
///       mr::Runtime runtime(argc, argv);       // workers serve tasks here and never return
///       mr::ProcessPool pool;                  // one worker per core
///       long a = pool.apply(count, 1000L);
///       auto r = pool.apply_async(count, 2000L);
///       std::vector<long> v = pool.map(count, std::vector<long>{1, 2, 3});
///       return r.get() == 2000 ? 0 : 1;
///     }
///
/// Differences from Python forced by C++: tasks are registered free functions (MR_TASK);
/// callbacks are passed with mr::with_callbacks(...) as the first argument of the *_async calls;
/// the destructor waits for queued work (close + join) unless the scope is left by an
/// exception, in which case it terminates the workers.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "mr/detail/pool_core.hpp"
#include "mr/detail/pool_tasks.hpp"
#include "mr/detail/shared_state.hpp"
#include "mr/error.hpp"
#include "mr/pool_launch.hpp"
#include "mr/task.hpp"

namespace mr {

/// The result of an *_async call. Python: multiprocessing.pool.AsyncResult.
template <class T>
class AsyncResult {
 public:
  using value_type = T;
  AsyncResult() = default;
  explicit AsyncResult(std::shared_ptr<detail::SharedState<T>> state) : state_(std::move(state)) {}

  /// The result (a copy), or rethrows the task's exception (mr::RemoteError for an exception
  /// raised in the worker, mr::BrokenPool if the worker died). TimeoutError if not ready in time.
  T get(const Timeout& timeout = std::nullopt) const {
    if constexpr (std::is_void_v<T>) {
      state().get(timeout);
    } else {
      return state().get(timeout);
    }
  }
  /// Waits until ready or the timeout expires (no exception either way).
  void wait(const Timeout& timeout = std::nullopt) const { state().wait(timeout); }
  bool ready() const { return state().done(); }
  /// Whether the task completed without an exception. StateError if not ready yet (as Python's
  /// ValueError).
  bool successful() const {
    if (!ready()) throw StateError("mr: successful() called on a result that is not ready");
    return state().exception(std::nullopt) == nullptr;
  }
  /// The shared completion state (for executors and tests).
  const std::shared_ptr<detail::SharedState<T>>& shared_state() const { return state_; }

 private:
  detail::SharedState<T>& state() const {
    if (!state_) throw StateError("mr: this AsyncResult is empty (default-constructed or moved from)");
    return *state_;
  }
  std::shared_ptr<detail::SharedState<T>> state_;
};

/// A callback that does nothing (the default error_callback).
struct NoCallback {
  template <class... A>
  void operator()(A&&...) const noexcept {}
};

/// Success and error callbacks for the *_async calls. Python: callback=..., error_callback=...
/// Both run on the pool's callback thread, never on the thread that talks to the workers.
template <class OnSuccess, class OnError = NoCallback>
struct ResultCallbacks {
  OnSuccess callback;
  OnError error_callback;
};

/// `pool.apply_async(mr::with_callbacks(on_value, on_error), task, args...)`: on_value receives
/// the result (nothing for void tasks), on_error a std::exception_ptr.
template <class OnSuccess, class OnError = NoCallback>
ResultCallbacks<OnSuccess, OnError> with_callbacks(OnSuccess callback, OnError error_callback = {}) {
  return {std::move(callback), std::move(error_callback)};
}

template <class T>
struct is_result_callbacks : std::false_type {};
template <class S, class E>
struct is_result_callbacks<ResultCallbacks<S, E>> : std::true_type {};

/// How workers on the parent's host exchange messages with it.
enum class PoolTransport {
  shared_memory,  ///< a channel in /dev/shm per worker (falls back to MPI if unavailable)
  mpi,            ///< MPI only (loopback TCP between a parent and its spawned workers)
};

/// Options of a ProcessPool.
struct PoolOptions {
  /// Worker count; 0: the default (cores, or the free slots of the MPI universe under mpirun).
  int processes = 0;
  /// How long spawning the workers may take before mr::BrokenPool.
  std::chrono::duration<double> start_timeout{30.0};
  PoolTransport transport = PoolTransport::shared_memory;
  /// Workers on another host send a heartbeat this often; one that stays silent for
  /// missed_heartbeats intervals counts as dead (mr::BrokenPool). Same-host workers are
  /// watched through their process ids instead.
  std::chrono::duration<double> heartbeat_interval{1.0};
  int missed_heartbeats = 10;
  /// Where the workers come from (mr::PoolLaunch): spawned processes, or ranks 1..N-1 of the
  /// running job. Unset: mr::Runtime's choice, else the environment variable
  /// MR_POOL_LAUNCH=spawn|world|automatic, else spawn.
  std::optional<PoolLaunch> launch{};
  /// Spawned workers: the hosts to start them on, as Open MPI's --host list ("node1",
  /// "node2:4" for 4 slots; MPI_Comm_spawn info key "host"), and/or a hostfile ("hostfile").
  /// Empty: the launcher places them on the free slots of its allocation (every node of a
  /// Slurm allocation or mpirun --host/--hostfile list, filled in order).
  std::vector<std::string> hosts{};
  std::string hostfile{};
};

/// Lazy, ordered (imap) or completion-ordered (imap_unordered) results of a chunked map.
/// Python: multiprocessing.pool.IMapIterator. Use next(timeout) or a range-for loop.
template <class R>
class IMapIterator {
 public:
  using Chunk = std::shared_ptr<detail::SharedState<std::vector<R>>>;

  IMapIterator(std::vector<Chunk> chunks, bool ordered) : shared_(std::make_shared<Shared>()) {
    shared_->chunks = std::move(chunks);
    shared_->ordered = ordered;
    if (!ordered) {
      for (std::size_t i = 0; i < shared_->chunks.size(); ++i) {
        shared_->chunks[i]->add_done_callback([weak = std::weak_ptr<Shared>(shared_), i] {
          if (auto shared = weak.lock()) {
            {
              std::lock_guard lock(shared->mutex);
              shared->done.push_back(i);
            }
            shared->cv.notify_one();
          }
        });
      }
    }
  }

  /// The next result; std::nullopt when all results were returned. Rethrows a task's
  /// exception (for the whole chunk it belonged to); TimeoutError if none arrives in time.
  std::optional<R> next(const Timeout& timeout = std::nullopt) {
    Shared& s = *shared_;
    while (s.position == s.current.size()) {
      if (s.next_chunk == s.chunks.size()) return std::nullopt;
      std::size_t index = s.next_chunk;
      if (!s.ordered) {
        std::unique_lock lock(s.mutex);
        auto available = [&] { return !s.done.empty(); };
        if (!timeout) {
          s.cv.wait(lock, available);
        } else if (!s.cv.wait_for(lock, *timeout, available)) {
          throw TimeoutError("mr: imap_unordered: no result within the timeout");
        }
        index = s.done.front();
        s.done.pop_front();
      }
      auto chunk = s.chunks[index];
      if (!chunk->wait(timeout)) throw TimeoutError("mr: imap: no result within the timeout");
      s.chunks[index].reset();
      ++s.next_chunk;
      s.current.clear();
      s.position = 0;
      s.current = std::move(chunk->get(std::nullopt));  // throws the chunk's error, once
    }
    return std::move(s.current[s.position++]);
  }

  class iterator {
   public:
    using value_type = R;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(IMapIterator* owner) : owner_(owner) { advance(); }
    const R& operator*() const { return *value_; }
    iterator& operator++() {
      advance();
      return *this;
    }
    void operator++(int) { advance(); }
    bool operator==(std::default_sentinel_t) const { return !value_.has_value(); }

   private:
    void advance() { value_ = owner_->next(); }
    IMapIterator* owner_ = nullptr;
    std::optional<R> value_;
  };
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() { return {}; }

 private:
  struct Shared {
    std::vector<Chunk> chunks;
    bool ordered = true;
    std::size_t next_chunk = 0;
    std::vector<R> current;
    std::size_t position = 0;
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<std::size_t> done;
  };
  std::shared_ptr<Shared> shared_;
};

/// A pool of worker processes started with MPI_Comm_spawn. Python: multiprocessing.Pool.
/// Any thread may submit; all MPI calls happen on the pool's own progress thread.
class ProcessPool {
 public:
  /// One worker per core (under mpirun: the free slots of the MPI universe, if any).
  ProcessPool() : ProcessPool(PoolOptions{}) {}
  explicit ProcessPool(int processes) : ProcessPool(PoolOptions{.processes = processes}) {}
  explicit ProcessPool(const PoolOptions& options) : core_(make_options(options)), exceptions_(std::uncaught_exceptions()) {}
  /// A pool on the core's own options (mr::CommExecutor: workers that are ranks of a communicator).
  explicit ProcessPool(detail::PoolCoreOptions options)
      : core_(std::move(options)), exceptions_(std::uncaught_exceptions()) {}
  /// With an initializer run once in every worker before any task (Python: initializer, initargs).
  template <class F, class... Args>
    requires TaskCallableWith<F, Args...>
  ProcessPool(const PoolOptions& options, F initializer, const Args&... initargs)
      : core_(make_options(options, initializer, initargs...)), exceptions_(std::uncaught_exceptions()) {}

  /// close() + join(); terminate() instead when destroyed by an exception unwinding the stack.
  ~ProcessPool() {
    try {
      if (std::uncaught_exceptions() > exceptions_) {
        core_.terminate();
      } else {
        core_.shutdown(true);
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mr: error while closing a process pool: %s\n", e.what());
    }
  }
  ProcessPool(const ProcessPool&) = delete;
  ProcessPool& operator=(const ProcessPool&) = delete;

  /// Calls `fn(args...)` in a worker and waits for the result.
  template <class F, class... Args>
    requires TaskCallableWith<F, Args...>
  task_result_t<F> apply(F fn, const Args&... args) {
    auto state = submit_call(fn, ResultCallbacks<NoCallback>{}, args...);
    detail::spin_until_done(*state);
    if constexpr (std::is_void_v<task_result_t<F>>) {
      state->get(std::nullopt);
    } else {
      return std::move(state->get(std::nullopt));
    }
  }

  /// Calls `fn(args...)` in a worker; returns at once.
  template <class F, class... Args>
    requires TaskCallableWith<F, Args...>
  AsyncResult<task_result_t<F>> apply_async(F fn, const Args&... args) {
    return AsyncResult<task_result_t<F>>(submit_call(fn, ResultCallbacks<NoCallback>{}, args...));
  }
  /// apply_async with callbacks: `pool.apply_async(mr::with_callbacks(ok, err), fn, args...)`.
  template <class S, class E, class F, class... Args>
    requires TaskCallableWith<F, Args...>
  AsyncResult<task_result_t<F>> apply_async(ResultCallbacks<S, E> callbacks, F fn, const Args&... args) {
    return AsyncResult<task_result_t<F>>(submit_call(fn, std::move(callbacks), args...));
  }

  /// `fn(x)` for every x of `inputs`, in order. chunksize 0: Python's heuristic (~4 chunks
  /// per worker). An exception in any call is rethrown (mr::RemoteError).
  template <class F, std::ranges::input_range Range>
    requires TaskCallableWith<F, std::ranges::range_value_t<Range>>
  std::vector<detail::stored_result_t<F>> map(F fn, const Range& inputs, std::size_t chunksize = 0) {
    return map_async(fn, inputs, chunksize).get();
  }
  template <class F, std::ranges::input_range Range, class S = NoCallback, class E = NoCallback>
    requires TaskCallableWith<F, std::ranges::range_value_t<Range>>
  AsyncResult<std::vector<detail::stored_result_t<F>>> map_async(F fn, const Range& inputs,
                                                                  std::size_t chunksize = 0,
                                                                  ResultCallbacks<S, E> callbacks = {}) {
    return gather_chunks(fn, detail::make_call_chunks<F>(inputs, chunksize_for(inputs, chunksize)),
                         std::move(callbacks));
  }

  /// `fn(args...)` for every tuple of `inputs`. Python: starmap.
  template <class F, std::ranges::input_range Range>
    requires Task<F>
  std::vector<detail::stored_result_t<F>> starmap(F fn, const Range& inputs, std::size_t chunksize = 0) {
    return starmap_async(fn, inputs, chunksize).get();
  }
  template <class F, std::ranges::input_range Range, class S = NoCallback, class E = NoCallback>
    requires Task<F>
  AsyncResult<std::vector<detail::stored_result_t<F>>> starmap_async(F fn, const Range& inputs,
                                                                      std::size_t chunksize = 0,
                                                                      ResultCallbacks<S, E> callbacks = {}) {
    return gather_chunks(fn, detail::make_star_chunks<F>(inputs, chunksize_for(inputs, chunksize)),
                         std::move(callbacks));
  }

  /// Lazy ordered results, one chunk of `chunksize` calls per task (Python's default 1).
  template <class F, std::ranges::input_range Range>
    requires TaskCallableWith<F, std::ranges::range_value_t<Range>>
  IMapIterator<detail::stored_result_t<F>> imap(F fn, const Range& inputs, std::size_t chunksize = 1) {
    return imap_chunks(fn, detail::make_call_chunks<F>(inputs, chunksize_for(inputs, chunksize)), true);
  }
  /// As imap, but results come in completion order (order within a chunk is kept).
  template <class F, std::ranges::input_range Range>
    requires TaskCallableWith<F, std::ranges::range_value_t<Range>>
  IMapIterator<detail::stored_result_t<F>> imap_unordered(F fn, const Range& inputs, std::size_t chunksize = 1) {
    return imap_chunks(fn, detail::make_call_chunks<F>(inputs, chunksize_for(inputs, chunksize)), false);
  }

  /// No more submissions; the workers exit once the queued work is done.
  void close() { core_.shutdown(false); }
  /// Kills the workers now; unfinished results fail with mr::BrokenPool.
  void terminate() { core_.terminate(); }
  /// Waits for the workers to exit; needs close() or terminate() first (StateError otherwise).
  void join() { core_.join(); }

  /// Number of worker processes.
  int processes() const { return core_.processes(); }
  /// Worker process ids (0 for workers on other hosts).
  std::vector<int> worker_pids() const { return core_.worker_pids(); }
  /// True once a worker died or the initializer failed: every later call throws mr::BrokenPool.
  bool broken() const { return core_.broken(); }

  /// The type-erased core (for executors).
  detail::PoolCore& core() { return core_; }

 private:
  static detail::PoolCoreOptions make_options(const PoolOptions& options) {
    detail::PoolCoreOptions core;
    core.processes = options.processes;
    core.start_timeout = options.start_timeout;
    if (options.transport == PoolTransport::mpi) core.shm_ring_bytes = 0;
    core.heartbeat_interval = options.heartbeat_interval;
    core.missed_heartbeats = options.missed_heartbeats;
    core.world = detail::resolve_pool_launch(options.launch) == PoolLaunch::world;
    core.hosts = options.hosts;
    core.hostfile = options.hostfile;
    return core;
  }
  template <class F, class... Args>
  static detail::PoolCoreOptions make_options(const PoolOptions& options, F initializer, const Args&... initargs) {
    detail::PoolCoreOptions core = make_options(options);
    core.initializer = detail::task_name(initializer);
    detail::encode_call_args<detail::params_tuple_t<F>>(core.initargs, initargs...);
    return core;
  }

  template <class R, class S, class E>
  static void attach(const std::shared_ptr<detail::SharedState<R>>& state, ResultCallbacks<S, E> callbacks) {
    if constexpr (std::is_same_v<S, NoCallback> && std::is_same_v<E, NoCallback>) {
      return;
    } else {
      std::weak_ptr<detail::SharedState<R>> weak = state;
      state->add_done_callback([weak, callbacks = std::move(callbacks)]() mutable {
        auto s = weak.lock();
        if (!s) return;
        if (auto error = s->exception(std::nullopt)) {
          callbacks.error_callback(error);
        } else if constexpr (std::is_void_v<R>) {
          callbacks.callback();
        } else {
          callbacks.callback(s->get(std::nullopt));
        }
      });
    }
  }

  template <class F, class S, class E, class... Args>
  std::shared_ptr<detail::SharedState<task_result_t<F>>> submit_call(F fn, ResultCallbacks<S, E> callbacks,
                                                                     const Args&... args) {
    const std::string& name = detail::task_name(fn);
    detail::Bytes payload;
    detail::encode_call_args<detail::params_tuple_t<F>>(payload, args...);
    auto [state, completion] = detail::make_task_state<task_result_t<F>>();
    attach(state, std::move(callbacks));
    core_.submit(detail::TaskKind::call, name, std::move(payload), std::move(completion));
    return state;
  }

  /// chunksize 0: Python's heuristic for this many inputs and workers.
  template <class Range>
  std::size_t chunksize_for(const Range& inputs, std::size_t chunksize) const {
    if (chunksize != 0) return chunksize;
    std::size_t items = 0;
    if constexpr (std::ranges::sized_range<Range>) {
      items = std::ranges::size(inputs);
    } else {
      items = static_cast<std::size_t>(std::ranges::distance(inputs));
    }
    return detail::default_chunksize(items, processes());
  }

  /// One state for the whole map, completed when its last chunk arrives.
  template <class F, class S, class E>
  AsyncResult<std::vector<detail::stored_result_t<F>>> gather_chunks(F fn, detail::Chunks chunks,
                                                                     ResultCallbacks<S, E> callbacks) {
    using R = detail::stored_result_t<F>;
    const std::string& name = detail::task_name(fn);
    auto state = std::make_shared<detail::SharedState<std::vector<R>>>();
    attach(state, std::move(callbacks));
    if (chunks.payloads.empty()) {
      detail::Callbacks done = state->set_value({});
      detail::run_callbacks(done);
      return AsyncResult<std::vector<R>>(state);
    }
    auto gather = std::make_shared<detail::MapGather<R>>(state, chunks.items, chunks.payloads.size());
    detail::submit_chunks(core_, name, std::move(chunks), [&](std::size_t offset) {
      return std::make_shared<typename detail::MapGather<R>::Chunk>(gather, offset);
    });
    return AsyncResult<std::vector<R>>(state);
  }

  /// One state per chunk, for the imap iterators.
  template <class F>
  IMapIterator<detail::stored_result_t<F>> imap_chunks(F fn, detail::Chunks chunks, bool ordered) {
    return IMapIterator<detail::stored_result_t<F>>(
        detail::submit_chunk_states<detail::stored_result_t<F>>(core_, detail::task_name(fn), std::move(chunks)), ordered);
  }

  detail::PoolCore core_;
  int exceptions_;
};

}  // namespace mr
