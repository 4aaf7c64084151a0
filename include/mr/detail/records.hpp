#pragma once
/// \file records.hpp
/// The one record loop of every MapReduce job, on both engines: a block of whole lines ->
/// one call of the map function per line (without '\n' and a trailing '\r'). A RecordError
/// thrown by the map function becomes an InputError naming the input and the line.

#include <emmintrin.h>

#include <algorithm>
#include <concepts>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "mr/detail/local_blocks.hpp"
#include "mr/detail/tokenize.hpp"
#include "mr/error.hpp"

namespace mr::detail {

/// Bit i set where text[i] == '\n', for 64 bytes at text (SSE2: 4 compares of 16 bytes).
inline std::uint64_t newline_mask(const char* text) noexcept {
  const __m128i newline = _mm_set1_epi8('\n');
  std::uint64_t mask = 0;
  for (int k = 0; k < 4; ++k) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text + 16 * k));
    mask |= static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, newline))))
            << (16 * k);
  }
  return mask;
}

/// Calls f(line) for every line of `block`; a last line without '\n' counts, an empty
/// remainder after the last '\n' does not. Newlines are found 64 bytes at a time, so short
/// lines (n-gram records are ~25 bytes) cost no per-line library call.
template <class F>
void for_each_line(std::string_view block, F&& f) {
  const char* const base = block.data();
  const std::size_t size = block.size();
  std::size_t start = 0;
  auto line_until = [&](std::size_t newline) {
    std::size_t end = newline;
    if (end > start && base[end - 1] == '\r') --end;
    f(std::string_view(base + start, end - start));
    start = newline + 1;
  };
  std::size_t at = 0;
  for (; at + 64 <= size; at += 64)
    for (std::uint64_t nl = newline_mask(base + at); nl != 0; nl &= nl - 1)
      line_until(at + static_cast<std::size_t>(__builtin_ctzll(nl)));
  for (; at < size; ++at)
    if (base[at] == '\n') line_until(at);
  if (start < size) line_until(size);
}

/// Seconds since the previous lap (or construction), for PhaseTimes.
class PhaseClock {
 public:
  double lap() noexcept {
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    return seconds;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

/// "name:line" of the record starting at `record` inside a block from `origin`.
inline std::string record_location(const BlockOrigin& origin, const char* record) {
  std::uint64_t number = origin.line_base + 1;
  if (origin.uncounted_bytes) number += count_lines_in_file(origin.name, origin.uncounted_bytes);
  if (origin.count_from) number += static_cast<std::uint64_t>(std::count(origin.count_from, record, '\n'));
  return std::string(origin.name) + ":" + std::to_string(number);
}

}  // namespace mr::detail

namespace mr {

/// Wall-clock seconds one process spent in each phase of a run.
struct PhaseTimes {
  /// Producing input blocks: discovery, planning, inflating `.gz`, reading stdin. The page
  /// faults of memory-mapped files count as map: they happen where the map touches the bytes.
  double read = 0;
  double map = 0;      ///< the map function and the local combiner
  double shuffle = 0;  ///< moving keys to their owners (a pool: workers' tables to the parent)
  double reduce = 0;   ///< merging what arrived into the owner's table
  double sort = 0;     ///< ordering the result (the distributed sort of an output file)
  double write = 0;    ///< formatting and writing the result file

  PhaseTimes& operator+=(const PhaseTimes& other) noexcept {
    read += other.read;
    map += other.map;
    shuffle += other.shuffle;
    reduce += other.reduce;
    sort += other.sort;
    write += other.write;
    return *this;
  }
};

/// Bytes and records mapped: by one task, one rank, or (in results) the whole job; and this
/// process's phase times.
struct MapReduceStats {
  std::uint64_t bytes = 0;    ///< input bytes mapped
  std::uint64_t records = 0;  ///< map calls (lines, or items)
  PhaseTimes phases;          ///< this process's (a pool's parent: the run as it saw it)

  /// Adds another part's counts and phase times (a pool's map tasks, summed).
  MapReduceStats& operator+=(const MapReduceStats& other) noexcept {
    bytes += other.bytes;
    records += other.records;
    phases += other.phases;
    return *this;
  }
};

/// A record type for map functions that see a block of whole lines at once (the last may
/// lack '\n'), for tokenizers to whom a line end is just a separator: a word count maps a
/// block in one pass instead of one call per line. Such a map function may return the
/// number of lines it saw (else they are counted), and names a bad line by throwing
/// RecordError(message, pointer into that line).
struct Lines {
  std::string_view text;
  /// The first line of the input these lines come from (at most its first 64 KiB), the same
  /// in every block of that input on every rank and worker: a map function can decide a
  /// file's format from it once, the same way wherever a range of the file is read.
  std::string_view head = {};
};

}  // namespace mr

namespace mr::detail {

/// Number of lines in a buffer of whole lines: newlines, plus one for a final line without one.
inline std::uint64_t count_lines(std::string_view text) noexcept {
  std::uint64_t lines = 0;
  std::size_t at = 0;
  for (; at + 64 <= text.size(); at += 64)
    lines += tokenize_detail::bit_count(newline_mask(text.data() + at));  // no libgcc popcount call
  for (; at < text.size(); ++at) lines += text[at] == '\n';
  return lines + (!text.empty() && text.back() != '\n');
}

/// The record loop: calls map(line, emit) for every line of `block`, or map(Lines, emit)
/// once for a map function over blocks. A RecordError becomes InputError "name:line: reason".
template <class Map, class Emit>
void map_records(std::string_view block, const BlockOrigin& origin, Map& map, Emit& emit, MapReduceStats& stats) {
  stats.bytes += block.size();
  const char* at = block.data();
  try {
    if constexpr (std::invocable<Map&, Lines, Emit&>) {
      if constexpr (std::is_integral_v<std::invoke_result_t<Map&, Lines, Emit&>>)
        stats.records += static_cast<std::uint64_t>(map(Lines{block, origin.head}, emit));
      else {
        map(Lines{block, origin.head}, emit);
        stats.records += count_lines(block);
      }
    } else {
      std::uint64_t records = 0;
      for_each_line(block, [&](std::string_view line) {
        at = line.data();
        ++records;
        map(line, emit);
      });
      stats.records += records;
    }
  } catch (const RecordError& e) {
    const bool inside = e.where() && e.where() >= block.data() && e.where() <= block.data() + block.size();
    throw InputError(record_location(origin, inside ? e.where() : at) + ": " + e.what());
  }
}

}  // namespace mr::detail
