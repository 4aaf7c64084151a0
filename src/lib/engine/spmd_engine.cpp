#include "mr/detail/spmd_engine.hpp"

#include <unistd.h>

#include <boost/mpi/collectives/broadcast.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <cstdio>

#include "mr/detail/collective_error.hpp"
#include "mr/detail/input.hpp"
#include "mr/detail/job_mapper.hpp"
#include "mr/detail/mpi_check.hpp"
#include "mr/detail/output.hpp"
#include "mr/detail/partition.hpp"
#include "mr/detail/shuffle.hpp"
#include "mr/error.hpp"

namespace mr::detail {
namespace {

/// Rank 0's progress line on stderr, at most four times a second.
struct Progress {
  bool enabled = false;
  std::uint64_t total = 0;
  std::uint64_t done = 0;
  double last = 0;

  static void on_bytes(std::uint64_t bytes, void* self) { static_cast<Progress*>(self)->advance(bytes); }
  void advance(std::uint64_t bytes) {
    done += bytes;
    const double now = MPI_Wtime();
    if (!enabled || now - last < 0.25) return;
    last = now;
    if (total > 0)
      std::fprintf(stderr, "\rmapreduce: map %5.1f%% (%.0f of %.0f MB on rank 0)", 100.0 * static_cast<double>(done) / static_cast<double>(total),
                   static_cast<double>(done) / 1e6, static_cast<double>(total) / 1e6);
    else
      std::fprintf(stderr, "\rmapreduce: map %.0f MB (stream)", static_cast<double>(done) / 1e6);
  }
  void stage(const char* name) {
    if (enabled) std::fprintf(stderr, "\rmapreduce: %-50s", name);
  }
  void end() {
    if (enabled) std::fprintf(stderr, "\r%-70s\r", "");
  }
};

/// Bytes rank 0 reads from a stream per rank and round: bounds memory for stdin / .gz.
constexpr std::size_t stream_bytes_per_rank = 8u << 20;

enum class StreamStatus : int { Data = 0, Done = 1, Failed = 2 };

/// Streams one non-mappable input: rank 0 reads blocks of whole lines and scatters one
/// piece to each rank per round. A rank that already failed keeps taking part in the
/// rounds (so no collective is left waiting) but maps nothing.
void map_stream(MPI_Comm comm, int rank, int size, const InputFile& input, JobMapper& mapper,
                std::exception_ptr& error, Progress& progress) {
  std::unique_ptr<LineBlockReader> reader;
  std::string block;
  std::string piece;
  std::uint64_t lines_before = 0;
  std::vector<int> counts(static_cast<std::size_t>(size)), displs(static_cast<std::size_t>(size));
  std::vector<std::uint64_t> line_bases(static_cast<std::size_t>(size));
  for (;;) {
    StreamStatus status = StreamStatus::Done;
    if (rank == 0 && !error) {
      try {
        if (!reader) reader = std::make_unique<LineBlockReader>(input.path);
        if (reader->next(block, stream_bytes_per_rank * static_cast<std::size_t>(size))) {
          if (block.size() > static_cast<std::size_t>(INT_MAX))
            throw InputError(input.path + ": a line longer than 2 GiB cannot be scattered");
          status = StreamStatus::Data;
          const auto cuts = split_lines(block, size);
          std::uint64_t lines = lines_before;
          for (std::size_t r = 0; r < counts.size(); ++r) {
            displs[r] = static_cast<int>(cuts[r]);
            counts[r] = static_cast<int>(cuts[r + 1] - cuts[r]);
            line_bases[r] = lines;
            lines += static_cast<std::uint64_t>(std::count(block.data() + cuts[r], block.data() + cuts[r + 1], '\n'));
          }
          lines_before = lines;
        }
      } catch (...) {
        error = std::current_exception();
        status = StreamStatus::Failed;
      }
    }
    int wire = static_cast<int>(status);
    MR_MPI_CALL(MPI_Bcast, &wire, 1, MPI_INT, 0, comm);
    if (static_cast<StreamStatus>(wire) != StreamStatus::Data) return;
    int count = 0;
    std::uint64_t line_base = 0;
    MR_MPI_CALL(MPI_Scatter, counts.data(), 1, MPI_INT, &count, 1, MPI_INT, 0, comm);
    MR_MPI_CALL(MPI_Scatter, line_bases.data(), 1, MPI_UINT64_T, &line_base, 1, MPI_UINT64_T, 0, comm);
    piece.resize(static_cast<std::size_t>(count));
    MR_MPI_CALL(MPI_Scatterv, block.data(), counts.data(), displs.data(), MPI_CHAR, piece.data(), count, MPI_CHAR, 0,
                comm);
    if (error) continue;
    try {
      mapper.map_block(piece, BlockOrigin{input.path, piece.data(), line_base});
      if (rank == 0) progress.advance(block.size());
    } catch (...) {
      error = std::current_exception();
    }
  }
}

}  // namespace

void run_spmd_engine(MPI_Comm comm, const JobConfig& config) {
  const double start = MPI_Wtime();
  int rank = 0, size = 1;
  MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
  MR_MPI_CALL(MPI_Comm_size, comm, &size);
  boost::mpi::communicator world(comm, boost::mpi::comm_attach);

  // Rank 0 inspects the inputs; every rank derives the same plan from the broadcast list.
  std::vector<InputFile> inputs;
  agree_on_error(comm, [&] {
    if (rank == 0) inputs = discover_inputs(config.inputs);
  });
  boost::mpi::broadcast(world, inputs, 0);
  PartitionOptions options;
  options.range_bytes = config.chunk_bytes;
  const auto plan = plan_ranges(inputs, size, options);
  const auto& mine = plan[static_cast<std::size_t>(rank)];

  Progress progress;
  progress.enabled = rank == 0 && (config.progress || ::isatty(STDERR_FILENO));
  for (const auto& range : mine) progress.total += range.end - range.begin;

  // Map: own byte ranges in place, then the streamed inputs.
  CountTable table(1 << 14);
  JobMapper mapper(config, table);
  std::exception_ptr error;
  try {
    for (const auto& range : mine)
      map_file_range(mapper, inputs[range.file].path, range.begin, range.end, &Progress::on_bytes, &progress);
  } catch (...) {
    error = std::current_exception();
  }
  for (const auto& input : inputs)
    if (input.kind != InputKind::File) map_stream(comm, rank, size, input, mapper, error, progress);
  if (!error) {
    try {
      mapper.finish();
    } catch (...) {
      error = std::current_exception();
    }
  }
  agree_on_error(comm, error);

  // Shuffle: every key to its owner rank, reduced there; then everything to rank 0.
  progress.stage("shuffle");
  CountTable result(1 << 14);
  if (size == 1) {
    std::swap(result, table);
  } else {
    auto received = alltoallv_bytes(comm, partition_table(table, size));
    table.clear();
    CountTable owned(1 << 14);
    for (auto& buffer : received) {
      merge_buffer(std::string_view(buffer.data(), buffer.size()), owned);
      ByteBuffer().swap(buffer);
    }
    const ByteBuffer serialized = serialize_table(owned);
    owned.clear();
    auto gathered = gatherv_bytes(comm, serialized, 0);
    for (auto& buffer : gathered) {
      merge_buffer(std::string_view(buffer.data(), buffer.size()), result);
      ByteBuffer().swap(buffer);
    }
  }
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
