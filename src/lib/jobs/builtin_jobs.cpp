// The `mapreduce` program's jobs, written with the public API (the way Thrill's WordCount
// is a plain Thrill program), and their runs on MPI ranks or on a process pool. Both
// engines share the record loop, the partitioner, the progress line and the summary.
#include "jobs/builtin_jobs.hpp"

#include <unistd.h>

#include <boost/serialization/binary_object.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/signals.hpp"
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

/// --min-count: keeps only the keys whose total is at least `min_count` (a rank's owned keys,
/// once reduced: they are final totals).
void drop_below(CountTable& table, std::uint64_t min_count) {
  if (min_count == 0) return;
  CountTable kept(table.size() + 16, table.reducer());
  table.for_each([&](std::string_view key, std::uint64_t hash, std::int64_t count) {
    if (count >= 0 && static_cast<std::uint64_t>(count) >= min_count) kept.add(key, hash, count);
  });
  table = std::move(kept);
}

bool progress_wanted(const JobConfig& config) { return config.progress || ::isatty(STDERR_FILENO) == 1; }

/// Every job's result: string keys, summed counts (the three jobs differ only in their map).
using CountResult = Distributed<std::string, std::int64_t, SumReduce>;

/// What the end of a run needs from the command line; travels to the pool's workers.
struct EndRequest {
  std::string output;
  std::uint64_t top = 0;
  std::vector<std::string> queries;
  std::uint64_t min_count = 0;

  static EndRequest of(const JobConfig& config) { return {config.output, config.top, config.queries, config.min_count}; }
  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & output & top & queries & min_count;
  }
};

/// What rank 0 (worker 0) knows at the end of a run: the answers, found where the keys live.
struct Answers {
  std::vector<std::string> top_keys;  ///< --top, in order
  std::vector<std::int64_t> top_counts;
  std::vector<std::int64_t> counts;   ///< each --query's count (0: absent)
  std::uint64_t distinct = 0;
  MapReduceStats stats;               ///< totals; each phase the slowest rank's
  std::vector<std::uint64_t> peak_rss;  ///< every rank's, in rank order

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & top_keys & top_counts & counts & distinct & peak_rss;
    archive & boost::serialization::make_binary_object(&stats, sizeof stats);  // plain numbers
  }
};

/// The end of a run on the processes that own the keys (MPI ranks, or a pool's workers):
/// --min-count, the sorted file written by every rank, --top from each rank's own top K,
/// --query from each key's owner, the totals. No rank gathers the table. Collective; the
/// answers are rank 0's (empty elsewhere).
Answers end_on_owners(MPI_Comm comm, CountResult& result, const EndRequest& request, const Progress& progress) {
  int rank = 0, size = 1;
  MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
  MR_MPI_CALL(MPI_Comm_size, comm, &size);
  drop_below(result.table(), request.min_count);
  MapReduceStats stats = result.stats();
  progress.stage("top and queries");
  Answers answers;
  for (auto& [key, count] : result.top(static_cast<std::size_t>(std::min<std::uint64_t>(request.top, SIZE_MAX)))) {
    answers.top_keys.push_back(std::move(key));
    answers.top_counts.push_back(count);
  }
  for (const auto& count : result.lookup(request.queries)) answers.counts.push_back(count.value_or(0));
  answers.distinct = result.size();
  // Last: the sort takes the table's memory over.
  if (!request.output.empty()) {
    progress.stage("sort and write");
    write_sorted_output(comm, std::move(result.table()), request.output, stats.phases);
  }
  answers.stats = stats;
  // Each phase: the slowest rank's. The peak memory: every rank's.
  static_assert(sizeof(PhaseTimes) == 6 * sizeof(double), "PhaseTimes is reduced as 6 doubles");
  MR_MPI_CALL(MPI_Reduce, &stats.phases, &answers.stats.phases, 6, MPI_DOUBLE, MPI_MAX, 0, comm);
  const std::uint64_t peak = peak_rss_bytes();
  answers.peak_rss.resize(rank == 0 ? static_cast<std::size_t>(size) : 0);
  MR_MPI_CALL(MPI_Gather, &peak, 1, MPI_UINT64_T, answers.peak_rss.data(), 1, MPI_UINT64_T, 0, comm);
  return answers;
}

