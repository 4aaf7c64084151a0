#pragma once
/// \file executor.hpp
/// The interface every mr executor shares (Python's concurrent.futures.Executor):
///
///     mr::Future<R> submit(task, args...);
///     mr::MapResults<R> map(task, inputs, {.chunksize = 1, .timeout = std::nullopt});
///     void shutdown(bool wait = true, bool cancel_futures = false);
///     ~Executor() -> shutdown(true)
///
/// mr::ThreadPoolExecutor and mr::ProcessPoolExecutor both implement it, so switching is a
/// one-line change. `submit` is a member template in each (a process pool takes registered
/// tasks, a thread pool any callable), so the common type is the concept mr::Executor rather
/// than a virtual base.

#include <concepts>
#include <cstddef>
#include <iterator>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "mr/future.hpp"

namespace mr {

/// Options of Executor::map. Python: Executor.map(fn, *iterables, timeout, chunksize).
struct MapOptions {
  /// Inputs sent to a worker per message (process pools; thread pools ignore it, as Python's).
  std::size_t chunksize = 1;
  /// Limit on the whole map, measured from the call: a result not ready by then throws
  /// mr::TimeoutError when the iteration reaches it.
  Timeout timeout = std::nullopt;
};

/// The results of Executor::map, in input order, fetched lazily as the iteration reaches
/// them; a task's exception is rethrown when the iteration reaches its result. All tasks are
/// submitted when map() returns.
template <class R>
class MapResults {
 public:
  using Chunk = std::vector<R>;

  /// One future per input.
  MapResults(std::vector<Future<R>> items, const Timeout& timeout)
      : futures_(std::move(items)),
        size_(std::get<0>(futures_).size()),
        deadline_(detail::deadline_after(timeout)) {}

  /// One future per chunk of `chunksize` consecutive inputs (the last may be shorter).
  MapResults(std::vector<Future<Chunk>> chunks, std::size_t size, std::size_t chunksize,
             const Timeout& timeout)
      : futures_(std::move(chunks)),
        size_(size),
        chunksize_(chunksize),
        deadline_(detail::deadline_after(timeout)) {}

  MapResults(MapResults&&) noexcept = default;
  MapResults& operator=(MapResults&&) noexcept = default;

  std::size_t size() const noexcept { return size_; }

  class iterator {
   public:
    using value_type = R;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(MapResults* owner) : owner_(owner) { fetch(); }
    R& operator*() const { return *current_; }
    R* operator->() const { return &*current_; }
    iterator& operator++() {
      ++index_;
      fetch();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const {
      return owner_ == nullptr || index_ >= owner_->size_;
    }

   private:
    void fetch() {
      if (owner_ && index_ < owner_->size_) current_.emplace(owner_->take(index_));
    }
    MapResults* owner_ = nullptr;
    std::size_t index_ = 0;
    mutable std::optional<R> current_;
  };

  /// Iterate once: values are moved out to the iterator as it reaches them.
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() const { return {}; }

  /// Waits for every result and returns them in input order.
  std::vector<R> to_vector() {
    std::vector<R> values;
    values.reserve(size_);
    for (auto it = begin(); it != end(); ++it) values.push_back(std::move(*it));
    return values;
  }

 private:
  R take(std::size_t index) {
    const Timeout left = detail::remaining(deadline_);
    if (auto* items = std::get_if<0>(&futures_)) return std::move((*items)[index].state()->get(left));
    // The futures are private to this object, so moving a result out of them is safe.
    auto& chunks = std::get<1>(futures_);
    auto& chunk = chunks[index / chunksize_].state()->get(left);
    return std::move(chunk.at(index % chunksize_));
  }

  std::variant<std::vector<Future<R>>, std::vector<Future<Chunk>>> futures_;
  std::size_t size_ = 0;
  std::size_t chunksize_ = 1;
  std::optional<detail::Clock::time_point> deadline_;
};

namespace detail {

inline void check_map_options(const MapOptions& options) {
  if (options.chunksize == 0)
    throw UsageError("Executor::map: chunksize must be at least 1 (got 0)");
}

}  // namespace detail

/// Anything that behaves as an mr executor: submit returns an mr::Future, shutdown(wait,
/// cancel_futures) stops it. Checked by mr::run_in_executor for a readable error.
template <class E>
concept Executor = requires(E& executor) {
  executor.shutdown(true, false);
  { executor.max_workers() } -> std::convertible_to<std::size_t>;
} && requires { typename E::is_mr_executor; };

}  // namespace mr
