#pragma once
/// \file builtin_maps.hpp
/// The map functions of the `mapreduce` program's jobs: plain users of the public API
/// (mr::Lines records, emit), testable without MPI.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "jobs/ngram.hpp"
#include "mr/detail/hash_table.hpp"
#include "mr/detail/records.hpp"
#include "mr/detail/tokenize.hpp"
#include "mr/error.hpp"

namespace mr::detail {

/// wordcount --words whitespace: Python's bytes.split(). A line end is just whitespace, so
/// the map reads a whole block of lines in one pass (SIMD masks, no per-line call).
struct WhitespaceWords {
  template <class Emit>
  std::uint64_t operator()(Lines lines, Emit& emit) const {
    return for_each_whitespace_token(lines.text, [&](std::string_view word) { emit(word, std::int64_t{1}); });
  }
};

/// wordcount --words alnum: runs of [A-Za-z0-9] and bytes >= 0x80, ASCII lower-cased.
struct AlnumWords {
  std::string scratch;  ///< lower-cased words (the emitter copies keys from outside the block)
  template <class Emit>
  std::uint64_t operator()(Lines lines, Emit& emit) {
    return for_each_alnum_token(lines.text, [&](std::string_view word) { emit(word, std::int64_t{1}); }, scratch);
  }
};

/// Reads decimal digits at p (bounded by end); nullptr when there are none or more than 18
/// (which could overflow: the careful parser decides those).
inline const char* fast_digits(const char* p, const char* end, std::int64_t& value) noexcept {
  const char* start = p;
  std::uint64_t v = 0;  // unsigned: a run of more than 18 digits wraps harmlessly before it is rejected
  while (p != end && static_cast<unsigned char>(*p - '0') < 10) {
    v = v * 10 + static_cast<std::uint64_t>(*p - '0');
    ++p;
  }
  value = static_cast<std::int64_t>(v);
  return (p == start || p - start > 18) ? nullptr : p;
}

/// ngram: the lines of a Google Books 1-gram file of any published layout (its format from
/// the file's first line, which the engine hands every block as Lines::head) -> (ngram, sum
/// of match_count or volume_count over the records inside options.years). In v1/v2 the files
/// are sorted by ngram with one line per year, so the map sums each run of equal ngrams
/// itself and emits once per run (the key a view into the block); a v3 line is one run.
struct NgramCounts {
  NgramOptions options;

  std::string state() const { return options.state(); }
  void configure(std::string_view text) { options.configure(text); }

  template <class Emit>
  std::uint64_t operator()(Lines lines, Emit& emit) const {
    // One loop per layout and count: no per-record test of either.
    const bool volume = options.value == NgramValue::Volume;
    switch (detect_ngram_format(lines.head)) {
      case NgramFormat::V1:
        return volume ? map<NgramFormat::V1, true>(lines.text, emit) : map<NgramFormat::V1, false>(lines.text, emit);
      case NgramFormat::V2:
        return volume ? map<NgramFormat::V2, true>(lines.text, emit) : map<NgramFormat::V2, false>(lines.text, emit);
      case NgramFormat::V3:
        return volume ? map<NgramFormat::V3, true>(lines.text, emit) : map<NgramFormat::V3, false>(lines.text, emit);
    }
    return 0;
  }

