#pragma once
/// \file tokenize.hpp
/// Word tokenisers for the wordcount job. Both work on a buffer of whole lines (no
/// per-line splitting needed: '\n' is a separator) and call sink(std::string_view word)
/// for every token, in order. They return the number of lines in the buffer.

#include <emmintrin.h>

#include <array>
#include <cstdint>
#include <cstring>
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

namespace tokenize_detail {

/// Bit j set where text[j] (j < 64) is one of b" \t\n\v\f\r"; `newlines` gets the '\n' bits.
inline std::uint64_t separator_mask(const char* text, std::uint64_t& newlines) noexcept {
  std::uint64_t sep = 0, nl = 0;
  const __m128i space = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t'), four = _mm_set1_epi8(4),
                newline = _mm_set1_epi8('\n');
  for (int k = 0; k < 4; ++k) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text + 16 * k));
    const __m128i t = _mm_sub_epi8(v, tab);  // \t..\r -> 0..4 (unsigned)
    const __m128i in_range = _mm_cmpeq_epi8(_mm_min_epu8(t, four), t);
    const __m128i is_sep = _mm_or_si128(in_range, _mm_cmpeq_epi8(v, space));
    sep |= static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm_movemask_epi8(is_sep))) << (16 * k);
    nl |= static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, newline))))
          << (16 * k);
  }
  newlines = nl;
  return sep;
}

/// Population count without relying on the POPCNT instruction (the library is built for
/// baseline x86-64, where __builtin_popcountll becomes a library call).
inline std::uint64_t bit_count(std::uint64_t x) noexcept {
  x = x - ((x >> 1) & 0x5555555555555555ull);
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
  return (x * 0x0101010101010101ull) >> 56;
}

}  // namespace tokenize_detail

/// Whitespace tokens (bytes.split()). Returns the number of lines. Classifies 64 bytes
/// at a time (SSE2) and walks word starts and ends as bits, so the cost per byte has no
/// data-dependent branch.
template <class Sink>
std::uint64_t for_each_whitespace_token(std::string_view text, Sink&& sink) {
  const char* const base = text.data();
  const std::size_t size = text.size();
  std::uint64_t newlines = 0;
  std::uint64_t in_word = 0;  // 1 when the byte before the current block is a word byte
  std::size_t word_start = 0;
  // Starts and ends alternate, so the k-th end of a block closes its k-th start (or, for the
  // first end when the block begins inside a word, the word carried in): one loop pairs
  // them, two bit scans and no test of which kind each event is.
  auto walk = [&](std::uint64_t sep, std::size_t offset) {
    const std::uint64_t word = ~sep;
    const std::uint64_t previous = (word << 1) | in_word;  // word bit of the byte before each
    std::uint64_t starts = word & ~previous;
    std::uint64_t ends = ~word & previous;  // the separator after each word
    if (in_word && ends) {
      const auto end = offset + static_cast<std::size_t>(__builtin_ctzll(ends));
      sink(std::string_view(base + word_start, end - word_start));
      ends &= ends - 1;
    }
    while (ends) {
      const auto start = static_cast<std::size_t>(__builtin_ctzll(starts));
      const auto end = static_cast<std::size_t>(__builtin_ctzll(ends));
      sink(std::string_view(base + offset + start, end - start));
      starts &= starts - 1;
      ends &= ends - 1;
    }
    if (starts) word_start = offset + static_cast<std::size_t>(__builtin_ctzll(starts));
    in_word = word >> 63;
  };
  std::size_t at = 0;
  for (; at + 64 <= size; at += 64) {
    std::uint64_t nl;
    const std::uint64_t sep = tokenize_detail::separator_mask(base + at, nl);
    newlines += tokenize_detail::bit_count(nl);
    walk(sep, at);
  }
  if (at < size) {
    // The tail, padded with spaces: positions past the end are separators, so a word
    // running to the end of the text ends there.
    alignas(16) char tail[64];
    std::memset(tail, ' ', sizeof tail);
    std::memcpy(tail, base + at, size - at);
    std::uint64_t nl;
    const std::uint64_t sep = tokenize_detail::separator_mask(tail, nl);
    newlines += tokenize_detail::bit_count(nl);
    walk(sep, at);
  } else if (in_word) {
    sink(std::string_view(base + word_start, size - word_start));
  }
  return newlines + (size != 0 && base[size - 1] != '\n');
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
