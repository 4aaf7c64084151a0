#pragma once
/// \file output.hpp
/// The result of a built-in job: ordering, the output file (temp + rename), `--top`,
/// `--query` and the summary line / JSON.

#include <cstdint>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mr/detail/hash_table.hpp"
#include "mr/detail/records.hpp"
#include "jobs/job_config.hpp"

namespace mr::detail {

/// One result line. Self-contained for keys of at most 16 bytes (nearly every word and
/// 1-gram): their bytes are in the entry, so entries can be built in the memory of the table
/// they come from (FlatTable::into_entries) and sorted there. A longer key is a pointer to
/// bytes that must outlive the entry (the table's arena, a received buffer). The first 8 key
/// bytes, byte-swapped, are the prefix that most comparisons of equal counts (many counts
/// tie) decide on without touching the key bytes.
struct ResultEntry {
  static constexpr std::size_t inline_bytes = 16;

  std::uint64_t head = 0;  ///< key bytes 0..7 in memory order, zero padded
  std::uint64_t tail = 0;  ///< key bytes 8..15 (a key of at most 16 bytes), else the key's address
  std::int64_t count = 0;
  std::uint64_t size = 0;  ///< of the key

  ResultEntry() = default;
  ResultEntry(std::string_view key, std::int64_t c) noexcept : count(c), size(key.size()) {
    const ShortKey first = short_key(key.data(), std::min(key.size(), inline_bytes));
    head = first.lo;
    tail = key.size() <= inline_bytes ? first.hi : reinterpret_cast<std::uintptr_t>(key.data());
  }
  /// The key; for a short key a view of this entry's own bytes (valid while it stays in place).
  std::string_view key() const noexcept {
    if (size <= inline_bytes) return {reinterpret_cast<const char*>(&head), size};
    return {reinterpret_cast<const char*>(static_cast<std::uintptr_t>(tail)), size};
  }
  /// The key's first 8 bytes as a big-endian number (zero padded): orders as the bytes do.
  std::uint64_t prefix() const noexcept { return __builtin_bswap64(head); }
};
static_assert(sizeof(ResultEntry) == 32, "FlatTable::into_entries fits 32-byte entries in 24-byte slots at 3/4 load");

/// The output order: count descending, then key ascending bytewise (the prefix first). A
/// function object, so that the sorts inline it (a function pointer they would call).
struct ResultBefore {
  bool operator()(const ResultEntry& a, const ResultEntry& b) const noexcept {
    if (a.count != b.count) return a.count > b.count;
    if (a.head != b.head) return a.prefix() < b.prefix();
    return a.key() < b.key();  // char_traits<char> compares as unsigned char: bytewise
  }
};
inline constexpr ResultBefore result_before{};

/// Sorts entries into output order (result_before): an in-place MSD radix sort (American flag
/// sort) on (count descending, key prefix ascending) that skips the byte positions all entries
/// share, then a comparison sort of each run that ties on both (keys sharing their first 8
/// bytes) or is shorter than 64. A high-cardinality
/// result is mostly ties on the count, which a comparison sort resolves a key at a time.
void sort_results(std::span<ResultEntry> entries);

/// The exact size of the result lines of [first, last).
std::size_t result_lines_size(const ResultEntry* first, const ResultEntry* last);
/// Writes the result lines of [first, last) at `at` (result_lines_size bytes: one key copy
/// and one to_chars per line); returns the end.
char* format_result_lines(char* at, const ResultEntry* first, const ResultEntry* last);
/// Appends the result lines `key TAB count\n` of [first, last) to `out`, sized once and filled in place.
void append_result_lines(std::string& out, const ResultEntry* first, const ResultEntry* last);
/// Formats the result lines of [first, last) a chunk of lines at a time (about 1 MB of text for
/// words and 1-grams, which stays in the cache between formatting and the kernel's copy) into
/// one reused buffer, and passes each chunk to `write`: no caller holds the whole text.
void for_each_result_chunk(const ResultEntry* first, const ResultEntry* last,
                           const std::function<void(std::string_view)>& write);

/// Writes `key TAB count\n` for each of the first `count` entries to `out`.
void print_entries(std::FILE* out, const std::vector<ResultEntry>& entries, std::size_t count);

/// Writes `W TAB count\n` for each query and its count (0 when absent).
void print_queries(std::FILE* out, const std::vector<std::string>& queries, const std::vector<std::int64_t>& counts);

/// Copies the file at `path` to stdout a bounded chunk at a time, then removes it (a pool's
/// `--output -`, which its workers write to a temporary file).
void move_file_to_stdout(const std::string& path);

/// Totals of a finished run.
struct JobSummary {
  std::uint64_t bytes = 0;
  std::uint64_t records = 0;
  std::uint64_t distinct_keys = 0;
  double seconds = 0;
  int ranks = 1;   ///< processes that mapped (MPI ranks or pool workers)
  std::string engine = "spmd";
  JobKind job = JobKind::WordCount;
  PhaseTimes phases;                    ///< each the slowest rank's (a pool: read and map as the parent waited)
  std::vector<std::uint64_t> peak_rss;  ///< VmHWM bytes of each rank (a pool: the parent, then each worker)

  /// bytes / seconds / ranks in MB/s (10^6 bytes).
  double mb_per_second_per_rank() const noexcept;
};

/// `mapreduce: 123 bytes, 4 records, 5 distinct keys, 0.010 s, 12.3 MB/s per rank (2 ranks)`
std::string summary_line(const JobSummary& summary);
/// The same as one JSON object (no trailing newline), with "phases" and "peak_rss_bytes".
std::string summary_json(const JobSummary& summary);
/// `mapreduce: phases (slowest of 2 ranks): read 0.010 s, map ...` for --timings.
std::string phases_line(const JobSummary& summary);

/// This process's peak resident memory (VmHWM of /proc/self/status) in bytes; 0 if unknown.
std::uint64_t peak_rss_bytes();

/// What rank 0 (or the pool parent) prints at the end of a run, from answers found where the
/// keys live: the --top entries (in order, at most K), each query's count, the summary (text
/// on stderr; JSON on stdout with --json).
void emit_answers(const JobConfig& config, const std::vector<ResultEntry>& top, const std::vector<std::int64_t>& counts,
                  const JobSummary& summary);

}  // namespace mr::detail
