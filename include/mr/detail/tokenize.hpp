#pragma once
/// \file tokenize.hpp
/// Word tokenisers for the wordcount job. Both work on a buffer of whole lines (no
/// per-line splitting needed: '\n' is a separator) and call sink(std::string_view word)
/// for every token, in order. They return the number of lines in the buffer.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace mr::detail {

/// Byte classes: 0 separator, 1 word byte, 2 upper-case ASCII letter (alnum mode only).
using ByteClasses = std::array<std::uint8_t, 256>;

/// Python's bytes.split(): separators are exactly b" \t\n\v\f\r".
inline constexpr ByteClasses whitespace_classes = [] {
  ByteClasses c{};
  for (auto& v : c) v = 1;
  for (unsigned char s : {' ', '\t', '\n', '\v', '\f', '\r'}) c[s] = 0;
  return c;
}();

/// Word bytes are [A-Za-z0-9] and every byte >= 0x80 (UTF-8 sequences stay whole).
inline constexpr ByteClasses alnum_classes = [] {
  ByteClasses c{};
  for (int b = '0'; b <= '9'; ++b) c[b] = 1;
  for (int b = 'a'; b <= 'z'; ++b) c[b] = 1;
  for (int b = 'A'; b <= 'Z'; ++b) c[b] = 2;
  for (int b = 0x80; b < 256; ++b) c[b] = 1;
  return c;
}();

/// Number of lines in a buffer of whole lines: newlines, plus one for a final line
/// without a newline.
inline std::uint64_t count_lines(std::string_view text) noexcept {
  std::uint64_t lines = 0;
  for (char ch : text) lines += ch == '\n';
  if (!text.empty() && text.back() != '\n') ++lines;
  return lines;
}

/// Whitespace tokens (bytes.split()). Returns the number of lines.
template <class Sink>
std::uint64_t for_each_whitespace_token(std::string_view text, Sink&& sink) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  std::uint64_t newlines = 0;
  while (p != end) {
    if (whitespace_classes[*p]) {
      const auto* start = p;
      do ++p; while (p != end && whitespace_classes[*p]);
      sink(std::string_view(reinterpret_cast<const char*>(start), static_cast<std::size_t>(p - start)));
      if (p == end) break;
    }
    newlines += *p == '\n';
    ++p;
  }
  return newlines + (!text.empty() && text.back() != '\n');
}

/// Alphanumeric tokens, ASCII letters lower-cased. A token with upper-case letters is
/// lower-cased into `scratch`, so the view passed to sink is valid only during the call.
/// Returns the number of lines.
template <class Sink>
std::uint64_t for_each_alnum_token(std::string_view text, Sink&& sink, std::string& scratch) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  std::uint64_t newlines = 0;
  while (p != end) {
    const std::uint8_t first = alnum_classes[*p];
    if (first == 0) {
      newlines += *p == '\n';
      ++p;
      continue;
    }
    const auto* start = p;
    std::uint8_t seen = first;
    for (++p; p != end; ++p) {
      const std::uint8_t c = alnum_classes[*p];
      if (c == 0) break;
      seen |= c;
    }
    const auto size = static_cast<std::size_t>(p - start);
    if (seen & 2) {
      scratch.assign(reinterpret_cast<const char*>(start), size);
      for (char& ch : scratch)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
      sink(std::string_view(scratch));
    } else {
      sink(std::string_view(reinterpret_cast<const char*>(start), size));
    }
  }
  return newlines + (!text.empty() && text.back() != '\n');
}

}  // namespace mr::detail
