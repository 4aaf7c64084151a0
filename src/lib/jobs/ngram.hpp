#pragma once
/// \file ngram.hpp
/// Parsers for the three published layouts of the Google Books n-gram files, and the options
/// of the ngram job:
///   v1 (2009): `ngram TAB year TAB match_count TAB page_count TAB volume_count`
///   v2 (2012): `ngram TAB year TAB match_count TAB volume_count`
///   v3 (2020): `ngram TAB year,match_count,volume_count TAB year,match_count,volume_count ...`
/// A file's layout is decided once, from its first line (detect_ngram_format), so a stray
/// line of another shape is an error rather than silently read another way.

#include <charconv>
#include <climits>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace mr::detail {

/// The layouts of the published files.
enum class NgramFormat : std::uint8_t { V1, V2, V3 };

/// Which count the ngram job sums.
enum class NgramValue : std::uint8_t { Match, Volume };

/// The ngram job's options (--years, --count, --skip-tagged).
struct NgramOptions {
  std::int64_t first_year = INT64_MIN;  ///< records before this year are skipped
  std::int64_t last_year = INT64_MAX;   ///< records after this year are skipped
  NgramValue value = NgramValue::Match;
  bool skip_tagged = false;  ///< drop `word_NOUN`-style tagged ngrams and `_NOUN_` tag tokens

  /// As text, for pool workers (which find the job by name and get its options with each task).
  std::string state() const {
    return std::to_string(first_year) + " " + std::to_string(last_year) + " " +
           (value == NgramValue::Volume ? "v" : "m") + (skip_tagged ? "s" : "-");
  }
  void configure(std::string_view text) {
    const char* p = text.data();
    const char* const end = p + text.size();
    p = std::from_chars(p, end, first_year).ptr + 1;
    p = std::from_chars(std::min(p, end), end, last_year).ptr + 1;
    value = p < end && *p == 'v' ? NgramValue::Volume : NgramValue::Match;
    skip_tagged = p + 1 < end && p[1] == 's';
  }
  bool operator==(const NgramOptions&) const = default;
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
  BadPageCount,
  BadVolumeCount,
  NoTuples,
  BadTuple,
};

/// Name of a layout for messages ("v1 (2009)", ...).
inline const char* describe(NgramFormat format) noexcept {
  switch (format) {
    case NgramFormat::V1: return "v1 (2009)";
    case NgramFormat::V2: return "v2 (2012)";
    case NgramFormat::V3: return "v3 (2020)";
  }
  return "?";
}

/// One line of message text for `error` in a v2 file (no file or line; the caller adds those).
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
    case NgramError::BadPageCount: return "malformed ngram line: page_count is not a non-negative integer";
    case NgramError::BadVolumeCount: return "malformed ngram line: volume_count is not a non-negative integer";
    case NgramError::NoTuples: return "malformed ngram line: no year,match_count,volume_count tuple after the ngram";
    case NgramError::BadTuple: return "malformed ngram line: expected year,match_count,volume_count";
  }
  return "malformed ngram line";
}

/// The message for `error` in a file of `format`; for v3, `tuple` (1-based) and its text.
inline std::string describe(NgramError error, NgramFormat format, std::size_t tuple = 0, std::string_view text = {}) {
  std::string message = describe(error);
  if (format == NgramFormat::V1 && (error == NgramError::TooFewFields || error == NgramError::TooManyFields))
    message = std::string("malformed ngram line: expected 5 tab-separated fields (ngram, year, match_count, "
                          "page_count, volume_count), found ") + (error == NgramError::TooFewFields ? "fewer" : "more");
  if (format == NgramFormat::V3 && tuple > 0) {
    constexpr std::size_t shown = 60;
    message += " in tuple " + std::to_string(tuple) + " '" + std::string(text.substr(0, shown)) +
               (text.size() > shown ? "...'" : "'");
  }
  return message + " (" + describe(format) + " layout, from the file's first line)";
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

/// The error for a bad number field ending at q (NUL bytes named as such).
inline NgramError bad_field(const char* q, const char* end, NgramError bad) noexcept {
  return q != end && *q == '\0' ? NgramError::NulByte : bad;
}

}  // namespace ngram_detail

/// The layout of a file whose first line (or its first bytes) is `head`: v3 when the field
/// after the ngram holds a comma, v1 when the line has 5 tab-separated fields, else v2 (a
/// first line of no layout then fails with the v2 message naming line 1).
inline NgramFormat detect_ngram_format(std::string_view head) noexcept {
  const std::size_t newline = head.find('\n');
  if (newline != std::string_view::npos) head = head.substr(0, newline);
  const std::size_t tab = head.find('\t');
  if (tab == std::string_view::npos) return NgramFormat::V2;
  const std::string_view rest = head.substr(tab + 1);
  const std::size_t field_end = rest.find('\t');
  if (rest.substr(0, field_end).find(',') != std::string_view::npos) return NgramFormat::V3;
  std::size_t tabs = 0;
  for (const char c : head) tabs += c == '\t';
  return tabs == 4 ? NgramFormat::V1 : NgramFormat::V2;
}

