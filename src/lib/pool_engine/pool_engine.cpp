// A registered mr::Job on a process pool (the parent's side; pool_mapreduce.hpp has the
// workers' side). The parent plans byte ranges with the MPI engine's partitioner and submits
// one map task per range with run_in_executor; workers read their ranges themselves. A map
// task adds its range to the table its worker keeps for the run (the in-mapper combiner), so
// the run's partial results are one table per worker; once every map is gathered, a drain
// task pinned to each worker collects them and they are reduced in the pool as a tree of
// merges. Workers inflate the .gz files themselves (one task per file); stdin is read by the
// parent and shipped in blocks of whole lines.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/input.hpp"
#include "engine/partition.hpp"
#include "mr/asio.hpp"
#include "mr/error.hpp"
#include "mr/pool_mapreduce.hpp"

namespace mr::detail {
namespace {

namespace asio = boost::asio;

/// How much of a stream the parent reads and ships per map task.
constexpr std::size_t kStreamBlockBytes = 8u << 20;

/// The tree's root merges this many tables or fewer; it runs in the parent, which has to load
/// the final table into its own hash table anyway (a root merge in a worker would cost the
/// same work plus a round trip).
constexpr std::size_t kRootFanIn = 2;

/// One level of the merge tree. Tables are added as they become available (the first level
/// is fed by the drains as they finish); every `fan_in` of them, concatenated, become one
/// merge task. fan_in gives about one merge per worker, so each byte is shipped
/// O(log_workers(tables)) times rather than once per level of a binary tree.
class MergeLevel {
 public:
  MergeLevel(ProcessPoolExecutor& executor, const PoolJobTasks& tasks, std::size_t tables)
      : executor_(executor), tasks_(tasks) {
    const std::size_t workers = std::max<std::size_t>(executor.max_workers(), 1);
    fan_in_ = tables <= kRootFanIn ? SIZE_MAX : std::max<std::size_t>(2, (tables + workers - 1) / workers);
  }

  void add(Bytes table) {
    if (fan_in_ == SIZE_MAX) {
      done_.push_back(std::move(table));
      return;
    }
    // Table buffers are self-delimiting entries: a concatenation is a valid buffer.
    if (group_.empty()) group_.reserve(table.size() * fan_in_ + table.size() / 4);  // no regrowth copies
    group_ += table;
    if (++in_group_ == fan_in_) submit_group();
  }

  /// The level's output tables (merged, plus any left alone).
  asio::awaitable<std::vector<Bytes>> finish() {
    if (in_group_ == 1) {
      done_.push_back(std::move(group_));  // a lone table goes up a level unmerged
    } else if (in_group_ > 1) {
      submit_group();
    }
    for (auto& merged : co_await gather(std::move(merges_))) done_.push_back(std::move(merged));
    co_return std::move(done_);
  }

 private:
  void submit_group() {
    merges_.push_back(run_in_executor(executor_, tasks_.merge, tasks_.job, std::move(group_)));
    group_ = Bytes();
    in_group_ = 0;
  }

