// The `mapreduce` program's jobs, written with the public API (the way Thrill's WordCount
// is a plain Thrill program), and their runs on MPI ranks or on a process pool. Both
// engines share the record loop, the partitioner, the progress line and the summary.
#include "jobs/builtin_jobs.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "jobs/builtin_maps.hpp"
#include "jobs/sorted_output.hpp"
#include "jobs/output.hpp"
#include "mr/detail/collective_error.hpp"
#include "mr/detail/tokenize.hpp"
#include "mr/mapreduce.hpp"
#include "mr/pool_mapreduce.hpp"

namespace mr::detail {
namespace {

// ---- the jobs (their map functions: builtin_maps.hpp) ---------------------------------

const auto wordcount_job = make_job<std::string, std::int64_t>("mr.wordcount", WhitespaceWords{}, SumReduce{});
const auto wordcount_alnum_job = make_job<std::string, std::int64_t>("mr.wordcount.alnum", AlnumWords{}, SumReduce{});
const auto ngram_job = make_job<std::string, std::int64_t>("mr.ngram", NgramCounts{}, SumReduce{});
MR_JOB(wordcount_job);
MR_JOB(wordcount_alnum_job);
MR_JOB(ngram_job);

/// Calls f(job) with the job the configuration names (the ngram job with its options, which
/// travel to pool workers with each task).
template <class F>
void with_job(const JobConfig& config, F&& f) {
  if (config.job == JobKind::Ngram) {
    auto configured = ngram_job;
    configured.map.options = config.ngram;
    f(configured);
  } else if (config.words == WordMode::Alnum) f(wordcount_alnum_job);
  else f(wordcount_job);
}

// ---- what both engines print ------------------------------------------------------------

/// The progress line on stderr (rank 0 or the pool's parent), at most four times a second:
/// with --progress, or when stderr is a terminal.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled) {}

  MapReduceOptions hooks(const JobConfig& config) {
    MapReduceOptions options;
    options.chunk_bytes = config.chunk_bytes;
    if (!enabled_) return options;
    options.on_plan = [this](std::uint64_t total) { total_ = total; };
    options.on_mapped = [this](std::uint64_t bytes) { advance(bytes); };
    return options;
  }
  void stage(const char* name) const {
    if (enabled_) std::fprintf(stderr, "\rmapreduce: %-50s", name);
  }
  void end() const {
    if (enabled_) std::fprintf(stderr, "\r%-70s\r", "");
  }

 private:
  void advance(std::uint64_t bytes) {
    done_ += bytes;
    const double now = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    if (now - last_ < 0.25 && done_ < total_) return;
    last_ = now;
    if (total_ > 0 && done_ <= total_)
      std::fprintf(stderr, "\rmapreduce: map %5.1f%% (%.0f of %.0f MB)", 100.0 * static_cast<double>(done_) / static_cast<double>(total_),
                   static_cast<double>(done_) / 1e6, static_cast<double>(total_) / 1e6);
    else
      std::fprintf(stderr, "\rmapreduce: map %.0f MB", static_cast<double>(done_) / 1e6);
  }

  bool enabled_;
  std::uint64_t total_ = 0;
  std::uint64_t done_ = 0;
  double last_ = -1e9;
};

/// --min-count: keeps only the keys whose total is at least `min_count` (a table holds final
/// totals once reduced: the whole table in the pool's parent, a rank's owned keys on ranks).
void drop_below(CountTable& table, std::uint64_t min_count) {
  if (min_count == 0) return;
  CountTable kept(table.size() + 16, table.reducer());
  table.for_each([&](std::string_view key, std::uint64_t hash, std::int64_t count) {
    if (count >= 0 && static_cast<std::uint64_t>(count) >= min_count) kept.add(key, hash, count);
  });
  table = std::move(kept);
}

bool progress_wanted(const JobConfig& config) { return config.progress || ::isatty(STDERR_FILENO) == 1; }

JobSummary summary_of(const JobConfig& config, const MapReduceStats& stats, std::uint64_t distinct_keys, int processes,
                      const char* engine, std::chrono::steady_clock::time_point start) {
  JobSummary summary;
  summary.bytes = stats.bytes;
  summary.records = stats.records;
  summary.distinct_keys = distinct_keys;
  summary.ranks = processes;
  summary.engine = engine;
  summary.job = config.job;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  summary.phases = stats.phases;
  return summary;
}

/// The output file, --top, --query and summary of a run whose whole table is here.
void finish(const JobConfig& config, const CountTable& table, const MapReduceStats& stats, int processes,
            const char* engine, std::chrono::steady_clock::time_point start, const Progress& progress) {
  progress.end();
  emit_result(config, table, summary_of(config, stats, table.size(), processes, engine, start));
}

}  // namespace

