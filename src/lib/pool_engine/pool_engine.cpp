// The process-pool engine: `mapreduce --workers N ...` — the book's "MapReduce with asyncio"
// on an mr executor. The parent cuts the input into chunks of --chunk-lines lines and submits
// one map task per chunk with run_in_executor. A map task adds its chunk to the table its
// worker keeps for the job (the in-mapper combiner), so the job's partial results are one
// table per worker rather than one per chunk; once every map is gathered, a drain task pinned
// to each worker collects them, they are reduced in the pool as a tree of merges, and the
// result is printed with the SPMD engine's output code, so both engines produce the same bytes.
#include "pool_engine/pool_engine.hpp"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "mr/asio.hpp"
#include "mr/detail/hash_table.hpp"
#include "engine/input.hpp"
#include "jobs/job_mapper.hpp"
#include "pool_engine/line_chunks.hpp"
#include "jobs/output.hpp"
#include "engine/partition.hpp"
#include "pool_engine/pool_engine_tasks.hpp"
#include "mr/detail/shuffle.hpp"
#include "mr/error.hpp"
#include "mr/process_pool_executor.hpp"
#include "mr/task.hpp"

namespace mr::detail {
namespace {

namespace asio = boost::asio;

JobConfig job_of(JobKind job, WordMode words) {
  JobConfig config;
  config.job = job;
  config.words = words;
  return config;
}

/// How much of a stream the parent reads at a time before cutting chunks from it.
constexpr std::size_t kStreamBlockBytes = 4u << 20;

/// Counts finished map tasks for the progress reporter.
struct MapProgress {
  std::size_t done = 0;
  std::size_t total = 0;
  bool over = false;                   ///< every map finished, or one failed
  asio::steady_timer* wake = nullptr;  ///< the reporter's timer, cancelled when over

  void end() {
    over = true;
    if (wake) wake->cancel();
  }
};

/// Prints "Finished i/N map operations" about once a second and once at the end (the book
/// prints once a second from a coroutine beside the gather). Shares `progress` with the job,
/// which may end (with an error) before this coroutine wakes up.
asio::awaitable<void> report_progress(std::shared_ptr<MapProgress> progress) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  progress->wake = &timer;
  while (!progress->over) {
    std::fprintf(stderr, "Finished %zu/%zu map operations\n", progress->done, progress->total);
    timer.expires_after(std::chrono::seconds(1));
    boost::system::error_code ignored;  // cancelled when the maps are over
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  progress->wake = nullptr;
  if (progress->done == progress->total)
    std::fprintf(stderr, "Finished %zu/%zu map operations\n", progress->done, progress->total);
}

/// Hands map tasks to an executor that is still starting when the first chunks are found.
/// The spawn mostly waits on Open MPI's launcher, so the parent's pass over the input files
/// runs meanwhile: file chunks found before the workers are up wait in a list (a few bytes
/// each) and are submitted the moment they are; after that every chunk goes straight out.
class MapSubmitter {
 public:
  using StartingExecutor = std::future<std::unique_ptr<ProcessPoolExecutor>>;

  MapSubmitter(StartingExecutor starting, PoolJobId job, const JobConfig& config)
      : starting_(std::move(starting)), job_(job), config_(config) {}

  void file_chunk(const std::string& path, std::uint64_t begin, std::uint64_t end) {
    if (!executor_ && starting_.wait_for(std::chrono::seconds(0)) == std::future_status::ready) executor();
    if (executor_) {
      submit_file_chunk({&path, begin, end});
    } else {
      waiting_.push_back({&path, begin, end});
    }
  }

  void data_chunk(const std::string& name, std::uint64_t line_base, std::string lines) {
    maps_.push_back(run_in_executor(executor(), pool_map_data_chunk, job_, config_.job, config_.words, name,
                                    line_base, std::move(lines)));
  }

  /// The executor, once started (rethrows a failed start).
  ProcessPoolExecutor& executor() {
    if (!executor_) {
      executor_ = starting_.get();
      for (const FileChunk& chunk : waiting_) submit_file_chunk(chunk);
      waiting_.clear();
    }
    return *executor_;
  }

  PoolJobId job() const { return job_; }
  /// The submitted maps, in input order.
  std::vector<asio::awaitable<ChunkStats>> take_maps() {
    executor();
    return std::move(maps_);
  }

