// The process-pool engine: `mapreduce --workers N ...` — the book's "MapReduce with asyncio"
// on an mr executor. The parent cuts the input into chunks of --chunk-lines lines, submits
// one map task per chunk with run_in_executor, gathers the partial tables (flat binary
// buffers), reduces them in the pool as a tree of merges and prints the result with the
// SPMD engine's output code, so both engines produce the same bytes.
#include "mr/detail/pool_engine.hpp"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <bit>
#include <functional>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "mr/asio.hpp"
#include "mr/detail/hash_table.hpp"
#include "mr/detail/input.hpp"
#include "mr/detail/job_mapper.hpp"
#include "mr/detail/line_chunks.hpp"
#include "mr/detail/output.hpp"
#include "mr/detail/partition.hpp"
#include "mr/detail/pool_engine_tasks.hpp"
#include "mr/detail/shuffle.hpp"
#include "mr/error.hpp"
#include "mr/process_pool_executor.hpp"
#include "mr/task.hpp"

namespace mr::detail {
namespace {

namespace asio = boost::asio;

/// Map results end with this trailer; merge results have none.
struct ChunkStats {
  std::uint64_t bytes = 0;
  std::uint64_t records = 0;
};

PartialTable finish_map(const CountTable& table, const JobMapper& mapper) {
  PartialTable out = serialize_table(table);
  const ChunkStats stats{mapper.stats().bytes, mapper.stats().records};
  const std::size_t at = out.size();
  out.resize(at + sizeof stats);
  std::memcpy(out.data() + at, &stats, sizeof stats);
  return out;
}

ChunkStats take_stats(PartialTable& part) {
  ChunkStats stats;
  if (part.size() < sizeof stats) throw Error("pool engine: a map task returned a truncated table");
  std::memcpy(&stats, part.data() + part.size() - sizeof stats, sizeof stats);
  part.resize(part.size() - sizeof stats);
  return stats;
}

JobConfig job_of(JobKind job, WordMode words) {
  JobConfig config;
  config.job = job;
  config.words = words;
  return config;
}

/// Initial slots of a map task's table: a chunk of text has tens of thousands of distinct
/// words; starting there saves the rehashes of growing from a small table.
constexpr std::size_t kMapTableSlots = std::size_t{1} << 15;

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

/// Submits one map task per chunk of `config.chunk_lines` lines of every input.
template <Executor E>
std::vector<asio::awaitable<PartialTable>> submit_maps(E& executor, const JobConfig& config,
                                                       const std::vector<InputFile>& inputs,
                                                       std::string stdin_text) {
  std::vector<asio::awaitable<PartialTable>> maps;
  const std::uint64_t chunk_lines = std::max<std::uint64_t>(config.chunk_lines, 1);
  for (const InputFile& input : inputs) {
    if (input.kind == InputKind::File) {
      // Workers map their byte ranges from the file themselves; the parent only finds
      // line boundaries (one memchr pass, pages released behind it).
      MappedFile file(input.path);
      const std::string_view text = file.text();
      for (std::uint64_t at = 0; at < text.size();) {
        const std::uint64_t end = next_lines(text, at, chunk_lines).end;
        maps.push_back(run_in_executor(executor, pool_map_file_chunk, config.job, config.words,
                                       input.path, at, end));
        file.release(at, end);
        at = end;
      }
      continue;
    }
    // stdin and .gz: the parent reads the stream and ships each chunk's lines.
    std::string pending, block;
    std::uint64_t line_base = 0;
    auto ship = [&](std::uint64_t begin, std::uint64_t end, std::uint64_t lines) {
      maps.push_back(run_in_executor(executor, pool_map_data_chunk, config.job, config.words,
                                     input.path, line_base, pending.substr(begin, end - begin)));
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
  return maps;
}

/// The tree's root merges this many tables or fewer; it runs in the parent, which has to load
/// the final table into its own hash table for the output anyway (a root merge in a worker
/// would cost the same work plus a round trip).
constexpr std::size_t kRootFanIn = 2;

/// One level of the merge tree. Tables are added as they become available (the first level
/// is fed by map tasks as they finish, so merging overlaps the last maps); every `fan_in` of
/// them, concatenated, become one merge task. fan_in gives about one merge per worker, so
/// each byte is shipped O(log_workers(tables)) times rather than once per level of a
/// binary tree.
template <Executor E>
class MergeLevel {
 public:
  MergeLevel(E& executor, std::size_t tables) : executor_(executor) {
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

  E& executor_;
  std::size_t fan_in_ = SIZE_MAX;
  PartialTable group_;
  std::size_t in_group_ = 0;
  std::vector<asio::awaitable<PartialTable>> merges_;
  std::vector<PartialTable> done_;
};

/// The levels above the first, until the root's at most kRootFanIn tables are left.
template <Executor E>
asio::awaitable<std::vector<PartialTable>> reduce_in_pool(E& executor, std::vector<PartialTable> tables) {
  while (tables.size() > kRootFanIn) {
    MergeLevel<E> level(executor, tables.size());
    for (auto& table : tables) level.add(std::move(table));
    tables = co_await level.finish();
  }
  co_return tables;
}

/// Awaits one map task and hands its table to the first merge level.
template <Executor E>
asio::awaitable<void> map_into(asio::awaitable<PartialTable> map, MergeLevel<E>& first_level,
                               ChunkStats& stats, MapProgress& progress) {
  PartialTable table = co_await std::move(map);
  const ChunkStats chunk = take_stats(table);
  stats.bytes += chunk.bytes;
  stats.records += chunk.records;
  first_level.add(std::move(table));
  ++progress.done;
}

struct PoolRun {
  std::vector<PartialTable> tables;  ///< the tree's root: at most kRootFanIn tables
  ChunkStats stats;
};

template <Executor E>
asio::awaitable<void> run_job(E& executor, const JobConfig& config, const std::vector<InputFile>& inputs,
                              std::string stdin_text, bool show_progress, PoolRun& out) {
  auto maps = submit_maps(executor, config, inputs, std::move(stdin_text));
  auto progress = std::make_shared<MapProgress>(MapProgress{.total = maps.size()});
  MergeLevel<E> first_level(executor, maps.size());
  std::vector<asio::awaitable<void>> mapped;
  mapped.reserve(maps.size());
  for (auto& map : maps) mapped.push_back(map_into(std::move(map), first_level, out.stats, *progress));
  if (show_progress) asio::co_spawn(co_await asio::this_coro::executor, report_progress(progress), asio::detached);
  try {
    co_await gather(std::move(mapped));
  } catch (...) {
    progress->end();  // the reporter must not keep the loop alive after a failed map
    throw;
  }
  progress->end();
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

template <Executor E>
int run_with(E& executor, const JobConfig& config, const std::vector<InputFile>& inputs,
             std::string stdin_text, std::chrono::steady_clock::time_point start) {
  const bool show_progress = config.progress || ::isatty(STDERR_FILENO) == 1;
  PoolRun run;
  std::exception_ptr error;
  asio::io_context loop;
  asio::co_spawn(loop, run_job(executor, config, inputs, std::move(stdin_text), show_progress, run),
                 [&](std::exception_ptr e) { error = e; });
  loop.run();
  if (error) rethrow_task_error(error);

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

/// Slots for a worker's next map table: room for as many keys as its previous chunk had
/// (the chunks of one job are alike), so a table is sized once instead of growing through
/// several rehashes, each on freshly zeroed pages.
class MapTableSizer {
 public:
  std::size_t slots() const { return slots_; }
  void saw(std::size_t keys) { slots_ = std::max(kMapTableSlots, std::bit_ceil(2 * keys + 2)); }

 private:
  std::size_t slots_ = kMapTableSlots;
};

thread_local MapTableSizer map_table_sizer;

PartialTable map_chunk(JobKind job, WordMode words, const std::function<void(JobMapper&)>& map) {
  CountTable table(map_table_sizer.slots());
  JobMapper mapper(job_of(job, words), table);
  map(mapper);
  mapper.finish();
  map_table_sizer.saw(table.size());
  return finish_map(table, mapper);
}

}  // namespace

PartialTable pool_map_file_chunk(JobKind job, WordMode words, std::string path, std::uint64_t begin,
                                 std::uint64_t end) {
  return map_chunk(job, words, [&](JobMapper& mapper) { map_file_range(mapper, path, begin, end); });
}

PartialTable pool_map_data_chunk(JobKind job, WordMode words, std::string name, std::uint64_t line_base,
                                 std::string lines) {
  return map_chunk(job, words, [&](JobMapper& mapper) {
    mapper.map_block(lines, BlockOrigin{name, lines.data(), line_base});
  });
}

PartialTable pool_merge_tables(PartialTable tables) {
  CountTable table(std::max<std::size_t>(1024, tables.size() / 48));
  merge_buffer(std::string_view(tables.data(), tables.size()), table);
  PartialTable().swap(tables);
  return serialize_table(table);
}

MR_TASK_NAMED(pool_map_file_chunk, "mr.pool_engine.map_file_chunk");
MR_TASK_NAMED(pool_map_data_chunk, "mr.pool_engine.map_data_chunk");
MR_TASK_NAMED(pool_merge_tables, "mr.pool_engine.merge_tables");

int run_pool_engine(const JobConfig& config) {
  if (config.workers < 1)
    throw UsageError("--workers: give the number of worker processes (at least 1)");
  const auto start = std::chrono::steady_clock::now();
  const std::vector<InputFile> inputs = discover_inputs(config.inputs);
  std::string stdin_text = read_stdin_if_used(inputs);
  ProcessPoolExecutor executor(static_cast<std::size_t>(config.workers));
  return run_with(executor, config, inputs, std::move(stdin_text), start);
}

}  // namespace mr::detail
