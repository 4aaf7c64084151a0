#include "spmd/spmd_engine.hpp"

#include <unistd.h>

#include <cstdio>

#include "engine/collective_error.hpp"
#include "jobs/job_mapper.hpp"
#include "mr/detail/local_blocks.hpp"
#include "mr/detail/mpi_check.hpp"
#include "jobs/output.hpp"
#include "mr/detail/shuffle.hpp"

namespace mr::detail {
namespace {

/// Rank 0's progress line on stderr, at most four times a second.
struct Progress {
  bool enabled = false;
  std::uint64_t total = 0;  ///< bytes rank 0 maps in place (0: only streams)
  std::uint64_t done = 0;
  double last = -1e9;  // draw on the first call (MPI_Wtime may start near 0)

  void advance(std::uint64_t bytes) {
    done += bytes;
    const double now = MPI_Wtime();
    if (!enabled || now - last < 0.25) return;
    last = now;
    if (total > 0 && done <= total)
      std::fprintf(stderr, "\rmapreduce: map %5.1f%% (%.0f of %.0f MB on rank 0)",
                   100.0 * static_cast<double>(done) / static_cast<double>(total), static_cast<double>(done) / 1e6,
                   static_cast<double>(total) / 1e6);
    else
      std::fprintf(stderr, "\rmapreduce: map %.0f MB on rank 0", static_cast<double>(done) / 1e6);
  }
  void stage(const char* name) const {
    if (enabled) std::fprintf(stderr, "\rmapreduce: %-50s", name);
  }
  void end() const {
    if (enabled) std::fprintf(stderr, "\r%-70s\r", "");
  }
};

}  // namespace

void run_spmd_engine(MPI_Comm comm, const JobConfig& config) {
  const double start = MPI_Wtime();
  int rank = 0, size = 1;
  MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
  MR_MPI_CALL(MPI_Comm_size, comm, &size);

  Progress progress;
  progress.enabled = rank == 0 && (config.progress || ::isatty(STDERR_FILENO));
  CountTable table(1 << 14);
  JobMapper mapper(config, table);
  LocalBlockOptions options;
  options.chunk_bytes = config.chunk_bytes;
  options.on_plan = [&](std::uint64_t bytes) { progress.total = bytes; };
  for_each_local_block(comm, config.inputs, options, [&](std::string_view lines, const BlockOrigin& origin) {
    mapper.map_block(lines, origin);
    if (rank == 0) progress.advance(lines.size());
  });
  mapper.finish();

  progress.stage("shuffle");
  CountTable result(1 << 14);
  reduce_to_root(comm, table, result);
  std::uint64_t local[2] = {mapper.stats().bytes, mapper.stats().records}, total[2] = {0, 0};
  MR_MPI_CALL(MPI_Reduce, local, total, 2, MPI_UINT64_T, MPI_SUM, 0, comm);

  progress.stage("output");
  agree_on_error(comm, [&] {
    if (rank != 0) return;
    JobSummary summary;
    summary.bytes = total[0];
    summary.records = total[1];
    summary.distinct_keys = result.size();
    summary.ranks = size;
    summary.engine = "spmd";
    summary.job = config.job;
    summary.seconds = MPI_Wtime() - start;
    progress.end();
    emit_result(config, result, summary);
  });
}

}  // namespace mr::detail