 private:
  struct FileChunk {
    const std::string* path;
    std::uint64_t begin;
    std::uint64_t end;
  };

  void submit_file_chunk(const FileChunk& chunk) {
    maps_.push_back(run_in_executor(*executor_, pool_map_file_chunk, job_, config_.job, config_.words,
                                    *chunk.path, chunk.begin, chunk.end));
  }

  StartingExecutor starting_;
  std::unique_ptr<ProcessPoolExecutor> executor_;
  PoolJobId job_;
  const JobConfig& config_;
  std::vector<FileChunk> waiting_;
  std::vector<asio::awaitable<ChunkStats>> maps_;
};

/// Submits one map task per chunk of `config.chunk_lines` lines of every input.
void submit_maps(MapSubmitter& maps, const JobConfig& config, const std::vector<InputFile>& inputs,
                 std::string stdin_text) {
  const std::uint64_t chunk_lines = std::max<std::uint64_t>(config.chunk_lines, 1);
  for (const InputFile& input : inputs) {
    if (input.kind == InputKind::File) {
      // Workers map their byte ranges from the file themselves; the parent only finds
      // line boundaries (one memchr pass, pages released behind it).
      MappedFile file(input.path);
      const std::string_view text = file.text();
      for (std::uint64_t at = 0; at < text.size();) {
        const std::uint64_t end = next_lines(text, at, chunk_lines).end;
        maps.file_chunk(input.path, at, end);
        file.release(at, end);
        at = end;
      }
      continue;
    }
    // stdin and .gz: the parent reads the stream and ships each chunk's lines.
    std::string pending, block;
    std::uint64_t line_base = 0;
    auto ship = [&](std::uint64_t begin, std::uint64_t end, std::uint64_t lines) {
      maps.data_chunk(input.path, line_base, pending.substr(begin, end - begin));
      line_base += lines;
    };
    auto ship_whole_chunks = [&] {
      std::uint64_t at = 0;
      for (LineRun run; (run = next_lines(pending, at, chunk_lines)).lines == chunk_lines; at = run.end)
        ship(at, run.end, run.lines);
      pending.erase(0, at);
    };
    if (input.kind == InputKind::Stdin) {
      pending = std::move(stdin_text);
      ship_whole_chunks();
    } else {
      LineBlockReader reader(input.path);
      while (reader.next(block, kStreamBlockBytes)) {
        pending += block;
        ship_whole_chunks();
      }
    }
    if (!pending.empty()) ship(0, pending.size(), 0);
  }
}

/// The tree's root merges this many tables or fewer; it runs in the parent, which has to load
/// the final table into its own hash table for the output anyway (a root merge in a worker
/// would cost the same work plus a round trip).
constexpr std::size_t kRootFanIn = 2;

/// One level of the merge tree. Tables are added as they become available (the first level
/// is fed by the drains as they finish); every `fan_in` of them, concatenated, become one
/// merge task. fan_in gives about one merge per worker, so
/// each byte is shipped O(log_workers(tables)) times rather than once per level of a
/// binary tree.
class MergeLevel {
 public:
  MergeLevel(ProcessPoolExecutor& executor, std::size_t tables) : executor_(executor) {
    const std::size_t workers = std::max<std::size_t>(executor.max_workers(), 1);
    fan_in_ = tables <= kRootFanIn ? SIZE_MAX : std::max<std::size_t>(2, (tables + workers - 1) / workers);
  }

  void add(PartialTable table) {
    if (fan_in_ == SIZE_MAX) {
      done_.push_back(std::move(table));
      return;
    }
    // Table buffers are self-delimiting entries: a concatenation is a valid buffer.
    if (group_.empty()) group_.reserve(table.size() * fan_in_ + table.size() / 4);  // no regrowth copies
    group_.insert(group_.end(), table.begin(), table.end());
    if (++in_group_ == fan_in_) submit_group();
  }

  /// The level's output tables (merged, plus any left alone).
  asio::awaitable<std::vector<PartialTable>> finish() {
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
    merges_.push_back(run_in_executor(executor_, pool_merge_tables, std::move(group_)));
    group_ = PartialTable();
    in_group_ = 0;
  }

