#include "mr/detail/local_blocks.hpp"

#include <setjmp.h>
#include <signal.h>

#include <algorithm>
#include <boost/mpi/collectives/broadcast.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <climits>
#include <memory>

#include "common/backoff.hpp"
#include "mr/detail/collective_error.hpp"
#include "mr/detail/records.hpp"
#include "engine/input.hpp"
#include "mr/detail/mpi_check.hpp"
#include "engine/partition.hpp"
#include "mr/error.hpp"

namespace mr::detail {
namespace {

/// Bytes read from a stream at a time: rank 0 reads stdin for each rank per round, and a
/// rank reads its `.gz` files in blocks of this size (bounded memory).
constexpr std::size_t stream_bytes_per_rank = 8u << 20;

enum class StreamStatus : int { Data = 0, Done = 1, Failed = 2 };

/// Streams stdin: rank 0 reads blocks of whole lines and scatters one
/// piece to each rank per round. A rank that already failed keeps taking part in the
/// rounds (so no collective is left waiting) but maps nothing.
void stream_input(MPI_Comm comm, int rank, int size, const InputFile& input, const BlockCallback& on_block,
                  std::exception_ptr& error) {
  std::unique_ptr<LineBlockReader> reader;
  std::string block, piece, head;  // head: the stream's first line, sent to every rank once
  bool head_known = false;
  std::uint64_t lines_before = 0;
  const auto n = static_cast<std::size_t>(size);
  std::vector<int> counts(n), displs(n);
  std::vector<std::uint64_t> line_bases(n);
  for (;;) {
    StreamStatus status = StreamStatus::Done;
    if (rank == 0 && !error) {
      try {
        if (!reader) reader = std::make_unique<LineBlockReader>(input.path);
        if (reader->next(block, stream_bytes_per_rank * n)) {
          if (block.size() > static_cast<std::size_t>(INT_MAX))
            throw InputError(input.path + ": a line longer than 2 GiB cannot be scattered");
          status = StreamStatus::Data;
          if (!head_known) head = first_line_of(block);
          const auto cuts = split_lines(block, size);
          std::uint64_t lines = lines_before;
          for (std::size_t r = 0; r < n; ++r) {
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
    MPI_Request request = MPI_REQUEST_NULL;  // rank 0 may read for a while: wait sleeping
    MR_MPI_CALL(MPI_Ibcast, &wire, 1, MPI_INT, 0, comm, &request);
    wait_sleeping(request);
    if (static_cast<StreamStatus>(wire) != StreamStatus::Data) return;
    if (!head_known) {
      auto head_size = static_cast<int>(head.size());
      MR_MPI_CALL(MPI_Bcast, &head_size, 1, MPI_INT, 0, comm);
      head.resize(static_cast<std::size_t>(head_size));
      MR_MPI_CALL(MPI_Bcast, head.data(), head_size, MPI_CHAR, 0, comm);
      head_known = true;
    }
    int count = 0;
    std::uint64_t line_base = 0;
    MR_MPI_CALL(MPI_Scatter, counts.data(), 1, MPI_INT, &count, 1, MPI_INT, 0, comm);
    MR_MPI_CALL(MPI_Scatter, line_bases.data(), 1, MPI_UINT64_T, &line_base, 1, MPI_UINT64_T, 0, comm);
    piece.resize(static_cast<std::size_t>(count));
    MR_MPI_CALL(MPI_Scatterv, block.data(), counts.data(), displs.data(), MPI_CHAR, piece.data(), count, MPI_CHAR,
                0, comm);
    if (error || count == 0) continue;
    try {
      on_block(piece, BlockOrigin{input.path, piece.data(), line_base, head});
    } catch (...) {
      error = std::current_exception();
    }
  }
}

}  // namespace

namespace {

// A mapped file that shrinks while it is read faults (SIGBUS) on the pages past its new end.
// The fault is turned into an error of the range being read: the handler jumps back to
// for_each_block_in_range, which throws "changed while being read". Measured against
// reading with pread (README, "Inputs that change"): the guard costs one sigsetjmp per
// range, pread a copy of every byte.
thread_local sigjmp_buf* bus_guard = nullptr;

void on_bus_error(int signal, siginfo_t*, void*) {
  if (bus_guard) siglongjmp(*bus_guard, 1);
  ::signal(signal, SIG_DFL);  // not a guarded read: the default action (the fault repeats)
}

void install_bus_guard() {
  static const bool installed = [] {
    struct sigaction action {};
    action.sa_sigaction = on_bus_error;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    return ::sigaction(SIGBUS, &action, nullptr) == 0;
  }();
  (void)installed;
}

[[noreturn]] void changed_while_read(const std::string& path) {
  throw InputError(path + ": changed while being read");
}

/// The body of for_each_block_in_range, in its own frame below the sigsetjmp.
void map_windows(const MappedFile& file, const std::string& path, std::uint64_t begin, std::uint64_t end,
                 const BlockCallback& on_block) {
  // Windows bound how much of the mapping is resident at once; each ends on a line start.
  constexpr std::uint64_t window = 32u << 20;
  const std::string_view text = file.text();
  const std::uint64_t stop = first_line_start(text, end);
  std::uint64_t at = first_line_start(text, begin);
  const BlockOrigin origin{path, text.data(), 0, first_line_of(text)};
  while (at < stop) {
    const std::uint64_t window_end = std::min(first_line_start(text, std::min(stop, at + window)), stop);
    file.will_need(window_end, std::min(stop, window_end + window));
    on_block(text.substr(at, window_end - at), origin);
    file.release(at, window_end);
    at = window_end;
  }
}

}  // namespace

void for_each_block_in_range(const std::string& path, std::uint64_t begin, std::uint64_t end,
                             const BlockCallback& on_block) {
  MappedFile file(path);
  if (file.text().size() < end) changed_while_read(path);  // shorter than when the ranges were planned
  install_bus_guard();
  sigjmp_buf guard;
  sigjmp_buf* const outer = bus_guard;
  if (sigsetjmp(guard, 1) != 0) {
    bus_guard = outer;
    changed_while_read(path);
  }
  bus_guard = &guard;
  try {
    map_windows(file, path, begin, end, on_block);
  } catch (...) {
    bus_guard = outer;
    throw;
  }
  bus_guard = outer;
  // A file renamed over or rewritten in place may not fault: it must still be the same one.
  if (!file.unchanged(path, end)) changed_while_read(path);
}

void for_each_stream_block(const std::string& path, const BlockCallback& on_block, std::size_t block_bytes) {
  LineBlockReader reader(path);
  std::string block, head;
  std::uint64_t line_base = 0;
  while (reader.next(block, block_bytes)) {
    if (line_base == 0) head = first_line_of(block);
    on_block(block, BlockOrigin{path, block.data(), line_base, head});
    line_base += count_lines(block);
  }
}

void for_each_local_block(MPI_Comm comm, const std::vector<std::string>& arguments,
                          const LocalBlockOptions& options, const BlockCallback& on_block) {
  int rank = 0, size = 1;
  MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
  MR_MPI_CALL(MPI_Comm_size, comm, &size);

  // Rank 0 inspects the inputs; every rank derives the same plan from the broadcast list.
  std::vector<InputFile> inputs;
  agree_on_error(comm, [&] {
    if (rank == 0) inputs = discover_inputs(arguments);
  });
  boost::mpi::communicator world(comm, boost::mpi::comm_attach);
  boost::mpi::broadcast(world, inputs, 0);
  PartitionOptions partition;
  partition.range_bytes = options.chunk_bytes;
  const auto plan = plan_ranges(inputs, size, partition);
  const auto& mine = plan[static_cast<std::size_t>(rank)];
  if (rank == 0 && options.on_plan) {
    std::uint64_t bytes = 0;
    for (const auto& range : mine) bytes += range.end - range.begin;
    options.on_plan(bytes);
  }

  std::exception_ptr error;
  try {
    for (const auto& range : mine) for_each_block_in_range(inputs[range.file].path, range.begin, range.end, on_block);
    // Compressed files: each rank inflates its own, so none is read through rank 0.
    const auto compressed = assign_whole_files(inputs, size);
    for (const std::uint32_t file : compressed[static_cast<std::size_t>(rank)])
      for_each_stream_block(inputs[file].path, on_block, stream_bytes_per_rank);
  } catch (...) {
    error = std::current_exception();
  }
  for (const auto& input : inputs)
    if (input.kind == InputKind::Stdin) stream_input(comm, rank, size, input, on_block, error);
  agree_on_error(comm, error);
}

}  // namespace mr::detail
