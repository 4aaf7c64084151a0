#pragma once
/// \file pool_mapreduce.hpp
/// The same mr::Job on a process pool: the parent plans byte ranges of the inputs (the
/// partitioner of the MPI engine), each map task maps one range in a worker into the table
/// that worker keeps for the run (the in-mapper combiner). Workers also inflate the `.gz`
/// inputs themselves, one task per file; only stdin goes through the parent. Then either
///  - map_reduce() returns the result as a std::map in the caller: one drain task per worker
///    hands its table over and the tables are merged as a tree inside the pool; or
///  - map_reduce_on_workers() leaves it on the workers, distributed as on MPI ranks: one
///    collective task per worker shuffles the keys to their owners over the workers' own
///    communicator, then runs a tail function (MR_JOB_TAIL) on every worker with its share,
///    an mr::Distributed - write the sorted file, take the top K, look keys up - and what
///    worker 0's tail returns comes back. The caller never holds the table.
///
///     const auto word_lengths = mr::make_job<int, long>("word_lengths", length_map, std::plus<>{});
///     MR_JOB(word_lengths);                       // namespace scope, like MR_TASK
///
///     mr::ProcessPoolExecutor executor(4);
///     auto counts = mr::map_reduce(executor, inputs, word_lengths);   // std::map in the parent
///     auto same = mr::map_reduce(mr::Workers{4}, inputs, word_lengths);  // a pool of its own
///
///     std::string save(MPI_Comm workers, mr::Distributed<int, long, std::plus<>>& result,
///                      std::string path) {
///       result.write(path);                       // every worker writes its slice
///       return std::to_string(result.size());     // collective: every worker calls it
///     }
///     MR_JOB_TAIL(word_lengths, save);
///     std::string keys = mr::map_reduce_on_workers(executor, inputs, word_lengths, &save, "out.tsv");
///
/// Workers run the same executable, so MR_JOB registers the job's tasks in every process;
/// the job's name identifies it.

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mr/detail/registry.hpp"
#include "mr/mapreduce.hpp"
#include "mr/process_pool_executor.hpp"

/// Registers `job` (an mr::Job object at namespace scope) so pool workers can run it.
#define MR_JOB(job)                                                                          \
  [[maybe_unused]] static const bool MR_DETAIL_CONCAT(mr_job_registered_, __COUNTER__) = \
      ::mr::detail::register_job(job)

