// Tokenisers against a byte-by-byte reference: whitespace (Python's bytes.split()) and
// alnum ([A-Za-z0-9] or bytes >= 0x80, lower-cased), plus the line count.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "mr/detail/records.hpp"
#include "mr/detail/tokenize.hpp"

namespace {

bool is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
bool is_alnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

template <class InToken>
std::vector<std::string> reference_tokens(std::string_view text, InToken in_token, bool lower) {
  std::vector<std::string> tokens;
  std::string current;
  for (unsigned char c : text) {
    if (in_token(c)) {
      current += static_cast<char>(lower && c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    } else if (!current.empty()) {
      tokens.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

std::uint64_t reference_lines(std::string_view text) {
  std::uint64_t lines = 0;
  for (char c : text) lines += c == '\n';
  return lines + (!text.empty() && text.back() != '\n');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> got;
  const auto collect = [&](std::string_view token) { got.emplace_back(token); };

  const std::uint64_t ws_lines = mr::detail::for_each_whitespace_token(text, collect);
  MR_FUZZ_CHECK(got == reference_tokens(text, [](unsigned char c) { return !is_space(c); }, false));
  MR_FUZZ_CHECK(ws_lines == reference_lines(text));

  got.clear();
  std::string scratch;
  const std::uint64_t alnum_lines = mr::detail::for_each_alnum_token(text, collect, scratch);
  MR_FUZZ_CHECK(got == reference_tokens(text, is_alnum, true));
  MR_FUZZ_CHECK(alnum_lines == reference_lines(text));
  MR_FUZZ_CHECK(mr::detail::count_lines(text) == reference_lines(text));
  return 0;
}