  ProcessPoolExecutor& executor_;
  std::size_t fan_in_ = SIZE_MAX;
  PartialTable group_;
  std::size_t in_group_ = 0;
  std::vector<asio::awaitable<PartialTable>> merges_;
  std::vector<PartialTable> done_;
};

/// The levels above the first, until the root's at most kRootFanIn tables are left.
asio::awaitable<std::vector<PartialTable>> reduce_in_pool(ProcessPoolExecutor& executor,
                                                          std::vector<PartialTable> tables) {
  while (tables.size() > kRootFanIn) {
    MergeLevel level(executor, tables.size());
    for (auto& table : tables) level.add(std::move(table));
    tables = co_await level.finish();
  }
  co_return tables;
}

/// Awaits one map task and counts it.
asio::awaitable<void> map_into(asio::awaitable<ChunkStats> map, ChunkStats& stats, MapProgress& progress) {
  const ChunkStats chunk = co_await std::move(map);
  stats.bytes += chunk.bytes;
  stats.records += chunk.records;
  ++progress.done;
}

/// Awaits one worker's table and hands it to the first merge level.
asio::awaitable<void> drain_into(asio::awaitable<PartialTable> drain, MergeLevel& first_level) {
  first_level.add(co_await std::move(drain));
}

struct PoolRun {
  std::vector<PartialTable> tables;  ///< the tree's root: at most kRootFanIn tables
  ChunkStats stats;
};

/// A new job id: the parent's clock, distinct for every run of the engine in this process.
PoolJobId new_job_id() {
  return static_cast<PoolJobId>(std::chrono::steady_clock::now().time_since_epoch().count());
}

asio::awaitable<void> run_job(ProcessPoolExecutor& executor, PoolJobId job,
                              std::vector<asio::awaitable<ChunkStats>> maps, bool show_progress, PoolRun& out) {
  auto progress = std::make_shared<MapProgress>(MapProgress{.total = maps.size()});
  std::vector<asio::awaitable<void>> mapped;
  mapped.reserve(maps.size());
  for (auto& map : maps) mapped.push_back(map_into(std::move(map), out.stats, *progress));
  if (show_progress) asio::co_spawn(co_await asio::this_coro::executor, report_progress(progress), asio::detached);
  try {
    co_await gather(std::move(mapped));
  } catch (...) {
    progress->end();  // the reporter must not keep the loop alive after a failed map
    throw;
  }
  progress->end();

  // Every map has finished, so each worker's table is complete: collect them (one drain
  // pinned to each worker) and merge them as they arrive.
  const std::size_t workers = executor.max_workers();
  MergeLevel first_level(executor, workers);
  std::vector<asio::awaitable<void>> drained;
  drained.reserve(workers);
  for (std::size_t worker = 0; worker < workers; ++worker)
    drained.push_back(drain_into(await_owned(executor.submit_to(worker, pool_drain_worker, job)), first_level));
  co_await gather(std::move(drained));
  out.tables = co_await reduce_in_pool(executor, co_await first_level.finish());
}

/// A task's InputError comes back as RemoteError from another process: report it as the
/// same one-line InputError the SPMD engine gives.
[[noreturn]] void rethrow_task_error(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const RemoteError& e) {
    if (e.type_name().find("InputError") != std::string::npos) throw InputError(e.remote_message());
    throw;
  }
}

/// All of stdin. Read before the workers are spawned: Open MPI forwards the spawner's stdin
/// to the first spawned worker, which would otherwise consume part of it.
std::string read_stdin_if_used(const std::vector<InputFile>& inputs) {
  std::string text, block;
  for (const InputFile& input : inputs) {
    if (input.kind != InputKind::Stdin) continue;
    LineBlockReader reader(input.path);
    while (reader.next(block, kStreamBlockBytes)) text += block;
    break;  // a second "-" reads an exhausted stream, as in the SPMD engine
  }
  return text;
}

int run_with(MapSubmitter& maps, const JobConfig& config, std::chrono::steady_clock::time_point start) {
  const bool show_progress = config.progress || ::isatty(STDERR_FILENO) == 1;
  ProcessPoolExecutor& executor = maps.executor();
  PoolRun run;
  std::exception_ptr error;
  asio::io_context loop;
  asio::co_spawn(loop, run_job(executor, maps.job(), maps.take_maps(), show_progress, run),
                 [&](std::exception_ptr e) { error = e; });
  loop.run();
  if (error) rethrow_task_error(error);
  executor.shutdown(/*wait=*/false);  // the workers wind down while the root merge and output run

  std::size_t bytes = 0;
  for (const auto& part : run.tables) bytes = std::max(bytes, part.size());
  CountTable table(std::max<std::size_t>(1024, bytes / 12));
  for (auto& part : run.tables) {
    merge_buffer(std::string_view(part.data(), part.size()), table);
    PartialTable().swap(part);
  }
  JobSummary summary;
  summary.bytes = run.stats.bytes;
  summary.records = run.stats.records;
  summary.distinct_keys = table.size();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  summary.ranks = static_cast<int>(executor.max_workers());
  summary.engine = "pool";
  summary.job = config.job;
  emit_result(config, table, summary);
  return 0;
}

}  // namespace

