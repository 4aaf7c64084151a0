#include "jobs/sorted_output.hpp"

#include <climits>
#include <string_view>
#include <vector>

#include "jobs/output.hpp"
#include "mr/detail/parallel_file.hpp"
#include "mr/detail/sample_sort.hpp"

namespace mr::detail {
namespace {

/// A result entry on the wire: the shuffle's entry format.
struct ResultCodec {
  std::size_t encoded_size(const ResultEntry& entry) const {
    return sizeof(std::uint32_t) + sizeof(std::int64_t) + entry.size;
  }
  void encode(Bytes& out, const ResultEntry& entry) const { append_entry(out, entry.key(), entry.count); }
  ResultEntry decode(Decoder& in) const {
    const std::string_view key = in.take(in.raw<std::uint32_t>());
    return ResultEntry(key, in.raw<std::int64_t>());
  }
};

}  // namespace

void write_sorted_output(MPI_Comm comm, CountTable&& owned, const std::string& path, PhaseTimes& phases) {
  PhaseClock clock;
  // The entries are built in the table's own memory (no fresh pages) and sorted there.
  EntryArray<ResultEntry> run =
      owned.into_entries<ResultEntry>([](std::string_view key, std::int64_t count) { return ResultEntry(key, count); });
  const auto slice = sample_sort(comm, std::move(run), result_before, ResultCodec{}, INT_MAX,
                                 [](EntryArray<ResultEntry>& entries, ResultBefore) { sort_results(entries); });
  phases.sort += clock.lap();

  // Formatted and written a chunk of lines at a time, into one reused buffer: no rank holds
  // its slice's text (about 100 MB at 10 M lines, all of it fresh pages to fault in).
  const ResultEntry* first = slice.entries.data();
  const ResultEntry* last = first + slice.entries.size();
  write_in_rank_order(comm, path, result_lines_size(first, last),
                      [&](const auto& write) { for_each_result_chunk(first, last, write); });
  phases.write += clock.lap();
}

}  // namespace mr::detail