/// Rank 0's (the pool parent's) printout of the answers.
void print_answers(const JobConfig& config, const Answers& answers, JobSummary summary) {
  std::vector<ResultEntry> top;
  for (std::size_t i = 0; i < answers.top_keys.size(); ++i) top.emplace_back(answers.top_keys[i], answers.top_counts[i]);
  emit_answers(config, top, answers.counts, summary);
}

JobSummary summary_of(const JobConfig& config, const Answers& answers, int processes, const char* engine,
                      std::chrono::steady_clock::time_point start) {
  JobSummary summary;
  summary.bytes = answers.stats.bytes;
  summary.records = answers.stats.records;
  summary.distinct_keys = answers.distinct;
  summary.ranks = processes;
  summary.engine = engine;
  summary.job = config.job;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  summary.phases = answers.stats.phases;
  summary.peak_rss = answers.peak_rss;
  return summary;
}

/// The pool workers' end of a run (MR_JOB_TAIL of the three jobs): worker 0's answers.
std::string end_on_workers(MPI_Comm workers, CountResult& result, std::string request) {
  return encode_value(end_on_owners(workers, result, decode_value<EndRequest>(request), Progress(false)));
}
MR_JOB_TAIL(wordcount_job, end_on_workers);
MR_JOB_TAIL(wordcount_alnum_job, end_on_workers);
MR_JOB_TAIL(ngram_job, end_on_workers);

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
    const Answers answers = end_on_owners(comm, result, EndRequest::of(config), progress);
    agree_on_error(comm, [&] {
      if (rank != 0) return;
      progress.end();
      print_answers(config, answers, summary_of(config, answers, size, "spmd", start));
    });
  });
}

void run_on_pool(const JobConfig& config) {
  if (config.workers < 1) throw UsageError("--workers: give the number of worker processes (at least 1)");
  const auto start = std::chrono::steady_clock::now();
  Progress progress(progress_wanted(config));
  // The workers' stdout is not this process's: they write `--output -` to a temporary file
  // that the parent copies out.
  EndRequest request = EndRequest::of(config);
  std::optional<TempFileGuard> stdout_file;
  if (request.output == "-") {
    request.output = (std::filesystem::temp_directory_path() / ("mr-pool-stdout-" + std::to_string(::getpid()))).string();
    stdout_file.emplace(request.output);
  }
  with_job(config, [&](const auto& job) {
    std::unique_ptr<ProcessPoolExecutor> executor;
    MapReduceStats parent;
    // The result stays on the workers: they shuffle it among themselves, then sort and
    // write it and answer --top and --query (end_on_workers); worker 0's answers come back.
    const Bytes result = pool_reduce_on_workers(
        [&]() -> ProcessPoolExecutor& {
          executor = std::make_unique<ProcessPoolExecutor>(static_cast<std::size_t>(config.workers));
          return *executor;
        },
        config.inputs, job, &end_on_workers, encode_value(request), progress.hooks(config), parent);
    executor->shutdown(/*wait=*/false);
    auto answers = decode_value<Answers>(result);
    // Reading and mapping as the parent waited for them (stdin included); the rest, the
    // slowest worker's. The parent's peak memory first, then the workers'.
    answers.stats.phases.read = parent.phases.read;
    answers.stats.phases.map = parent.phases.map;
    answers.peak_rss.insert(answers.peak_rss.begin(), peak_rss_bytes());
    if (stdout_file) move_file_to_stdout(request.output);
    progress.end();
    print_answers(config, answers, summary_of(config, answers, config.workers, "pool", start));
  });
}

}  // namespace mr::detail