/// Registers `tail` (a free function, see mr::PoolTail) for map_reduce_on_workers(..., job,
/// &tail, ...), at namespace scope after MR_JOB(job).
#define MR_JOB_TAIL(job, tail)                                                                \
  [[maybe_unused]] static const bool MR_DETAIL_CONCAT(mr_job_tail_registered_, __COUNTER__) = \
      ::mr::detail::register_tail(job, #tail, &tail)

namespace mr {

/// A pool that map_reduce starts for the call (and shuts down after it).
struct Workers {
  std::size_t count = 0;
};

/// The end of a job on a pool's workers, run by every worker at once (collective over
/// `workers`, the communicator of all the pool's workers, worker 0 first): `result` holds the
/// keys this worker owns, like map_reduce_distributed() on MPI ranks, and its collective
/// calls (write, top, lookup, size) work the same. `request` is the caller's argument. What
/// worker 0 returns goes back to the caller; the other workers' return values are dropped.
/// A tail must fail on every worker or on none (as any collective code: mr::Distributed's
/// calls do), or the others wait.
template <class J>
using PoolTail = std::string (*)(MPI_Comm workers, detail::distributed_of<J>& result, std::string request);

namespace detail {

/// In a task running on a pool worker: the communicator of all the pool's workers, ranked
/// as the pool numbers them (collective the first time each worker calls it; kept while the
/// worker serves this pool). UsageError elsewhere.
MPI_Comm pool_workers_comm();

/// Identifies one run on a pool, so two runs never share a worker's table.
using PoolRunId = std::uint64_t;

/// A map function with options that travel to pool workers with each task: state() as
/// text in the parent, configure(text) on the worker's copy of the registered job's map.
template <class Map>
concept ConfigurableMap = requires(const Map& map, Map& copy, std::string_view text) {
  { map.state() } -> std::convertible_to<std::string>;
  copy.configure(text);
};

/// The six tasks of a job on a pool, as registered function pointers.
struct PoolJobTasks {
  std::string job;
  std::string map_state;  ///< the map function's options (ConfigurableMap), else empty
  MapReduceStats (*map_range)(std::string job, PoolRunId run, std::string state, std::string path,
                              std::uint64_t begin, std::uint64_t end);
  MapReduceStats (*map_stream)(std::string job, PoolRunId run, std::string state, std::string path);
  MapReduceStats (*map_data)(std::string job, PoolRunId run, std::string state, std::string name,
                             std::uint64_t line_base, std::string head, std::string lines);
  Bytes (*drain)(std::string job, PoolRunId run);
  Bytes (*merge)(std::string job, Bytes tables);
  Bytes (*finish)(std::string job, PoolRunId run, std::string tail, std::string request);
};

/// A registered tail (MR_JOB_TAIL) by name, and its argument.
struct PoolTailCall {
  std::string tail;
  std::string request;
};

/// Without a tail: the merge tree's root tables (at most two, in the shuffle format). With
/// one: worker 0's tail result. And the parent's totals.
struct PoolJobOutput {
  std::vector<Bytes> tables;
  Bytes tail_result;
  MapReduceStats stats;
};

/// Runs a registered job's tasks over `inputs` (the parent's side; in the library), then
/// drains the workers' tables into the merge tree, or with `tail` runs the job's finish task
/// on every worker. `executor` is called once stdin, if it is an input, has been read: Open
/// MPI forwards the spawner's stdin to a spawned worker, so a pool the call starts must
/// start after that.
PoolJobOutput run_pool_job(const std::function<ProcessPoolExecutor&()>& executor, const PoolJobTasks& tasks,
                           const std::vector<std::string>& inputs, const MapReduceOptions& options,
                           const PoolTailCall* tail = nullptr);

/// The job's tasks, run in workers. A worker keeps one table per run of the job.
template <class J>
struct JobTasks {
  using Table = table_of<J>;
  using Tail = PoolTail<J>;

  /// MR_JOB_TAIL's registrations: names and functions, in both directions.
  static std::vector<std::pair<std::string, Tail>>& tails() {
    static std::vector<std::pair<std::string, Tail>> registered;
    return registered;
  }

  static std::unordered_map<std::string, const J*>& jobs() {
    static std::unordered_map<std::string, const J*> registered;
    return registered;
  }
  static const J& job(const std::string& name) {
    const auto found = jobs().find(name);
    if (found == jobs().end())
      throw UsageError("mr::map_reduce: no job named '" + name + "' is registered in this process (MR_JOB)");
    return *found->second;
  }

  static MapReduceStats map_range(std::string name, PoolRunId run, std::string state, std::string path,
                                  std::uint64_t begin, std::uint64_t end) {
    return map_into(name, run, state, [&](auto& map, auto& emit, MapReduceStats& stats) {
      timed_read(stats, [&] {
        for_each_block_in_range(path, begin, end, [&](std::string_view lines, const BlockOrigin& origin) {
          map_block(lines, origin, map, emit, stats);
        });
      });
    });
  }
  /// A whole compressed file, inflated by the worker as a stream.
  static MapReduceStats map_stream(std::string name, PoolRunId run, std::string state, std::string path) {
    return map_into(name, run, state, [&](auto& map, auto& emit, MapReduceStats& stats) {
      timed_read(stats, [&] {
        for_each_stream_block(path, [&](std::string_view lines, const BlockOrigin& origin) {
          map_block(lines, origin, map, emit, stats);
        });
      });
    });
  }
  /// A block of a stream the parent read; `head` is the stream's first line.
  static MapReduceStats map_data(std::string name, PoolRunId run, std::string state, std::string input,
                                 std::uint64_t line_base, std::string head, std::string lines) {
    return map_into(name, run, state, [&](auto& map, auto& emit, MapReduceStats& stats) {
      map_block(lines, BlockOrigin{input, lines.data(), line_base, head}, map, emit, stats);
    });
  }
  static Bytes drain(std::string name, PoolRunId run) {
    job(name);
    std::lock_guard lock(mutex());
    auto found = runs().find(run);
    if (found == runs().end()) return {};
    Bytes out = serialize_table(found->second.table);
    runs().erase(found);
    return out;
  }
  /// Run on every worker at once: this worker's table of the run goes to the keys' owners
  /// (the MPI engine's shuffle, over the workers' communicator), then the tail gets the
  /// worker's share.
  static Bytes finish(std::string name, PoolRunId run, std::string tail, std::string request) {
    const J& j = job(name);
    Tail tail_function = nullptr;
    for (const auto& [registered, function] : tails())
      if (registered == tail) tail_function = function;
    if (tail_function == nullptr)
      throw UsageError("mr::map_reduce_on_workers: no tail named '" + tail + "' is registered for job '" + name +
                       "' in this process (MR_JOB_TAIL)");
    RunState state{Table(16, j.reduce), {}};
    {
      std::lock_guard lock(mutex());
      if (auto found = runs().find(run); found != runs().end()) {
        state = std::move(found->second);
        runs().erase(found);
      }
    }
    const MPI_Comm workers = pool_workers_comm();
    auto result = reduce_by_owner<J>(workers, MapOutput<J>{std::move(state.table), {}}, state.stats, MapReduceOptions{});
    return tail_function(workers, result, std::move(request));
  }
  static Bytes merge(std::string name, Bytes buffers) {
    Table table(entry_count_estimate<typename J::value_type>(buffers) + 16, job(name).reduce);
    merge_buffer(std::string_view(buffers), table);
    Bytes().swap(buffers);
    return serialize_table(table);
  }

 private:
  // A worker runs one task at a time; the lock guards callers that run tasks on threads.
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  /// A worker's part of one run: its table and what its map tasks counted.
  struct RunState {
    Table table;
    MapReduceStats stats;
  };
  static std::unordered_map<PoolRunId, RunState>& runs() {
    static std::unordered_map<PoolRunId, RunState> r;
    return r;
  }
  template <class Body>
  static MapReduceStats map_into(const std::string& name, PoolRunId run, const std::string& state, Body&& body) {
    const J& j = job(name);
    std::lock_guard lock(mutex());
    auto slot = runs().find(run);
    if (slot == runs().end()) slot = runs().emplace(run, RunState{Table(kFirstTableKeys, j.reduce), {}}).first;
    emitter_of<J> emit(slot->second.table);
    auto map = j.map;
    if constexpr (ConfigurableMap<typename J::map_type>) map.configure(state);
    MapReduceStats stats;
    body(map, emit, stats);
    slot->second.stats += stats;
    return stats;
  }
};

template <class J>
PoolJobTasks tasks_of(const J& job) {
  std::string state;
  if constexpr (ConfigurableMap<typename J::map_type>) state = job.map.state();
  return PoolJobTasks{job.name,          std::move(state),       &JobTasks<J>::map_range, &JobTasks<J>::map_stream,
                      &JobTasks<J>::map_data, &JobTasks<J>::drain,  &JobTasks<J>::merge,     &JobTasks<J>::finish};
}

/// MR_JOB: registers the job's six tasks under "mr.job.<name>.*".
template <AnyJob J>
bool register_job(const J& job) {
  check_map_function<J, std::string_view>();
  JobTasks<J>::jobs()[job.name] = &job;
  const std::string base = std::string("mr.job.") + job.name;
  auto& registry = Registry::instance();
  registry.add(base + ".map_range", function_key(&JobTasks<J>::map_range), &invoke_task<&JobTasks<J>::map_range>);
  registry.add(base + ".map_stream", function_key(&JobTasks<J>::map_stream), &invoke_task<&JobTasks<J>::map_stream>);
  registry.add(base + ".map_data", function_key(&JobTasks<J>::map_data), &invoke_task<&JobTasks<J>::map_data>);
  registry.add(base + ".drain", function_key(&JobTasks<J>::drain), &invoke_task<&JobTasks<J>::drain>);
  registry.add(base + ".merge", function_key(&JobTasks<J>::merge), &invoke_task<&JobTasks<J>::merge>);
  registry.add(base + ".finish", function_key(&JobTasks<J>::finish), &invoke_task<&JobTasks<J>::finish>);
  return true;
}

/// MR_JOB_TAIL.
template <AnyJob J>
bool register_tail(const J&, const char* name, PoolTail<J> tail) {
  JobTasks<J>::tails().emplace_back(name, tail);
  return true;
}

/// Throws UsageError unless `job` (or, for a ConfigurableMap, a job of its name) is registered.
template <AnyJob J>
void check_registered(const J& job) {
  if (!JobTasks<J>::jobs().contains(job.name) ||
      (JobTasks<J>::jobs().at(job.name) != &job && !ConfigurableMap<typename J::map_type>))
    throw UsageError(std::string("mr::map_reduce: job '") + job.name +
                     "' is not registered: add MR_JOB(" + job.name +
                     ") at namespace scope so pool workers can run it");
}

/// Runs a registered job with a registered tail on the workers; worker 0's tail result.
/// `stats` gets the parent's totals (bytes, records; the workers' busy times, summed).
template <AnyJob J>
Bytes pool_reduce_on_workers(const std::function<ProcessPoolExecutor&()>& executor, const std::vector<std::string>& inputs,
                             const J& job, PoolTail<J> tail, std::string request, const MapReduceOptions& options,
                             MapReduceStats& stats) {
  check_registered(job);
  const std::string* name = nullptr;
  for (const auto& [registered, function] : JobTasks<J>::tails())
    if (function == tail) name = &registered;
  if (name == nullptr)
    throw UsageError(std::string("mr::map_reduce_on_workers: the tail function is not registered for job '") +
                     job.name + "': add MR_JOB_TAIL(" + job.name + ", <function>) at namespace scope");
  const PoolTailCall call{*name, std::move(request)};
  PoolJobOutput output = run_pool_job(executor, tasks_of(job), inputs, options, &call);
  stats = output.stats;
  return std::move(output.tail_result);
}

/// The job's reduced table in the parent.
template <AnyJob J>
table_of<J> pool_reduce(const std::function<ProcessPoolExecutor&()>& executor, const std::vector<std::string>& inputs,
                        const J& job, const MapReduceOptions& options, MapReduceStats& stats) {
  check_registered(job);  // the registered job itself, or (ConfigurableMap) a copy with other map options
  PoolJobOutput output = run_pool_job(executor, tasks_of(job), inputs, options);
  std::size_t entries = 0;  // the largest part's: the parts share most keys
  for (const auto& part : output.tables)
    entries = std::max(entries, entry_count_estimate<typename J::value_type>(std::string_view(part)));
  PhaseClock clock;
  table_of<J> table(entries + 16, job.reduce);
  for (auto& part : output.tables) {
    merge_buffer(std::string_view(part), table);
    Bytes().swap(part);
  }
  stats = output.stats;
  stats.phases.reduce += clock.lap();
  return table;
}

template <class K, class V, class Reduce>
std::map<K, V> to_map(const FlatTable<V, Reduce>& table) {
  std::map<K, V> out;
  table.for_each([&](std::string_view key, const V& value) { out.emplace(decode_key<K>(key), value); });
  return out;
}

}  // namespace detail

/// Runs a registered job on `executor`'s workers; the result, ordered by key, in the caller.
template <AnyJob J>
std::map<typename J::key_type, typename J::value_type> map_reduce(ProcessPoolExecutor& executor,
                                                                  const std::vector<std::string>& inputs, const J& job,
                                                                  const MapReduceOptions& options = {}) {
  MapReduceStats stats;
  const auto table = detail::pool_reduce(
      [&]() -> ProcessPoolExecutor& { return executor; }, inputs, job, options, stats);
  return detail::to_map<typename J::key_type>(table);
}

/// Runs a registered job on a pool of `workers.count` processes started for the call.
template <AnyJob J>
std::map<typename J::key_type, typename J::value_type> map_reduce(Workers workers,
                                                                  const std::vector<std::string>& inputs, const J& job,
                                                                  const MapReduceOptions& options = {}) {
  if (workers.count == 0) throw UsageError("mr::map_reduce: Workers{n} needs at least one worker");
  std::unique_ptr<ProcessPoolExecutor> executor;
  MapReduceStats stats;
  const auto table = detail::pool_reduce(
      [&]() -> ProcessPoolExecutor& {
        executor = std::make_unique<ProcessPoolExecutor>(workers.count);
        return *executor;
      },
      inputs, job, options, stats);
  return detail::to_map<typename J::key_type>(table);
}

/// Runs a registered job on `executor`'s workers and leaves the result there, distributed
/// over the workers by key as on MPI ranks; then every worker runs `tail` (MR_JOB_TAIL) with
/// its share and `request`. Returns what worker 0's tail returned. The caller's memory does
/// not grow with the number of keys.
template <AnyJob J>
std::string map_reduce_on_workers(ProcessPoolExecutor& executor, const std::vector<std::string>& inputs, const J& job,
                                  PoolTail<J> tail, std::string request = {}, const MapReduceOptions& options = {}) {
  MapReduceStats stats;
  return detail::pool_reduce_on_workers(
      [&]() -> ProcessPoolExecutor& { return executor; }, inputs, job, tail, std::move(request), options, stats);
}

}  // namespace mr
