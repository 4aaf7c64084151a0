#include "mr/detail/local_blocks.hpp"

#include <string.h>

#include <algorithm>
#include <boost/mpi/collectives/broadcast.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <climits>
#include <cstring>
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

/// Bytes of stdin rank 0 reads for each rank per round (bounded memory).
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

[[noreturn]] void changed_while_read(const std::string& path) {
  throw InputError(path + ": changed while being read");
}

// Why read_block_bytes (local_blocks.hpp) of whole lines at a time: regular files are read
// with pread into one buffer that stays in the cache between the kernel's copy and the map,
// not through a memory map. On the 2-core VM this was built on, the first touch of each mapped
// page of the page cache costs about 1.5 µs even with its entries populated (a copy costs
// 0.1 µs a page): the 442 MB 1-gram job at -np 1 took 0.386 s instead of 0.687 s (README, "The
// read path"). 1 MiB measured best: 256 KiB, 4 MiB and 16 MiB blocks were 5-14 % slower. `.gz`
// files inflate in blocks of the same size (6 shards at -np 1: 0.97 -> 0.90 s against 8 MiB).

/// Bytes first read past a range's end to find the end of its last line (lines are short: a
/// whole block for a range of a few bytes made --chunk-bytes 1 take minutes). Each further
/// read past the end doubles, up to a block: a line of 1 GiB past the end took 4 KiB reads,
/// each followed by a search of the whole buffer (minutes of memrchr: large_scale_check.sh).
constexpr std::size_t kLineProbeBytes = 4096;

/// The input's first line (at most head_bytes of it): the ngram job's layout comes from it.
/// A first read of kLineProbeBytes holds it nearly always.
std::string read_head(const ReadOnlyFile& file) {
  std::string head(std::min<std::uint64_t>(file.size(), kLineProbeBytes), '\0');
  head.resize(file.read_at(head.data(), head.size(), 0));
  if (head.find('\n') == std::string::npos && file.size() > head.size()) {
    head.resize(std::min<std::uint64_t>(file.size(), head_bytes));
    head.resize(file.read_at(head.data(), head.size(), 0));
  }
  head.resize(first_line_of(head).size());
  return head;
}

/// The read buffer of this thread, kept between ranges (fresh pages cost more than the
/// copies into them); it grows for a line longer than a block and shrinks back after.
std::vector<char>& read_buffer() {
  thread_local std::vector<char> buffer;
  return buffer;
}

}  // namespace

std::uint64_t count_lines_in_file(std::string_view path, std::uint64_t bytes) {
  const ReadOnlyFile file{std::string(path)};
  std::vector<char> buffer(std::min<std::uint64_t>(bytes, read_block_bytes));
  std::uint64_t lines = 0;
  for (std::uint64_t at = 0; at < bytes;) {
    const std::size_t n = file.read_at(buffer.data(), std::min<std::uint64_t>(buffer.size(), bytes - at), at);
    if (n == 0) break;
    lines += static_cast<std::uint64_t>(std::count(buffer.data(), buffer.data() + n, '\n'));
    at += n;
  }
  return lines;
}

void for_each_block_in_range(const std::string& path, std::uint64_t begin, std::uint64_t end,
                             const BlockCallback& on_block) {
  const ReadOnlyFile file(path);
  if (file.size() < end) changed_while_read(path);  // shorter than when the ranges were planned
  if (begin >= end) return;
  const std::string head = read_head(file);
  file.will_read(begin, end);
  std::vector<char>& buffer = read_buffer();
  if (buffer.size() != read_block_bytes) buffer.assign(read_block_bytes, '\0');
  // The range owns the lines that start in [begin, end): it skips the end of a line that
  // started before it (from byte begin - 1 on, up to its '\n') and reads past `end` to the
  // end of its last line. buffer[0, have) holds the file's bytes from `offset` on.
  std::uint64_t offset = begin == 0 ? 0 : begin - 1;
  std::size_t have = 0;
  std::size_t no_newline = 0;  // buffer[0, no_newline) is known to hold no '\n' (a long line's start)
  std::size_t probe = kLineProbeBytes;
  bool at_line_start = begin == 0;
  for (;;) {
    // Up to the range's end and `probe` bytes past it, at most what the buffer holds.
    const std::uint64_t read_from = offset + have;
    const std::uint64_t to_end = end > read_from ? end - read_from : 0;
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size() - have, to_end + probe));
    const std::size_t got = file.read_at(buffer.data() + have, want, read_from);
    const bool at_eof = got < want;
    if (read_from + got > end) probe = std::min(probe * 2, read_block_bytes);
    have += got;
    char* const data = buffer.data();
    if (!at_line_start) {
      const auto* newline = static_cast<const char*>(std::memchr(data, '\n', have));
      if (!newline) {
        if (at_eof) return;  // no line starts in the range
        offset += have;
        have = 0;
        continue;
      }
      const auto skip = static_cast<std::size_t>(newline - data) + 1;
      offset += skip;
      have -= skip;
      std::memmove(data, data + skip, have);
      at_line_start = true;
      if (offset >= end) return;
    }
    // data[0] starts a line of the range. Its last line ends at the first '\n' from byte
    // end - 1 on; until that is in the buffer, pass on the whole lines it holds. Both searches
    // skip what an earlier pass searched: a line of 1 GiB is searched once, not once a read.
    const std::size_t last_from = std::max(
        no_newline, end - 1 > offset ? static_cast<std::size_t>(std::min<std::uint64_t>(end - 1 - offset, have)) : 0);
    const auto* last_newline = static_cast<const char*>(std::memchr(data + last_from, '\n', have - last_from));
    const bool finished = last_newline != nullptr || at_eof;
    std::size_t cut = have;
    if (last_newline) {
      cut = static_cast<std::size_t>(last_newline - data) + 1;
    } else if (!at_eof) {
      const auto* newline = static_cast<const char*>(::memrchr(data + no_newline, '\n', have - no_newline));
      cut = newline ? static_cast<std::size_t>(newline - data) + 1 : 0;
    } else if (offset + have < end) {
      changed_while_read(path);  // it ended before `end`: it shrank
    }
    if (cut > 0) on_block(std::string_view(data, cut), BlockOrigin{path, data, 0, head, offset});
    if (finished) break;
    offset += cut;
    have -= cut;
    std::memmove(data, data + cut, have);
    no_newline = have;  // what is left follows the last '\n'
    if (have == buffer.size()) buffer.resize(buffer.size() * 2);  // one line longer than the buffer
  }
  if (buffer.size() > read_block_bytes) std::vector<char>().swap(buffer);
  // A file renamed over or rewritten in place reads on without an error: it must still be the same one.
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
    // A rank's ranges are a contiguous run of pieces: ranges of one file that meet are read as
    // one (a range owns the lines that start in it, so the union owns the same lines).
    for (std::size_t i = 0; i < mine.size();) {
      ByteRange range = mine[i];
      for (++i; i < mine.size() && mine[i].file == range.file && mine[i].begin == range.end; ++i) range.end = mine[i].end;
      for_each_block_in_range(inputs[range.file].path, range.begin, range.end, on_block);
    }
    // Compressed files: each rank inflates its own, so none is read through rank 0.
    const auto compressed = assign_whole_files(inputs, size);
    for (const std::uint32_t file : compressed[static_cast<std::size_t>(rank)])
      for_each_stream_block(inputs[file].path, on_block);
  } catch (...) {
    error = std::current_exception();
  }
  for (const auto& input : inputs)
    if (input.kind == InputKind::Stdin) stream_input(comm, rank, size, input, on_block, error);
  agree_on_error(comm, error);
}

}  // namespace mr::detail