void run_on_ranks(MPI_Comm comm, const JobConfig& config) {
  const auto start = std::chrono::steady_clock::now();
  int rank = 0, size = 1;
  MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
  MR_MPI_CALL(MPI_Comm_size, comm, &size);
  Progress progress(rank == 0 && progress_wanted(config));
  const boost::mpi::communicator world(comm, boost::mpi::comm_attach);
  with_job(config, [&](const auto& job) {
    auto result = map_reduce_distributed(world, config.inputs, job, progress.hooks(config));
    drop_below(result.table(), config.min_count);
    MapReduceStats stats = result.stats();
    // No rank gathers the table: the file is sorted and written by every rank, --top comes
    // from each rank's own top K, --query from each key's owner.
    if (!config.output.empty()) {
      progress.stage("sort and write");
      write_sorted_output(comm, result.table(), config.output, stats.phases);
    }
    progress.stage("top and queries");
    std::vector<std::pair<std::string, std::int64_t>> top_entries;
    if (config.top > 0) top_entries = result.top(static_cast<std::size_t>(config.top));
    const auto found = result.lookup(config.queries);
    const std::uint64_t distinct = result.size();
    JobSummary summary = summary_of(config, stats, distinct, size, "spmd", start);
    // The summary's phases are the slowest rank's; the peak memory is every rank's.
    static_assert(sizeof(PhaseTimes) == 6 * sizeof(double), "PhaseTimes is reduced as 6 doubles");
    MR_MPI_CALL(MPI_Reduce, &stats.phases, &summary.phases, 6, MPI_DOUBLE, MPI_MAX, 0, comm);
    const std::uint64_t peak = peak_rss_bytes();
    summary.peak_rss.resize(rank == 0 ? static_cast<std::size_t>(size) : 0);
    MR_MPI_CALL(MPI_Gather, &peak, 1, MPI_UINT64_T, summary.peak_rss.data(), 1, MPI_UINT64_T, 0, comm);
    agree_on_error(comm, [&] {
      if (rank != 0) return;
      std::vector<ResultEntry> top;
      for (const auto& [key, count] : top_entries) top.emplace_back(key, count);
      std::vector<std::int64_t> counts;
      for (const auto& count : found) counts.push_back(count.value_or(0));
      progress.end();
      emit_answers(config, top, counts, summary);
    });
  });
}

void run_on_pool(const JobConfig& config) {
  if (config.workers < 1) throw UsageError("--workers: give the number of worker processes (at least 1)");
  const auto start = std::chrono::steady_clock::now();
  Progress progress(progress_wanted(config));
  with_job(config, [&](const auto& job) {
    std::unique_ptr<ProcessPoolExecutor> executor;
    MapReduceStats stats;
    const auto workers = static_cast<std::size_t>(config.workers);
    CountTable table = pool_reduce(
        [&]() -> ProcessPoolExecutor& {
          executor = std::make_unique<ProcessPoolExecutor>(workers);
          return *executor;
        },
        config.inputs, job, progress.hooks(config), stats);
    executor->shutdown(/*wait=*/false);
    drop_below(table, config.min_count);  // the workers wind down while the output is written
    finish(config, table, stats, config.workers, "pool", start, progress);
  });
}

}  // namespace mr::detail