 private:
  template <NgramFormat format, bool volume, class Emit>
  std::uint64_t map(std::string_view text, Emit& emit) const {
    const char* p = text.data();
    const char* const end = p + text.size();
    const std::int64_t first_year = options.first_year, last_year = options.last_year;
    std::string_view pending;  // the ngram of the current run (never empty once set)
    std::int64_t sum = 0;
    bool counted = false;  // a record of the run lies inside the years
    bool skipped = false;  // the run's ngram is tagged and --skip-tagged is on
    std::uint64_t records = 0;
    // Adds one record to `total` when its year is inside the range. Forced inline, with the
    // error out of line: GCC kept this per-record step as a call (10 % of the 1-gram job's
    // samples in `perf`).
    auto add_to = [&](std::int64_t& total, bool& any, std::int64_t year, std::int64_t match, std::int64_t volumes,
                      const char* line) __attribute__((always_inline)) {
      if (year < first_year || year > last_year) return;
      any = true;
      if (__builtin_add_overflow(total, volume ? volumes : match, &total)) [[unlikely]]
        sum_overflow(line);
    };
    while (p != end) {
      const char* const line = p;
      // Fast path, one pass over the line: most lines continue the current ngram, so compare
      // with it before scanning for the tab. Anything unusual goes to the careful parser.
      bool same_key = false;
      const char* key_end = nullptr;
      if (!pending.empty() && static_cast<std::size_t>(end - p) > pending.size() && p[pending.size()] == '\t' &&
          bytes_equal(p, pending.data(), pending.size())) {
        key_end = p + pending.size();
        same_key = true;
      } else {
        const char* q = p;
        while (q != end && *q != '\t' && *q != '\n') ++q;
        if (q != end && *q == '\t' && q != p) key_end = q;
      }
      if (key_end && !same_key) start_run(pending, std::string_view(line, static_cast<std::size_t>(key_end - line)),
                                          sum, counted, skipped, emit, line);
      const char* q = key_end;
      if constexpr (format == NgramFormat::V3) {
        if (q) {
          // tuples `year,match,volume` separated by tabs, up to the line's end
          std::int64_t year = 0, count = 0, volumes = 0;
          const std::int64_t before = sum;
          const bool counted_before = counted;
          for (;;) {
            q = fast_digits(q + 1, end, year);
            if (q && q != end && *q == ',') q = fast_digits(q + 1, end, count);
            else q = nullptr;
            if (q && q != end && *q == ',') q = fast_digits(q + 1, end, volumes);
            else q = nullptr;
            if (!q) break;
            if (!skipped) add_to(sum, counted, year, count, volumes, line);
            if (q == end || *q != '\t') break;
          }
          if (q && q != end && *q == '\r') ++q;
          if (!q || (q != end && *q != '\n')) {  // the careful parser names the tuple
            sum = before;
            counted = counted_before;
            q = nullptr;
          }
        }
      } else if (q) {
        std::int64_t year = 0, count = 0, pages = 0, volumes = 0;
        q = fast_digits(q + 1, end, year);
        if (q && q != end && *q == '\t') q = fast_digits(q + 1, end, count);
        else q = nullptr;
        if constexpr (format == NgramFormat::V1) {
          if (q && q != end && *q == '\t') q = fast_digits(q + 1, end, pages);
          else q = nullptr;
        }
        if (q && q != end && *q == '\t') q = fast_digits(q + 1, end, volumes);
        else q = nullptr;
        if (q && q != end && *q == '\r') ++q;
        if (q && (q == end || *q == '\n')) {
          if (!skipped) add_to(sum, counted, year, count, volumes, line);
        } else {
          q = nullptr;
        }
      }
      if (q) {
        p = q == end ? end : q + 1;
      } else {
        // Careful path: the exact error, or a valid line the fast path does not take.
        const auto* nl = static_cast<const char*>(std::memchr(line, '\n', static_cast<std::size_t>(end - line)));
        std::string_view ngram, tuple_text;
        std::size_t tuple = 0;
        std::int64_t line_sum = 0;
        bool line_counted = false;
        const NgramError error = parse_ngram_line(
            std::string_view(line, static_cast<std::size_t>((nl ? nl : end) - line)), format, ngram,
            [&](std::int64_t year, std::int64_t match, std::int64_t volumes) {
              add_to(line_sum, line_counted, year, match, volumes, line);
            },
            tuple, tuple_text);
        if (error != NgramError::None) throw RecordError(describe(error, format, tuple, tuple_text), line);
        if (ngram != pending) start_run(pending, ngram, sum, counted, skipped, emit, line);
        if (!skipped && line_counted) {
          counted = true;
          if (__builtin_add_overflow(sum, line_sum, &sum)) sum_overflow(line);
        }
        p = nl ? nl + 1 : end;
      }
      ++records;
    }
    if (counted && !skipped) emit(pending, sum);
    return records;
  }

  [[noreturn, gnu::cold, gnu::noinline]] static void sum_overflow(const char* line) {
    throw RecordError("the sum of counts for this ngram does not fit in 64 bits", line);
  }

  /// Ends the current run (emitting its sum when a record was counted) and starts `ngram`'s.
  template <class Emit>
  void start_run(std::string_view& pending, std::string_view ngram, std::int64_t& sum, bool& counted, bool& skipped,
                 Emit& emit, const char* line) const {
    if (has_nul(ngram)) throw RecordError(describe(NgramError::NulByte), line);
    if (counted && !skipped) emit(pending, sum);
    pending = ngram;
    sum = 0;
    counted = false;
    skipped = options.skip_tagged && is_tagged(ngram);
  }
};

}  // namespace mr::detail
