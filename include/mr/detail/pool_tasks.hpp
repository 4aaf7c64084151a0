#pragma once
/// Typed encoding helpers shared by ProcessPool, Process and the executors: turning a call
/// (function + arguments) into a task name and payload, and chunks of calls into one task.

#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "mr/detail/pool_core.hpp"
#include "mr/task.hpp"

namespace mr::detail {

template <class F>
using params_tuple_t = typename function_traits<std::decay_t<F>>::args;
template <class F>
using stored_result_t = typename function_traits<std::decay_t<F>>::stored_result;

/// The registered name of task `fn`; UsageError if it is not registered.
template <class F>
const std::string& task_name(F fn) {
  return task_name_of(function_key(fn));
}

/// Encodes `args` converted to the parameter types in ParamsTuple (so 1 and 1L encode alike).
template <class ParamsTuple, class... Args>
void encode_call_args(Bytes& out, const Args&... args) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    Encoder encoder(out);
    (encoder.value(static_cast<const std::tuple_element_t<I, ParamsTuple>&>(args)), ...);
  }(std::index_sequence_for<Args...>{});
}

/// A length-prefixed item appended to a chunk payload by `encode_item(out)`.
template <class EncodeItem>
void append_chunk_item(Bytes& out, EncodeItem&& encode_item) {
  const std::size_t at = out.size();
  Encoder(out).u64(0);
  encode_item(out);
  const std::uint64_t length = out.size() - at - sizeof(std::uint64_t);
  std::memcpy(out.data() + at, &length, sizeof(length));
}

template <class R>
std::vector<R> decode_chunk_results(std::string_view bytes) {
  const auto items = decode_chunk(bytes);
  std::vector<R> out;
  out.reserve(items.size());
  for (std::string_view item : items) out.push_back(decode_value<R>(item));
  return out;
}

/// A blocking call's short answer usually arrives within tens of microseconds: poll for that
/// long (yielding the core) before falling back to a sleeping wait, which costs a futex
/// wake-up on the critical path.
template <class T>
void spin_until_done(const SharedState<T>& state, std::chrono::microseconds limit = std::chrono::microseconds(100)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!state.done() && std::chrono::steady_clock::now() < until) sched_yield();
}

/// Python's Pool.map chunksize heuristic: about four chunks per worker.
inline std::size_t default_chunksize(std::size_t items, int workers) {
  if (items == 0) return 1;
  const std::size_t per = static_cast<std::size_t>(workers) * 4;
  const std::size_t chunk = items / per;
  return chunk + (items % per != 0 ? 1 : 0);
}

/// A map's inputs cut into chunk tasks (TaskKind::chunk): each payload is a u64 call count
/// followed by that many append_chunk_item() calls.
struct Chunks {
  std::vector<Bytes> payloads;
  /// Index of each chunk's first input: where its results go.
  std::vector<std::size_t> offsets;
  /// Inputs in all chunks.
  std::size_t items = 0;
};

/// Cuts `inputs` into chunks of `chunksize` calls; `encode_item(out, input)` encodes one
/// call's arguments.
template <class Range, class EncodeItem>
Chunks make_chunks(const Range& inputs, std::size_t chunksize, EncodeItem&& encode_item) {
  Chunks chunks;
  Bytes current;
  std::uint64_t in_current = 0;
  auto close_chunk = [&] {
    std::memcpy(current.data(), &in_current, sizeof(in_current));
    chunks.payloads.push_back(std::move(current));
    current = Bytes();
    in_current = 0;
  };
  for (const auto& input : inputs) {
    if (in_current == 0) {
      Encoder(current).u64(0);
      chunks.offsets.push_back(chunks.items);
    }
    append_chunk_item(current, [&](Bytes& out) { encode_item(out, input); });
    ++chunks.items;
    if (++in_current == chunksize) close_chunk();
  }
  if (in_current != 0) close_chunk();
  return chunks;
}

/// Chunks of calls `fn(input)` (map, imap).
template <class F, class Range>
Chunks make_call_chunks(const Range& inputs, std::size_t chunksize) {
  return make_chunks(inputs, chunksize, [](Bytes& out, const auto& input) {
    encode_call_args<params_tuple_t<F>>(out, input);
  });
}

/// Chunks of calls `fn(args...)`, one per tuple of `inputs` (starmap).
template <class F, class Range>
Chunks make_star_chunks(const Range& inputs, std::size_t chunksize) {
  return make_chunks(inputs, chunksize, [](Bytes& out, const auto& input) {
    std::apply([&](const auto&... args) { encode_call_args<params_tuple_t<F>>(out, args...); }, input);
  });
}

/// Submits every chunk as one task `name`, under one lock; the chunk starting at input
/// `offset` completes through `make_completion(offset)`. The one path by which chunked maps
/// (ProcessPool's map/starmap/imap, ProcessPoolExecutor::map) reach the pool.
template <class MakeCompletion>
void submit_chunks(PoolCore& core, const std::string& name, Chunks chunks, MakeCompletion&& make_completion) {
  std::vector<PoolCore::Job> jobs;
  jobs.reserve(chunks.payloads.size());
  for (std::size_t i = 0; i < chunks.payloads.size(); ++i)
    jobs.push_back({TaskKind::chunk, name, std::move(chunks.payloads[i]), make_completion(chunks.offsets[i])});
  core.submit_many(std::move(jobs));
}

/// submit_chunks() with a result state of its own for each chunk, in input order.
template <class R>
std::vector<std::shared_ptr<SharedState<std::vector<R>>>> submit_chunk_states(PoolCore& core, const std::string& name,
                                                                              Chunks chunks) {
  std::vector<std::shared_ptr<SharedState<std::vector<R>>>> states;
  states.reserve(chunks.payloads.size());
  submit_chunks(core, name, std::move(chunks), [&](std::size_t) {
    auto [state, completion] = make_task_state<std::vector<R>>(&decode_chunk_results<R>);
    states.push_back(std::move(state));
    return std::move(completion);
  });
  return states;
}

/// Gathers chunk results into one vector, completing `state` when the last chunk arrives
/// (or failing it with the first error). All calls happen on the progress thread.
template <class R>
class MapGather {
 public:
  MapGather(std::shared_ptr<SharedState<std::vector<R>>> state, std::size_t items, std::size_t chunks)
      : state_(std::move(state)), values_(items), remaining_(chunks) {}

  class Chunk final : public Completion {
   public:
    Chunk(std::shared_ptr<MapGather> gather, std::size_t offset) : gather_(std::move(gather)), offset_(offset) {}
    bool start() override { return gather_->state_->set_running(); }
    Callbacks succeed(std::string_view result) override {
      try {
        auto values = decode_chunk_results<R>(result);
        std::move(values.begin(), values.end(), gather_->values_.begin() + static_cast<std::ptrdiff_t>(offset_));
      } catch (...) {
        return gather_->state_->set_exception(std::current_exception());
      }
      if (--gather_->remaining_ != 0) return {};
      return gather_->state_->set_value(std::move(gather_->values_));
    }
    Callbacks fail(std::exception_ptr error) override { return gather_->state_->set_exception(std::move(error)); }
    Callbacks cancel() override {
      return gather_->state_->set_exception(
          std::make_exception_ptr(CancelledError("the map was cancelled before all its chunks ran")));
    }

   private:
    std::shared_ptr<MapGather> gather_;
    std::size_t offset_;
  };

 private:
  std::shared_ptr<SharedState<std::vector<R>>> state_;
  std::vector<R> values_;
  std::size_t remaining_;
};

}  // namespace mr::detail
