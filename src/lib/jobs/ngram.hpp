#pragma once
/// \file ngram.hpp
/// Parser for Google Books n-gram v2 lines: `ngram TAB year TAB match_count TAB volume_count`.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace mr::detail {

/// The fields of one n-gram line the ngram job needs.
struct NgramRecord {
  std::string_view ngram;
  std::int64_t match_count = 0;
};

/// Why a line is not a valid n-gram line.
enum class NgramError {
  None,
  TooFewFields,
  TooManyFields,
  EmptyNgram,
  NulByte,
  BadYear,
  BadMatchCount,
  MatchCountOverflow,
  BadVolumeCount,
};

/// One line of message text for `error` (no file or line; the caller adds those).
inline const char* describe(NgramError error) noexcept {
  switch (error) {
    case NgramError::None: return "no error";
    case NgramError::TooFewFields: return "malformed ngram line: expected 4 tab-separated fields (ngram, year, match_count, volume_count), found fewer";
    case NgramError::TooManyFields: return "malformed ngram line: expected 4 tab-separated fields (ngram, year, match_count, volume_count), found more";
    case NgramError::EmptyNgram: return "malformed ngram line: the ngram field is empty";
    case NgramError::NulByte: return "malformed ngram line: NUL byte (binary data?)";
    case NgramError::BadYear: return "malformed ngram line: year is not a non-negative integer";
    case NgramError::BadMatchCount: return "malformed ngram line: match_count is not a non-negative integer";
    case NgramError::MatchCountOverflow: return "malformed ngram line: match_count does not fit in 64 bits";
    case NgramError::BadVolumeCount: return "malformed ngram line: volume_count is not a non-negative integer";
  }
  return "malformed ngram line";
}

namespace ngram_detail {

/// Parses decimal digits from p up to the first byte that is not a digit. Returns the
/// end of the digits (p itself when there are none); `overflow` is set past INT64_MAX.
inline const char* parse_digits(const char* p, const char* end, std::int64_t& value, bool& overflow) {
  std::uint64_t v = 0;
  const char* start = p;
  while (p != end && static_cast<unsigned char>(*p - '0') < 10) {
    const std::uint64_t digit = static_cast<unsigned char>(*p - '0');
    if (p - start >= 18 && v > (static_cast<std::uint64_t>(INT64_MAX) - digit) / 10) overflow = true;
    v = v * 10 + digit;
    ++p;
  }
  value = static_cast<std::int64_t>(v);
  return p;
}

}  // namespace ngram_detail

/// Parses one line (without its '\n'; a trailing '\r' is ignored). The ngram view points
/// into `line`.
inline NgramError parse_ngram_line(std::string_view line, NgramRecord& out) noexcept {
  using ngram_detail::parse_digits;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const char* p = line.data();
  const char* const end = p + line.size();
  const char* tab = static_cast<const char*>(std::memchr(p, '\t', line.size()));
  if (!tab) return NgramError::TooFewFields;
  if (tab == p) return NgramError::EmptyNgram;
  out.ngram = std::string_view(p, static_cast<std::size_t>(tab - p));
  bool overflow = false;
  std::int64_t year = 0, volumes = 0;
  p = tab + 1;
  const char* q = parse_digits(p, end, year, overflow);
  if (q == end) return NgramError::TooFewFields;
  if (q == p || *q != '\t' || overflow) return *q == '\0' ? NgramError::NulByte : NgramError::BadYear;
  p = q + 1;
  q = parse_digits(p, end, out.match_count, overflow);
  if (overflow) return NgramError::MatchCountOverflow;
  if (q == end) return NgramError::TooFewFields;
  if (q == p || *q != '\t') return *q == '\0' ? NgramError::NulByte : NgramError::BadMatchCount;
  p = q + 1;
  q = parse_digits(p, end, volumes, overflow);
  if (q != end) {
    if (*q == '\t') return NgramError::TooManyFields;
    return *q == '\0' ? NgramError::NulByte : NgramError::BadVolumeCount;
  }
  if (q == p || overflow) return NgramError::BadVolumeCount;
  return NgramError::None;
}

/// True when the ngram field holds a NUL byte (checked once per distinct run of lines).
inline bool has_nul(std::string_view text) noexcept {
  return std::memchr(text.data(), '\0', text.size()) != nullptr;
}

}  // namespace mr::detail
