// Partition alignment: for any text and any cut points, the ranges' aligned_lines() put
// every line in exactly one range, in order (their concatenation is the text); and
// split_lines() returns parts+1 ordered cuts at line starts covering the text.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "engine/partition.hpp"

namespace {

bool at_line_start(std::string_view text, std::uint64_t pos) {
  return pos == 0 || pos == text.size() || text[pos - 1] == '\n';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Layout: 1 byte n (cuts), n bytes of cut positions (scaled), then the text.
  if (size < 1) return 0;
  const std::size_t cuts = std::min<std::size_t>(data[0] % 16, size - 1);
  const std::string_view text(reinterpret_cast<const char*>(data + 1 + cuts), size - 1 - cuts);

  std::vector<std::uint64_t> bounds{0, text.size()};
  for (std::size_t i = 0; i < cuts; ++i) bounds.push_back(text.size() * data[1 + i] / 255);
  std::sort(bounds.begin(), bounds.end());
  std::string joined;
  for (std::size_t i = 0; i + 1 < bounds.size(); ++i) {
    const std::string_view part = mr::detail::aligned_lines(text, bounds[i], bounds[i + 1]);
    MR_FUZZ_CHECK(part.empty() || (part.data() >= text.data() && part.data() + part.size() <= text.data() + text.size()));
    MR_FUZZ_CHECK(part.empty() || at_line_start(text, static_cast<std::uint64_t>(part.data() - text.data())));
    joined.append(part);
  }
  MR_FUZZ_CHECK(joined == text);

  const int parts = 1 + static_cast<int>(cuts);
  const std::vector<std::uint64_t> offsets = mr::detail::split_lines(text, parts);
  MR_FUZZ_CHECK(offsets.size() == static_cast<std::size_t>(parts) + 1);
  MR_FUZZ_CHECK(offsets.front() == 0 && offsets.back() == text.size());
  for (std::size_t i = 0; i + 1 < offsets.size(); ++i) MR_FUZZ_CHECK(offsets[i] <= offsets[i + 1]);
  for (std::uint64_t offset : offsets) MR_FUZZ_CHECK(at_line_start(text, offset));
  return 0;
}
