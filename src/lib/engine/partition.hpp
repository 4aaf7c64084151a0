#pragma once
/// \file partition.hpp
/// Input discovery and byte-range partitioning (pure functions, testable without MPI).
///
/// Record alignment follows Thrill's read_lines: a line belongs to the range that holds
/// its first byte. A range [begin, end) therefore covers the bytes
/// [first_line_start(begin), first_line_start(end)): it skips the tail of a line that
/// started before it and reads past `end` to finish its last line.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mr::detail {

/// How an input is read.
enum class InputKind : std::uint8_t {
  File,    ///< a regular file, read in place (mmap) by the rank that owns each range
  Gzip,    ///< a `.gz` file, inflated as a stream by the one rank it is assigned to
  Stdin,   ///< a stream: `-`, or any input that is not a regular file (FIFO, /dev/stdin,
           ///< <(...), a character device) or reports size 0 but has content (procfs);
           ///< read by rank 0 (the pool's parent) and scattered
};

/// One input after discovery.
struct InputFile {
  std::string path;
  std::uint64_t size = 0;  ///< bytes on disk (0 for stdin)
  InputKind kind = InputKind::File;

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar & path & size & kind;
  }
};

/// A byte range of one input file (before record alignment).
struct ByteRange {
  std::uint32_t file = 0;  ///< index into the input list
  std::uint64_t begin = 0;
  std::uint64_t end = 0;

  friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

/// Tuning of plan_ranges().
struct PartitionOptions {
  std::uint64_t ranges_per_rank = 4;      ///< several per rank so uneven files balance
  std::uint64_t min_range_bytes = 1 << 20;  ///< no range smaller than this (except file tails)
  std::uint64_t range_bytes = 0;  ///< when non-zero: exactly this piece size (overrides the above)
};

/// Expands command-line inputs: directories recursively (regular files only), `-` as
/// stdin, `*.gz` as Gzip. Files within a directory, and the whole list, are sorted by path
/// so every rank count and argument order sees the same sequence. Throws InputError for
/// a missing or unreadable input or a directory without files.
std::vector<InputFile> discover_inputs(const std::vector<std::string>& arguments);

/// Splits the concatenation of the File inputs into equal pieces (about
/// ranks * ranges_per_rank of them, none below min_range_bytes) and gives each rank a
/// contiguous run of pieces; a piece that spans files becomes one range per file.
/// Returns one list per rank, in input order. Non-File inputs are skipped.
std::vector<std::vector<ByteRange>> plan_ranges(const std::vector<InputFile>& inputs, int ranks,
                                                const PartitionOptions& options = {});

/// Whole compressed files (InputKind::Gzip) for each rank: a compressed stream can only be
/// read from its start, so each file goes to one rank, largest first onto the least-loaded
/// rank (by compressed bytes; ties: the lower rank). Returns input indices per rank, each
/// list in input order. Pure: every rank derives the same assignment.
std::vector<std::vector<std::uint32_t>> assign_whole_files(const std::vector<InputFile>& inputs, int ranks);

/// Offset of the first line that starts at or after `pos` in `text` (text.size() if none).
/// A line starts at 0 and after every '\n'.
inline std::uint64_t first_line_start(std::string_view text, std::uint64_t pos) noexcept {
  if (pos == 0) return 0;
  if (pos >= text.size()) return text.size();
  const void* nl = __builtin_memchr(text.data() + pos - 1, '\n', text.size() - (pos - 1));
  return nl ? static_cast<std::uint64_t>(static_cast<const char*>(nl) - text.data()) + 1 : text.size();
}

/// The whole lines of `text` that range [begin, end) owns (see the file comment).
inline std::string_view aligned_lines(std::string_view text, std::uint64_t begin, std::uint64_t end) noexcept {
  const std::uint64_t b = first_line_start(text, begin);
  const std::uint64_t e = first_line_start(text, end);
  return b < e ? text.substr(b, e - b) : std::string_view(text.data() + b, 0);
}

/// Cuts a buffer of whole lines into `parts` consecutive pieces of about equal size, each
/// a run of whole lines (pieces may be empty). Returns parts+1 offsets.
std::vector<std::uint64_t> split_lines(std::string_view text, int parts);

}  // namespace mr::detail
