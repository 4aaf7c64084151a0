// Tokenisers against Python's semantics, and the n-gram line parser.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jobs/ngram.hpp"
#include "mr/detail/records.hpp"
#include "mr/detail/tokenize.hpp"

using namespace mr::detail;

namespace {

std::vector<std::string> whitespace_tokens(std::string_view text, std::uint64_t* lines = nullptr) {
  std::vector<std::string> out;
  const auto n = for_each_whitespace_token(text, [&](std::string_view w) { out.emplace_back(w); });
  if (lines) *lines = n;
  return out;
}

std::vector<std::string> alnum_tokens(std::string_view text) {
  std::vector<std::string> out;
  std::string scratch;
  for_each_alnum_token(text, [&](std::string_view w) { out.emplace_back(w); }, scratch);
  return out;
}

using Tokens = std::vector<std::string>;

}  // namespace

TEST(Whitespace, MatchesPythonBytesSplit) {
  // Expected values are what Python prints for b"...".split().
  EXPECT_EQ(whitespace_tokens("I know what I know\n"), (Tokens{"I", "know", "what", "I", "know"}));
  EXPECT_EQ(whitespace_tokens("  a\t\tb\v\fc\r\nd  "), (Tokens{"a", "b", "c", "d"}));
  EXPECT_EQ(whitespace_tokens(""), Tokens{});
  EXPECT_EQ(whitespace_tokens(" \n\t "), Tokens{});
  // Only ASCII whitespace separates: NUL, 0x1c-0x1f, 0x85 and 0xa0 are word bytes.
  EXPECT_EQ(whitespace_tokens(std::string("a\0b c\x1c" "d \xc2\xa0x", 11)),
            (Tokens{std::string("a\0b", 3), "c\x1c" "d", "\xc2\xa0x"}));
  EXPECT_EQ(whitespace_tokens("don't stop,now"), (Tokens{"don't", "stop,now"}));
}

TEST(Whitespace, CountsLines) {
  std::uint64_t lines = 0;
  whitespace_tokens("a\nb\n", &lines);
  EXPECT_EQ(lines, 2u);
  whitespace_tokens("a\nb", &lines);  // no final newline
  EXPECT_EQ(lines, 2u);
  whitespace_tokens("\n\n\n", &lines);
  EXPECT_EQ(lines, 3u);
  whitespace_tokens("", &lines);
  EXPECT_EQ(lines, 0u);
  EXPECT_EQ(count_lines("x\r\ny\r\n"), 2u);
}

TEST(Alnum, LowerCasesAsciiAndKeepsUtf8Whole) {
  EXPECT_EQ(alnum_tokens("Hello, World! It's 2024."), (Tokens{"hello", "world", "it", "s", "2024"}));
  EXPECT_EQ(alnum_tokens("Caf\xc3\xa9 NA\xc3\xafVE"), (Tokens{"caf\xc3\xa9", "na\xc3\xafve"}));  // é, ï kept
  EXPECT_EQ(alnum_tokens("a_b-c"), (Tokens{"a", "b", "c"}));
  EXPECT_EQ(alnum_tokens("\xe2\x80\x94" "dash\xe2\x80\x94"), (Tokens{"\xe2\x80\x94" "dash\xe2\x80\x94"}));
  EXPECT_EQ(alnum_tokens(std::string("x\0Y", 3)), (Tokens{"x", "y"}));
  EXPECT_EQ(alnum_tokens(""), Tokens{});
}

TEST(Ngram, ParsesFields) {
  NgramRecord r;
  ASSERT_EQ(parse_ngram_line("Aardvark\t1999\t12\t5", r), NgramError::None);
  EXPECT_EQ(r.ngram, "Aardvark");
  EXPECT_EQ(r.match_count, 12);
  ASSERT_EQ(parse_ngram_line("word_NOUN\t2008\t9223372036854775807\t1\r", r), NgramError::None);  // CRLF
  EXPECT_EQ(r.match_count, INT64_MAX);
  ASSERT_EQ(parse_ngram_line("two words\t1800\t0\t0", r), NgramError::None);
  EXPECT_EQ(r.ngram, "two words");
}

TEST(Ngram, RejectsMalformedLines) {
  NgramRecord r;
  EXPECT_EQ(parse_ngram_line("", r), NgramError::TooFewFields);
  EXPECT_EQ(parse_ngram_line("word", r), NgramError::TooFewFields);
  EXPECT_EQ(parse_ngram_line("word\t1999", r), NgramError::TooFewFields);
  EXPECT_EQ(parse_ngram_line("word\t1999\t12", r), NgramError::TooFewFields);
  EXPECT_EQ(parse_ngram_line("word\t1999\t12\t", r), NgramError::BadVolumeCount);
  EXPECT_EQ(parse_ngram_line("word\t1999\t12\t3\t4", r), NgramError::TooManyFields);
  EXPECT_EQ(parse_ngram_line("\t1999\t12\t3", r), NgramError::EmptyNgram);
  EXPECT_EQ(parse_ngram_line("word\tyear\t12\t3", r), NgramError::BadYear);
  EXPECT_EQ(parse_ngram_line("word\t1999\tmany\t3", r), NgramError::BadMatchCount);
  EXPECT_EQ(parse_ngram_line("word\t1999\t-5\t3", r), NgramError::BadMatchCount);
  EXPECT_EQ(parse_ngram_line("word\t1999\t12x\t3", r), NgramError::BadMatchCount);
  EXPECT_EQ(parse_ngram_line("word\t1999\t9223372036854775808\t3", r), NgramError::MatchCountOverflow);
  EXPECT_EQ(parse_ngram_line("word\t1999\t99999999999999999999999\t3", r), NgramError::MatchCountOverflow);
  EXPECT_EQ(parse_ngram_line("word\t1999\t12\t3x", r), NgramError::BadVolumeCount);
  EXPECT_EQ(parse_ngram_line(std::string_view("word\t1999\t1\0\t3", 14), r), NgramError::NulByte);
  EXPECT_TRUE(has_nul(std::string_view("a\0b", 3)));
  EXPECT_FALSE(has_nul("ab"));
  for (auto e : {NgramError::TooFewFields, NgramError::MatchCountOverflow, NgramError::NulByte})
    EXPECT_NE(std::string(describe(e)).find("malformed ngram line"), std::string::npos);
}