namespace {

/// A worker's tables, one per job it is mapping. Process-wide state, because the tasks of a
/// job that land on one worker add to the same table; a worker runs its tasks one at a time,
/// the lock only guards against a caller that runs these tasks on threads.
class WorkerTables {
 public:
  /// Runs `map` on the job's table (created on the job's first chunk here) and returns the
  /// chunk's statistics.
  template <class MapInto>
  ChunkStats map(PoolJobId job, JobKind kind, WordMode words, MapInto&& map) {
    std::lock_guard lock(mutex_);
    CountTable& table = tables_.try_emplace(job, kFirstSlots).first->second;
    JobMapper mapper(job_of(kind, words), table);
    map(mapper);
    mapper.finish();
    return {mapper.stats().bytes, mapper.stats().records};
  }

  PartialTable drain(PoolJobId job) {
    std::lock_guard lock(mutex_);
    const auto found = tables_.find(job);
    if (found == tables_.end()) return {};
    PartialTable out = serialize_table(found->second);
    tables_.erase(found);
    return out;
  }

 private:
  /// A chunk of text has tens of thousands of distinct words: start there rather than grow.
  static constexpr std::size_t kFirstSlots = std::size_t{1} << 16;

  std::mutex mutex_;
  std::unordered_map<PoolJobId, CountTable> tables_;
};

WorkerTables& worker_tables() {
  static WorkerTables tables;
  return tables;
}

}  // namespace

ChunkStats pool_map_file_chunk(PoolJobId job, JobKind kind, WordMode words, std::string path, std::uint64_t begin,
                               std::uint64_t end) {
  return worker_tables().map(job, kind, words,
                             [&](JobMapper& mapper) { map_file_range(mapper, path, begin, end); });
}

ChunkStats pool_map_data_chunk(PoolJobId job, JobKind kind, WordMode words, std::string name,
                               std::uint64_t line_base, std::string lines) {
  return worker_tables().map(job, kind, words, [&](JobMapper& mapper) {
    mapper.map_block(lines, BlockOrigin{name, lines.data(), line_base});
  });
}

PartialTable pool_drain_worker(PoolJobId job) { return worker_tables().drain(job); }

PartialTable pool_merge_tables(PartialTable tables) {
  CountTable table(std::max<std::size_t>(1024, tables.size() / 48));
  merge_buffer(std::string_view(tables.data(), tables.size()), table);
  PartialTable().swap(tables);
  return serialize_table(table);
}

MR_TASK_NAMED(pool_map_file_chunk, "mr.pool_engine.map_file_chunk");
MR_TASK_NAMED(pool_map_data_chunk, "mr.pool_engine.map_data_chunk");
MR_TASK_NAMED(pool_drain_worker, "mr.pool_engine.drain_worker");
MR_TASK_NAMED(pool_merge_tables, "mr.pool_engine.merge_tables");

int run_pool_engine(const JobConfig& config) {
  if (config.workers < 1)
    throw UsageError("--workers: give the number of worker processes (at least 1)");
  const auto start = std::chrono::steady_clock::now();
  const std::vector<InputFile> inputs = discover_inputs(config.inputs);
  std::string stdin_text = read_stdin_if_used(inputs);
  MapSubmitter maps(std::async(std::launch::async,
                               [workers = static_cast<std::size_t>(config.workers)] {
                                 return std::make_unique<ProcessPoolExecutor>(workers);
                               }),
                    new_job_id(), config);
  submit_maps(maps, config, inputs, std::move(stdin_text));
  return run_with(maps, config, start);
}

}  // namespace mr::detail
