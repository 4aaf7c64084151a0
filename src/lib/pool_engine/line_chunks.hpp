#pragma once
/// \file line_chunks.hpp
/// Cutting text into chunks of a fixed number of lines (the pool engine's map tasks).
/// Pure functions, testable without MPI.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace mr::detail {

/// Where a run of up to `lines` lines starting at `from` ends in `text`.
struct LineRun {
  std::uint64_t end = 0;    ///< offset just past the last '\n' taken (or text.size())
  std::uint64_t lines = 0;  ///< newlines found (fewer than asked at the end of the text)
};

/// Finds the end of the next `lines` lines of `text` from offset `from`. If the text has
/// fewer newlines, the run ends at text.size() and `lines` says how many were found; a
/// final line without '\n' belongs to the run but is not counted.
inline LineRun next_lines(std::string_view text, std::uint64_t from, std::uint64_t lines) noexcept {
  LineRun run{from, 0};
  const char* const end = text.data() + text.size();
  const char* p = text.data() + from;
  while (run.lines < lines && p != end) {
    const auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    if (!nl) {
      p = end;
      break;
    }
    p = nl + 1;
    ++run.lines;
  }
  run.end = static_cast<std::uint64_t>(p - text.data());
  return run;
}

}  // namespace mr::detail
