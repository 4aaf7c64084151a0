#pragma once
/// \file parallel_file.hpp
/// A file written by every rank at once: rank r's bytes follow rank r-1's. Each rank writes
/// its own part at its offset (an exclusive scan of the sizes) with pwrite, into a temporary
/// file that rank 0 renames into place once every rank has written, so the file appears whole
/// or not at all. Where some rank cannot open that temporary file (an output directory that is
/// not shared between the nodes), and where the output is stdout, a device or a FIFO
/// (AtomicFile writes those in place), the parts are streamed to rank 0 in rank order instead,
/// one bounded chunk at a time.
///
/// Why pwrite and not MPI_File_write_at: with one contiguous block per rank, MPI-IO has nothing
/// to aggregate (ROMIO's UFS driver issues the same pwrite), and Open MPI 4.1's default ompio
/// component costs 60-120 ms to open and 15-80 ms to close a file at -np 2 on the 2-core test
/// machine (ROMIO: 0.2 ms; pwrite: ~1.6 ms including a barrier), more than writing a
/// million-key result.

#include <mpi.h>

#include <climits>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace mr::detail {

/// How write_in_rank_order() writes the file.
enum class ParallelWrite {
  every_rank,   ///< each rank at its offset, when every rank can open the file
  through_root  ///< the parts streamed to rank 0 in rank order
};

struct ParallelWriteOptions {
  /// every_rank falls back to through_root where some rank cannot open the file, and on one
  /// rank (its part is the file); tests force through_root.
  ParallelWrite route = ParallelWrite::every_rank;
  /// The largest single write or message (MPI counts are `int`; tests lower it).
  std::uint64_t chunk_limit = std::uint64_t{1} << 30;
};

/// Writes the concatenation, in rank order, of every rank's `bytes` as the file `path`.
/// Collective; returns the route taken. On failure every rank throws the same InputError
/// naming the path, and no file is left behind.
ParallelWrite write_in_rank_order(MPI_Comm comm, const std::string& path, std::string_view bytes,
                                  const ParallelWriteOptions& options = {});

/// Passes the pieces of a rank's part, in order, to the writer it is given.
using PartProducer = std::function<void(const std::function<void(std::string_view)>& write)>;

/// The same for a part of `size` bytes made a piece at a time by `produce(write)` (pieces of
/// any size, `size` in all), so that no rank holds its whole part: the result file is
/// formatted a cache-sized chunk at a time and written as it is made. Pieces that do not add
/// up to `size` fail the write on every rank (std::logic_error on the rank that made them).
ParallelWrite write_in_rank_order(MPI_Comm comm, const std::string& path, std::uint64_t size,
                                  const PartProducer& produce, const ParallelWriteOptions& options = {});

}  // namespace mr::detail