/// Parses one line of `format` (without its '\n'; a trailing '\r' is ignored), calling
/// on_record(year, match_count, volume_count) for each record it holds (one in v1/v2, one
/// per tuple in v3). `ngram` points into `line`; on a v3 error `tuple` is the 1-based tuple
/// and `tuple_text` its text.
template <class OnRecord>
NgramError parse_ngram_line(std::string_view line, NgramFormat format, std::string_view& ngram, OnRecord&& on_record,
                            std::size_t& tuple, std::string_view& tuple_text) {
  using ngram_detail::bad_field;
  using ngram_detail::parse_digits;
  tuple = 0;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const char* p = line.data();
  const char* const end = p + line.size();
  const char* tab = static_cast<const char*>(std::memchr(p, '\t', line.size()));
  if (!tab) return format == NgramFormat::V3 ? NgramError::NoTuples : NgramError::TooFewFields;
  if (tab == p) return NgramError::EmptyNgram;
  ngram = std::string_view(p, static_cast<std::size_t>(tab - p));
  bool overflow = false;
  std::int64_t year = 0, match = 0, pages = 0, volumes = 0;
  if (format == NgramFormat::V3) {
    p = tab + 1;
    for (tuple = 1;; ++tuple) {
      const auto* next = static_cast<const char*>(std::memchr(p, '\t', static_cast<std::size_t>(end - p)));
      const char* const stop = next ? next : end;
      tuple_text = std::string_view(p, static_cast<std::size_t>(stop - p));
      const char* q = parse_digits(p, stop, year, overflow);
      if (q == p || overflow) return bad_field(q, stop, NgramError::BadYear);
      if (q == stop || *q != ',') return bad_field(q, stop, NgramError::BadTuple);
      p = q + 1;
      q = parse_digits(p, stop, match, overflow);
      if (overflow) return NgramError::MatchCountOverflow;
      if (q == p) return bad_field(q, stop, NgramError::BadMatchCount);
      if (q == stop || *q != ',') return bad_field(q, stop, NgramError::BadTuple);
      p = q + 1;
      q = parse_digits(p, stop, volumes, overflow);
      if (q == p || q != stop || overflow) return bad_field(q, stop, NgramError::BadVolumeCount);
      on_record(year, match, volumes);
      if (!next) return NgramError::None;
      p = next + 1;
    }
  }
  p = tab + 1;
  const char* q = parse_digits(p, end, year, overflow);
  if (q == end) return NgramError::TooFewFields;
  if (q == p || *q != '\t' || overflow) return bad_field(q, end, NgramError::BadYear);
  p = q + 1;
  q = parse_digits(p, end, match, overflow);
  if (overflow) return NgramError::MatchCountOverflow;
  if (q == end) return NgramError::TooFewFields;
  if (q == p || *q != '\t') return bad_field(q, end, NgramError::BadMatchCount);
  if (format == NgramFormat::V1) {
    p = q + 1;
    q = parse_digits(p, end, pages, overflow);
    if (q == end) return NgramError::TooFewFields;
    if (q == p || *q != '\t' || overflow) return bad_field(q, end, NgramError::BadPageCount);
  }
  p = q + 1;
  q = parse_digits(p, end, volumes, overflow);
  if (q != end) return *q == '\t' ? NgramError::TooManyFields : bad_field(q, end, NgramError::BadVolumeCount);
  if (q == p || overflow) return NgramError::BadVolumeCount;
  on_record(year, match, volumes);
  return NgramError::None;
}

/// The fields of one v2 line the ngram job needs.
struct NgramRecord {
  std::string_view ngram;
  std::int64_t match_count = 0;
};

/// Parses one v2 line (without its '\n'; a trailing '\r' is ignored). The ngram view points
/// into `line`.
inline NgramError parse_ngram_line(std::string_view line, NgramRecord& out) noexcept {
  std::size_t tuple = 0;
  std::string_view tuple_text;
  return parse_ngram_line(
      line, NgramFormat::V2, out.ngram, [&](std::int64_t, std::int64_t match, std::int64_t) { out.match_count = match; },
      tuple, tuple_text);
}

/// True when the ngram field holds a NUL byte (checked once per distinct run of lines).
inline bool has_nul(std::string_view text) noexcept {
  return std::memchr(text.data(), '\0', text.size()) != nullptr;
}

/// True for a part-of-speech tagged ngram (`burnt_VERB`, `:_.`: a last word ending in `_`
/// and one of the 12 universal tags) and for a pure tag token (`_NOUN_`, `_START_`).
inline bool is_tagged(std::string_view ngram) noexcept {
  if (ngram.size() >= 3 && ngram.front() == '_' && ngram.back() == '_') {
    bool upper = true;
    for (const char c : ngram.substr(1, ngram.size() - 2)) upper = upper && ((c >= 'A' && c <= 'Z') || c == '.');
    if (upper) return true;
  }
  const std::size_t underscore = ngram.rfind('_');
  if (underscore == std::string_view::npos || underscore == 0 || ngram[underscore - 1] == ' ') return false;
  const std::string_view tag = ngram.substr(underscore + 1);
  for (const std::string_view known : {"NOUN", "VERB", "ADJ", "ADV", "PRON", "DET", "ADP", "NUM", "CONJ", "PRT", "X", "."})
    if (tag == known) return true;
  return false;
}

}  // namespace mr::detail