  ProcessPoolExecutor& executor_;
  const PoolJobTasks& tasks_;
  std::size_t fan_in_ = SIZE_MAX;
  Bytes group_;
  std::size_t in_group_ = 0;
  std::vector<asio::awaitable<Bytes>> merges_;
  std::vector<Bytes> done_;
};

/// The levels above the first, until the root's at most kRootFanIn tables are left.
asio::awaitable<std::vector<Bytes>> reduce_in_pool(ProcessPoolExecutor& executor, const PoolJobTasks& tasks,
                                                   std::vector<Bytes> tables) {
  while (tables.size() > kRootFanIn) {
    MergeLevel level(executor, tasks, tables.size());
    for (auto& table : tables) level.add(std::move(table));
    tables = co_await level.finish();
  }
  co_return tables;
}

/// Awaits one map task and counts it.
asio::awaitable<void> map_into(asio::awaitable<MapReduceStats> map, MapReduceStats& stats,
                               const MapReduceOptions& options) {
  const MapReduceStats chunk = co_await std::move(map);
  stats += chunk;  // the workers' busy time, summed (run_job turns it into wall time)
  if (options.on_mapped) options.on_mapped(chunk.bytes);
}

/// Awaits one worker's table and hands it to the first merge level.
asio::awaitable<void> drain_into(asio::awaitable<Bytes> drain, MergeLevel& first_level) {
  first_level.add(co_await std::move(drain));
}

/// A new run id: the parent's clock, distinct for every run in this process.
PoolRunId new_run_id() {
  return static_cast<PoolRunId>(std::chrono::steady_clock::now().time_since_epoch().count());
}

/// How long the other workers' finish tasks may run on once one has failed. A tail fails on
/// every worker or on none, so they normally fail within moments of each other; one that
/// failed alone leaves the others waiting in a collective for ever, and the pool is
/// terminated instead (their calls fail) so that the run reports the error and ends.
constexpr auto kFinishGrace = std::chrono::seconds(10);

/// One worker's finish task; the first to fail arms `watchdog`.
asio::awaitable<Bytes> finish_one(Future<Bytes> future, asio::steady_timer& watchdog, bool& armed,
                                  ProcessPoolExecutor& executor) {
  try {
    co_return co_await as_awaitable(std::move(future));
  } catch (...) {
    if (!std::exchange(armed, true)) {
      watchdog.expires_after(kFinishGrace);
      watchdog.async_wait([&executor](const boost::system::error_code& cancelled) {
        if (!cancelled) executor.terminate();
      });
    }
    throw;
  }
}

/// Runs the finish task on every worker at once (each is collective over the workers) and
/// keeps worker 0's result.
asio::awaitable<void> finish_on_workers(ProcessPoolExecutor& executor, const PoolJobTasks& tasks, PoolRunId run,
                                        const PoolTailCall& tail, PoolJobOutput& out) {
  asio::steady_timer watchdog(co_await asio::this_coro::executor);
  bool armed = false;
  std::vector<asio::awaitable<Bytes>> finished;
  for (std::size_t worker = 0; worker < executor.max_workers(); ++worker)
    finished.push_back(finish_one(executor.submit_to(worker, tasks.finish, tasks.job, run, tail.tail, tail.request),
                                  watchdog, armed, executor));
  try {
    auto results = co_await gather(std::move(finished));
    out.tail_result = std::move(results.front());
  } catch (...) {
    watchdog.cancel();
    throw;
  }
}

asio::awaitable<void> run_job(ProcessPoolExecutor& executor, const PoolJobTasks& tasks, PoolRunId run,
                              std::vector<asio::awaitable<MapReduceStats>> maps, const MapReduceOptions& options,
                              const PoolTailCall* tail, PoolJobOutput& out) {
  PhaseClock clock;
  std::vector<asio::awaitable<void>> mapped;
  mapped.reserve(maps.size());
  for (auto& map : maps) mapped.push_back(map_into(std::move(map), out.stats, options));
  co_await gather(std::move(mapped));
  // The parent sees one wall time for the map tasks; split it as the workers spent theirs.
  PhaseTimes& phases = out.stats.phases;
  const double wall = clock.lap(), busy = phases.read + phases.map;
  phases.read = busy > 0 ? wall * phases.read / busy : 0;
  phases.map = wall - phases.read;
  if (tail != nullptr) {
    co_await finish_on_workers(executor, tasks, run, *tail, out);
    co_return;
  }

  // Every map has finished, so each worker's table is complete: collect them (one drain
  // pinned to each worker) and merge them as they arrive.
  const std::size_t workers = executor.max_workers();
  MergeLevel first_level(executor, tasks, workers);
  std::vector<asio::awaitable<void>> drained;
  drained.reserve(workers);
  for (std::size_t worker = 0; worker < workers; ++worker)
    drained.push_back(drain_into(await_owned(executor.submit_to(worker, tasks.drain, tasks.job, run)), first_level));
  co_await gather(std::move(drained));
  out.tables = co_await reduce_in_pool(executor, tasks, co_await first_level.finish());
  phases.shuffle += clock.lap();  // the tables' way to the parent, merged on the way
}

/// One stream input (stdin, a FIFO, a device, ...) read whole, as blocks of whole lines.
struct StreamBlocks {
  std::string path;
  std::vector<std::string> blocks;
};

/// Every stream input, read before a pool is spawned (see run_pool_job).
std::vector<StreamBlocks> read_streams(const std::vector<InputFile>& inputs) {
  std::vector<StreamBlocks> streams;
  for (const InputFile& input : inputs) {
    if (input.kind != InputKind::Stdin) continue;
    LineBlockReader reader(input.path);
    StreamBlocks& stream = streams.emplace_back(StreamBlocks{input.path, {}});
    for (std::string block; reader.next(block, kStreamBlockBytes);) stream.blocks.push_back(std::move(block));
  }
  return streams;
}

/// One map task per compressed file, per planned byte range of the other files (interleaved
/// so every worker starts on its own part of the input) and per block of stdin.
std::vector<asio::awaitable<MapReduceStats>> submit_maps(ProcessPoolExecutor& executor, const PoolJobTasks& tasks,
                                                     PoolRunId run, const std::vector<InputFile>& inputs,
                                                     std::vector<StreamBlocks> streams, const MapReduceOptions& options) {
  std::vector<asio::awaitable<MapReduceStats>> maps;
  PartitionOptions partition;
  partition.range_bytes = options.chunk_bytes;
  const auto workers = static_cast<int>(std::max<std::size_t>(executor.max_workers(), 1));
  const auto plan = plan_ranges(inputs, workers, partition);
  std::uint64_t total = 0;
  std::size_t longest = 0;
  for (const auto& ranges : plan) {
    longest = std::max(longest, ranges.size());
    for (const auto& range : ranges) total += range.end - range.begin;
  }
  if (options.on_plan) options.on_plan(total);
  // Compressed files first, largest first: one task each (a stream is read from its start),
  // inflated by the worker that takes it, so the longest tasks start early.
  std::vector<const InputFile*> compressed;
  for (const InputFile& input : inputs)
    if (input.kind == InputKind::Gzip) compressed.push_back(&input);
  std::stable_sort(compressed.begin(), compressed.end(),
                   [](const InputFile* a, const InputFile* b) { return a->size > b->size; });
  for (const InputFile* input : compressed)
    maps.push_back(run_in_executor(executor, tasks.map_stream, tasks.job, run, tasks.map_state, input->path));
  for (std::size_t i = 0; i < longest; ++i)
    for (const auto& ranges : plan)
      if (i < ranges.size())
        maps.push_back(run_in_executor(executor, tasks.map_range, tasks.job, run, tasks.map_state,
                                       inputs[ranges[i].file].path,
                                       ranges[i].begin, ranges[i].end));
  // stdin, read up front (see run_pool_job).
  for (StreamBlocks& stream : streams) {
    std::uint64_t line_base = 0;
    const std::string head(stream.blocks.empty() ? std::string_view() : first_line_of(stream.blocks.front()));
    for (std::string& block : stream.blocks) {
      const std::uint64_t lines = count_lines(block);
      maps.push_back(run_in_executor(executor, tasks.map_data, tasks.job, run, tasks.map_state, stream.path,
                                     line_base, head, std::move(block)));
      line_base += lines;
    }
  }
  return maps;
}

}  // namespace

PoolJobOutput run_pool_job(const std::function<ProcessPoolExecutor&()>& get_executor, const PoolJobTasks& tasks,
                           const std::vector<std::string>& arguments, const MapReduceOptions& options,
                           const PoolTailCall* tail) {
  PhaseClock clock;
  const std::vector<InputFile> inputs = discover_inputs(arguments);
  // Open MPI forwards the spawner's stdin to the first spawned worker, which would consume
  // part of it: read it before the pool exists.
  std::vector<StreamBlocks> streams = read_streams(inputs);
  const double parent_read = clock.lap();
  ProcessPoolExecutor& executor = get_executor();
  const PoolRunId run = new_run_id();
  PoolJobOutput output;
  std::exception_ptr error;
  asio::io_context loop;
  asio::co_spawn(loop,
                 run_job(executor, tasks, run, submit_maps(executor, tasks, run, inputs, std::move(streams), options),
                         options, tail, output),
                 [&](std::exception_ptr e) { error = e; });
  loop.run();
  output.stats.phases.read += parent_read;
  if (error) {
    // An input error in a worker comes back as RemoteError from another process: report it as
    // the same one-line InputError the MPI ranks give.
    try {
      std::rethrow_exception(error);
    } catch (const RemoteError& e) {
      rethrow_as_local(e);
    }
  }
  return output;
}

}  // namespace mr::detail
