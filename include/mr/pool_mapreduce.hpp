#pragma once
/// \file pool_mapreduce.hpp
/// The same mr::Job on a process pool: the parent plans byte ranges of the inputs (the
/// partitioner of the MPI engine), each map task maps one range in a worker into the table
/// that worker keeps for the run (the in-mapper combiner), then one drain task per worker
/// hands its table over and the tables are merged as a tree inside the pool. Workers also
/// inflate the `.gz` inputs themselves, one task per file; only stdin goes through the parent.
///
///     const auto word_lengths = mr::make_job<int, long>("word_lengths", length_map, std::plus<>{});
///     MR_JOB(word_lengths);                       // namespace scope, like MR_TASK
///
///     mr::ProcessPoolExecutor executor(4);
///     auto counts = mr::map_reduce(executor, inputs, word_lengths);   // std::map in the parent
///     auto same = mr::map_reduce(mr::Workers{4}, inputs, word_lengths);  // a pool of its own
///
/// Workers run the same executable, so MR_JOB registers the job's tasks in every process;
/// the job's name identifies it.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "mr/detail/registry.hpp"
#include "mr/mapreduce.hpp"
#include "mr/process_pool_executor.hpp"

/// Registers `job` (an mr::Job object at namespace scope) so pool workers can run it.
#define MR_JOB(job)                                                                          \
  [[maybe_unused]] static const bool MR_DETAIL_CONCAT(mr_job_registered_, __COUNTER__) = \
      ::mr::detail::register_job(job)

namespace mr {

/// A pool that map_reduce starts for the call (and shuts down after it).
struct Workers {
  std::size_t count = 0;
};

namespace detail {

/// Identifies one run on a pool, so two runs never share a worker's table.
using PoolRunId = std::uint64_t;

/// A map function with options that travel to pool workers with each task: state() as
/// text in the parent, configure(text) on the worker's copy of the registered job's map.
template <class Map>
concept ConfigurableMap = requires(const Map& map, Map& copy, std::string_view text) {
  { map.state() } -> std::convertible_to<std::string>;
  copy.configure(text);
};

/// The five tasks of a job on a pool, as registered function pointers.
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
};

/// The tree's root tables (at most two, in the shuffle format) and the totals.
struct PoolJobOutput {
  std::vector<Bytes> tables;
  MapReduceStats stats;
};

/// Runs a registered job's tasks over `inputs` (the parent's side; in the library).
/// `executor` is called once stdin, if it is an input, has been read: Open MPI forwards the
/// spawner's stdin to a spawned worker, so a pool the call starts must start after that.
PoolJobOutput run_pool_job(const std::function<ProcessPoolExecutor&()>& executor, const PoolJobTasks& tasks,
                           const std::vector<std::string>& inputs, const MapReduceOptions& options);

/// The job's tasks, run in workers. A worker keeps one table per run of the job.
template <class J>
struct JobTasks {
  using Table = table_of<J>;

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
    auto found = tables().find(run);
    if (found == tables().end()) return {};
    Bytes out = serialize_table(*found->second);
    tables().erase(found);
    return out;
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
  static std::unordered_map<PoolRunId, std::unique_ptr<Table>>& tables() {
    static std::unordered_map<PoolRunId, std::unique_ptr<Table>> t;
    return t;
  }
  template <class Body>
  static MapReduceStats map_into(const std::string& name, PoolRunId run, const std::string& state, Body&& body) {
    const J& j = job(name);
    std::lock_guard lock(mutex());
    auto& slot = tables()[run];
    if (!slot) slot = std::make_unique<Table>(kFirstTableKeys, j.reduce);
    emitter_of<J> emit(*slot);
    auto map = j.map;
    if constexpr (ConfigurableMap<typename J::map_type>) map.configure(state);
    MapReduceStats stats;
    body(map, emit, stats);
    return stats;
  }
};

template <class J>
PoolJobTasks tasks_of(const J& job) {
  std::string state;
  if constexpr (ConfigurableMap<typename J::map_type>) state = job.map.state();
  return PoolJobTasks{job.name, std::move(state), &JobTasks<J>::map_range, &JobTasks<J>::map_stream, &JobTasks<J>::map_data,
                      &JobTasks<J>::drain, &JobTasks<J>::merge};
}

/// MR_JOB: registers the job's five tasks under "mr.job.<name>.*".
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
  return true;
}

/// The job's reduced table in the parent.
template <AnyJob J>
table_of<J> pool_reduce(const std::function<ProcessPoolExecutor&()>& executor, const std::vector<std::string>& inputs,
                        const J& job, const MapReduceOptions& options, MapReduceStats& stats) {
  // The registered job itself, or (for a ConfigurableMap) a copy with other map options.
  if (!JobTasks<J>::jobs().contains(job.name) ||
      (JobTasks<J>::jobs().at(job.name) != &job && !ConfigurableMap<typename J::map_type>))
    throw UsageError(std::string("mr::map_reduce: job '") + job.name +
                     "' is not registered: add MR_JOB(" + job.name +
                     ") at namespace scope so pool workers can run it");
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

}  // namespace mr
