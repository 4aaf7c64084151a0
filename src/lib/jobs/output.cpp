#include "jobs/output.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <utility>
#include <charconv>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstring>
#include <memory>

#include "mr/error.hpp"

namespace mr::detail {
namespace {

void write_all(std::FILE* out, std::string_view text, const std::string& name) {
  if (!text.empty() && std::fwrite(text.data(), 1, text.size(), out) != text.size())
    throw InputError(name + ": write failed: " + std::strerror(errno));
}

std::string json_escape(std::string_view text) {
  std::string out;
  for (const unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

/// The sort key of an entry, as two words compared most significant first: the count mapped
/// to an unsigned order and inverted (descending), then the key's 8-byte prefix.
std::uint64_t count_word(const ResultEntry& e) noexcept {
  return ~(static_cast<std::uint64_t>(e.count) ^ (std::uint64_t{1} << 63));
}
/// Byte `digit` of the 16-byte sort key (0: the most significant).
unsigned digit_of(const ResultEntry& e, int digit) noexcept {
  const std::uint64_t word = digit < 8 ? count_word(e) : e.prefix();
  return static_cast<unsigned>(word >> (8 * (7 - digit % 8))) & 0xFF;
}
constexpr int kDigits = 16;
constexpr std::size_t kComparisonSortBelow = 64;  // runs this short: std::sort

/// MSD radix sort in place (American flag sort) of the n entries at `data`, from `digit` on:
/// each level is one counting pass and sweeps of swaps that move every entry into its byte's
/// bucket. After two or three levels the buckets fit in the cache, so the passes over
/// memory are few (the LSD sort this replaced made one per varying byte, through a scratch
/// copy as large as the entries: 320 MB at 10 M keys).
void msd_sort(ResultEntry* data, std::size_t n, int digit, std::uint32_t varying) {
  for (;; ++digit) {
    if (n < kComparisonSortBelow || digit == kDigits) {  // past the prefix: by the whole key
      std::sort(data, data + n, result_before);
      return;
    }
    if (!((varying >> digit) & 1)) continue;  // the same byte in every entry
    std::array<std::size_t, 257> start{};
    for (std::size_t i = 0; i < n; ++i) ++start[digit_of(data[i], digit) + 1];
    if (std::find(start.begin() + 1, start.end(), n) != start.end()) continue;  // one bucket
    for (std::size_t b = 0; b < 256; ++b) start[b + 1] += start[b];
    std::array<std::size_t, 256> next;
    std::copy(start.begin(), start.end() - 1, next.begin());
    // Sweeps (as ska_sort's): each entry of a bucket's unplaced part is swapped with the next
    // free place of its own bucket, which places it, and whatever was there is looked at again
    // in a later sweep. Unlike a cycle leader, where the entry taken in hand decides the next
    // address, the steps are independent: their cache misses overlap.
    std::array<std::uint8_t, 256> pending;
    unsigned left = 0;
    for (unsigned b = 0; b < 256; ++b)
      if (next[b] < start[b + 1]) pending[left++] = static_cast<std::uint8_t>(b);
    while (left > 0) {
      unsigned kept = 0;
      for (unsigned k = 0; k < left; ++k) {
        const unsigned b = pending[k];
        const std::size_t end = start[b + 1];
        for (std::size_t at = next[b]; at < end; ++at) {
          const std::size_t to = next[digit_of(data[at], digit)]++;
          __builtin_prefetch(&data[to + 4], 1);  // each bucket fills front to back
          std::swap(data[at], data[to]);
        }
        if (next[b] < end) pending[kept++] = static_cast<std::uint8_t>(b);
      }
      left = kept;
    }
    for (std::size_t b = 0; b < 256; ++b)
      if (start[b + 1] > start[b]) msd_sort(data + start[b], start[b + 1] - start[b], digit + 1, varying);
    return;
  }
}

}  // namespace

void sort_results(std::span<ResultEntry> entries) {
  const std::size_t n = entries.size();
  if (n < kComparisonSortBelow) {
    std::sort(entries.begin(), entries.end(), result_before);
    return;
  }
  // Bytes of the sort key that are the same in every entry (most of a count's) take no pass.
  std::uint64_t count_or = 0, count_and = ~std::uint64_t{0}, prefix_or = 0, prefix_and = ~std::uint64_t{0};
  for (const ResultEntry& e : entries) {
    count_or |= count_word(e);
    count_and &= count_word(e);
    prefix_or |= e.prefix();
    prefix_and &= e.prefix();
  }
  const std::uint64_t words[2] = {count_or & ~count_and, prefix_or & ~prefix_and};
  std::uint32_t varying = 0;
  for (int digit = 0; digit < kDigits; ++digit)
    if ((words[digit / 8] >> (8 * (7 - digit % 8))) & 0xFF) varying |= std::uint32_t{1} << digit;
  msd_sort(entries.data(), n, 0, varying);
}

namespace {
/// The length of std::to_chars(count) (sign included).
std::size_t decimal_length(std::int64_t count) {
  std::uint64_t magnitude = count < 0 ? 0 - static_cast<std::uint64_t>(count) : static_cast<std::uint64_t>(count);
  std::size_t length = count < 0 ? 2 : 1;
  for (; magnitude >= 10; magnitude /= 10) ++length;
  return length;
}
}  // namespace

std::size_t result_lines_size(const ResultEntry* first, const ResultEntry* last) {
  std::size_t bytes = 0;
  for (const ResultEntry* entry = first; entry != last; ++entry) bytes += entry->size + decimal_length(entry->count) + 2;
  return bytes;
}

char* format_result_lines(char* at, const ResultEntry* first, const ResultEntry* last) {
  constexpr std::size_t kCountDigits = 20;  // the longest int64 (with its sign)
  // A key over 16 bytes is a random access into the table's arena (or a received buffer) in
  // output order: loading it a few lines ahead overlaps those cache misses (when every key was
  // one, they were most of the formatting: 1 M lines at -np 1, 72 -> 26-31 ms).
  constexpr std::ptrdiff_t kAhead = 16;
  for (const ResultEntry* entry = first; entry != last; ++entry) {
    if (last - entry > kAhead && entry[kAhead].size > ResultEntry::inline_bytes) __builtin_prefetch(entry[kAhead].key().data());
    const std::string_view key = entry->key();
    std::memcpy(at, key.data(), key.size());
    at += key.size();
    *at++ = '\t';
    at = std::to_chars(at, at + kCountDigits, entry->count).ptr;
    *at++ = '\n';
  }
  return at;
}

void append_result_lines(std::string& out, const ResultEntry* first, const ResultEntry* last) {
  const std::size_t start = out.size();
  out.resize(start + result_lines_size(first, last));
  format_result_lines(out.data() + start, first, last);
}

void for_each_result_chunk(const ResultEntry* first, const ResultEntry* last,
                           const std::function<void(std::string_view)>& write) {
  constexpr std::ptrdiff_t kLinesPerChunk = std::ptrdiff_t{1} << 16;
  std::string chunk;
  for (const ResultEntry* at = first; at != last;) {
    const ResultEntry* end = at + std::min(kLinesPerChunk, last - at);
    chunk.clear();
    append_result_lines(chunk, at, end);
    write(chunk);
    at = end;
  }
}

void print_entries(std::FILE* out, const std::vector<ResultEntry>& entries, std::size_t count) {
  std::string buffer;
  append_result_lines(buffer, entries.data(), entries.data() + std::min(count, entries.size()));
  write_all(out, buffer, "stdout");
}

void print_queries(std::FILE* out, const std::vector<std::string>& queries, const std::vector<std::int64_t>& counts) {
  std::string buffer;
  for (std::size_t i = 0; i < queries.size(); ++i) {
    const ResultEntry line(queries[i], counts[i]);
    append_result_lines(buffer, &line, &line + 1);
  }
  write_all(out, buffer, "stdout");
}

void move_file_to_stdout(const std::string& path) {
  // Removed however the copy ends: a failed write to stdout must not leave it in $TMPDIR.
  const auto remove = [](const char* name) { std::remove(name); };
  const std::unique_ptr<const char, decltype(remove)> remove_at_end(path.c_str(), remove);
  const auto close = [](std::FILE* file) { std::fclose(file); };
  const std::unique_ptr<std::FILE, decltype(close)> in(std::fopen(path.c_str(), "rb"), close);
  if (!in) throw InputError(path + ": cannot open: " + std::strerror(errno));
  std::string chunk(std::size_t{1} << 20, '\0');
  for (std::size_t got; (got = std::fread(chunk.data(), 1, chunk.size(), in.get())) > 0;)
    write_all(stdout, std::string_view(chunk.data(), got), "stdout");
}

double JobSummary::mb_per_second_per_rank() const noexcept {
  const double s = seconds > 0 ? seconds : 1e-9;
  return static_cast<double>(bytes) / s / 1e6 / (ranks > 0 ? ranks : 1);
}

std::string summary_line(const JobSummary& s) {
  char text[320];
  std::snprintf(text, sizeof text,
                "mapreduce: %s, %" PRIu64 " bytes, %" PRIu64 " records, %" PRIu64
                " distinct keys, %.3f s, %.1f MB/s per rank (%d %s)",
                to_string(s.job), s.bytes, s.records, s.distinct_keys, s.seconds, s.mb_per_second_per_rank(),
                s.ranks, s.engine == "spmd" ? (s.ranks == 1 ? "rank" : "ranks") : (s.ranks == 1 ? "worker" : "workers"));
  return text;
}

std::string summary_json(const JobSummary& s) {
  char text[400];
  std::snprintf(text, sizeof text,
                "{\"job\":\"%s\",\"engine\":\"%s\",\"ranks\":%d,\"bytes\":%" PRIu64 ",\"records\":%" PRIu64
                ",\"distinct_keys\":%" PRIu64 ",\"seconds\":%.6f,\"mb_per_s_per_rank\":%.3f,",
                to_string(s.job), json_escape(s.engine).c_str(), s.ranks, s.bytes, s.records, s.distinct_keys,
                s.seconds, s.mb_per_second_per_rank());
  std::string json = text;
  const PhaseTimes& p = s.phases;
  std::snprintf(text, sizeof text,
                "\"phases\":{\"read\":%.6f,\"map\":%.6f,\"shuffle\":%.6f,\"reduce\":%.6f,\"sort\":%.6f,"
                "\"write\":%.6f},\"peak_rss_bytes\":[",
                p.read, p.map, p.shuffle, p.reduce, p.sort, p.write);
  json += text;
  for (std::size_t i = 0; i < s.peak_rss.size(); ++i) {
    if (i > 0) json += ',';
    json += std::to_string(s.peak_rss[i]);
  }
  json += "]}";
  return json;
}

std::string phases_line(const JobSummary& s) {
  const PhaseTimes& p = s.phases;
  char text[320];
  std::snprintf(text, sizeof text,
                "mapreduce: phases (%s): read %.3f s, map %.3f s, shuffle %.3f s, reduce %.3f s, sort %.3f s, "
                "write %.3f s",
                s.engine == "spmd" ? "slowest rank each" : "pool: read and map as the parent waited, the rest slowest worker each", p.read, p.map, p.shuffle, p.reduce,
                p.sort, p.write);
  return text;
}

std::uint64_t peak_rss_bytes() {
  std::FILE* status = std::fopen("/proc/self/status", "r");
  if (!status) return 0;
  char line[256];
  std::uint64_t kib = 0;
  while (std::fgets(line, sizeof line, status))
    if (std::sscanf(line, "VmHWM: %" SCNu64 " kB", &kib) == 1) break;
  std::fclose(status);
  return kib * 1024;
}

void emit_answers(const JobConfig& config, const std::vector<ResultEntry>& top, const std::vector<std::int64_t>& counts,
                  const JobSummary& summary) {
  print_entries(stdout, top, top.size());
  print_queries(stdout, config.queries, counts);
  if (config.json) write_all(stdout, summary_json(summary) + "\n", "stdout");
  std::fflush(stdout);
  std::fprintf(stderr, "%s\n", summary_line(summary).c_str());
  if (config.timings) std::fprintf(stderr, "%s\n", phases_line(summary).c_str());
}

}  // namespace mr::detail
