#pragma once
/// \file local_blocks.hpp
/// The read side of the SPMD engine, shared by the `mapreduce` program and the typed
/// mr::map_reduce API: every rank receives the blocks of whole lines it owns.

#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>


namespace mr::detail {

/// Where a block of lines came from, so errors can name `file:line`.
struct BlockOrigin {
  std::string_view name;             ///< the input's path ("-" for stdin)
  const char* count_from = nullptr;  ///< line numbers count '\n' from here ...
  std::uint64_t line_base = 0;       ///< ... plus this many lines before it
  std::string_view head = {};        ///< the input's first line, at most head_bytes of it
  /// Bytes of file `name` before `count_from` whose lines line_base leaves out: a location
  /// counts them from the file (only an error asks for one, so reading pays nothing for it).
  std::uint64_t uncounted_bytes = 0;
};

/// The number of '\n' in the first `bytes` of the file at `path` (for an error's line number).
std::uint64_t count_lines_in_file(std::string_view path, std::uint64_t bytes);

/// Bytes of input read at a time from a file or an inflated stream, into one reused buffer
/// that stays in the cache between the read and the map (src/lib/spmd/local_blocks.cpp has
/// the measurements behind the size).
inline constexpr std::size_t read_block_bytes = std::size_t{1} << 20;

/// How much of an input's first line BlockOrigin::head holds.
inline constexpr std::size_t head_bytes = std::size_t{64} << 10;

/// The first line of `text` (without '\n'), at most head_bytes of it.
inline std::string_view first_line_of(std::string_view text) noexcept {
  text = text.substr(0, std::min(text.size(), head_bytes));
  return text.substr(0, std::min(text.size(), text.find('\n')));
}

/// Receives one block of whole lines (the last may lack '\n') and where it came from.
using BlockCallback = std::function<void(std::string_view lines, const BlockOrigin& origin)>;

/// Options of for_each_local_block().
struct LocalBlockOptions {
  std::uint64_t chunk_bytes = 0;  ///< partition piece size; 0: automatic
  /// Called on rank 0 once the plan is known with the bytes rank 0 will map in place.
  std::function<void(std::uint64_t)> on_plan;
};

/// Collective over `comm`: rank 0 discovers `inputs` (errors are agreed on), every rank
/// derives the same partition plan, then each rank calls `on_block` for its own byte
/// ranges of regular files (read in blocks of whole lines), for the whole `.gz` files assigned
/// to it (inflated as a stream, largest files first onto the least-loaded rank), and for
/// its pieces of stdin (read by rank 0 and scattered in bounded rounds). If any rank's
/// on_block throws, every rank throws the lowest failing rank's error (agree_on_error)
/// after the read phase; a failed rank maps nothing more.
void for_each_local_block(MPI_Comm comm, const std::vector<std::string>& inputs,
                          const LocalBlockOptions& options, const BlockCallback& on_block);

/// Reads a whole stream (a `.gz` file, or "-" for stdin) in blocks of whole lines of about
/// `block_bytes`, in bounded memory, calling on_block for each with its line numbers.
void for_each_stream_block(const std::string& path, const BlockCallback& on_block,
                           std::size_t block_bytes = read_block_bytes);

/// Reads the lines that byte range [begin, end) of `path` owns (those that start in it) with
/// pread, a block of about 1 MiB of whole lines at a time into one reused buffer (memory stays
/// bounded), calling on_block for each. Throws InputError when the file cannot be read or
/// changed while it was read.
void for_each_block_in_range(const std::string& path, std::uint64_t begin, std::uint64_t end,
                             const BlockCallback& on_block);

}  // namespace mr::detail
