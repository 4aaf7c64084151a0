// The ngram line parser against a reference: a line is valid iff (after one trailing
// '\r') it has exactly 4 tab-separated fields, a non-empty ngram and three non-empty
// decimal numbers that fit in int64. Valid lines must yield the ngram and match_count.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "jobs/ngram.hpp"

namespace {

bool parse_number(std::string_view field, std::int64_t& value) {
  if (field.empty()) return false;
  for (char c : field)
    if (c < '0' || c > '9') return false;
  const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  return error == std::errc() && end == field.data() + field.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  mr::detail::NgramRecord record;
  const mr::detail::NgramError error = mr::detail::parse_ngram_line(line, record);
  MR_FUZZ_CHECK(mr::detail::describe(error) != nullptr);

  std::string_view rest = line;
  if (!rest.empty() && rest.back() == '\r') rest.remove_suffix(1);
  std::vector<std::string_view> fields;
  for (std::size_t tab; (tab = rest.find('\t')) != std::string_view::npos; rest.remove_prefix(tab + 1))
    fields.push_back(rest.substr(0, tab));
  fields.push_back(rest);
  std::int64_t year = 0, match = 0, volumes = 0;
  const bool valid = fields.size() == 4 && !fields[0].empty() && parse_number(fields[1], year) &&
                     parse_number(fields[2], match) && parse_number(fields[3], volumes);

  MR_FUZZ_CHECK(valid == (error == mr::detail::NgramError::None));
  if (valid) {
    MR_FUZZ_CHECK(record.ngram == fields[0]);
    MR_FUZZ_CHECK(record.match_count == match);
  }
  return 0;
}
