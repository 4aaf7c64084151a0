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

/// ngram: lines `ngram TAB year TAB match_count TAB volume_count` -> (ngram, sum of
/// match_count). The files are sorted by ngram with one line per year, so the map sums each
/// run of equal ngrams itself and emits once per run (the key a view into the block).
struct NgramMatchCount {
  template <class Emit>
  std::uint64_t operator()(Lines lines, Emit& emit) const {
    const char* p = lines.text.data();
    const char* const end = p + lines.text.size();
    std::string_view pending;  // the ngram of the current run (never empty once set)
    std::int64_t sum = 0;
    std::uint64_t records = 0;
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
      std::int64_t year = 0, count = 0, volumes = 0;
      const char* q = key_end ? fast_digits(key_end + 1, end, year) : nullptr;
      if (q && q != end && *q == '\t') q = fast_digits(q + 1, end, count);
      else q = nullptr;
      if (q && q != end && *q == '\t') q = fast_digits(q + 1, end, volumes);
      else q = nullptr;
      if (q && q != end && *q == '\r') ++q;
      if (q && (q == end || *q == '\n')) {
        p = q == end ? end : q + 1;
      } else {
        // Careful path: the exact error, or a valid line the fast path does not take.
        const auto* nl = static_cast<const char*>(std::memchr(line, '\n', static_cast<std::size_t>(end - line)));
        NgramRecord record;
        const NgramError error =
            parse_ngram_line(std::string_view(line, static_cast<std::size_t>((nl ? nl : end) - line)), record);
        if (error != NgramError::None) throw RecordError(describe(error), line);
        key_end = record.ngram.data() + record.ngram.size();
        same_key = record.ngram == pending;
        count = record.match_count;
        p = nl ? nl + 1 : end;
      }
      if (same_key) {
        if (__builtin_add_overflow(sum, count, &sum))
          throw RecordError("the sum of match_count for this ngram does not fit in 64 bits", line);
      } else {
        const std::string_view ngram(line, static_cast<std::size_t>(key_end - line));
        if (has_nul(ngram)) throw RecordError(describe(NgramError::NulByte), line);
        if (!pending.empty()) emit(pending, sum);
        pending = ngram;
        sum = count;
      }
      ++records;
    }
    if (!pending.empty()) emit(pending, sum);
    return records;
  }
};

}  // namespace mr::detail
