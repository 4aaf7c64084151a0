#include "jobs/sorted_output.hpp"

#include <climits>
#include <memory>
#include <string_view>
#include <vector>

#include "jobs/output.hpp"
#include "mr/detail/parallel_file.hpp"
#include "mr/detail/sample_sort.hpp"

namespace mr::detail {
namespace {

/// A result entry on the wire: the shuffle's entry format.
struct ResultCodec {
  static constexpr std::size_t kMinEntryBytes = sizeof(std::uint32_t) + sizeof(std::int64_t);
  std::size_t encoded_size(const ResultEntry& entry) const { return kMinEntryBytes + entry.key.size(); }
  void encode(Bytes& out, const ResultEntry& entry) const { append_entry(out, entry.key, entry.count); }
  ResultEntry decode(Decoder& in) const {
    const std::string_view key = in.take(in.raw<std::uint32_t>());
    return ResultEntry(key, in.raw<std::int64_t>());
  }
};

}  // namespace

void write_sorted_output(MPI_Comm comm, const CountTable& owned, const std::string& path, PhaseTimes& phases) {
  PhaseClock clock;
  std::vector<ResultEntry> run;
  run.reserve(owned.size());
  owned.for_each([&](std::string_view key, std::uint64_t, std::int64_t count) { run.emplace_back(key, count); });
  const auto slice = sample_sort(comm, std::move(run), result_before, ResultCodec{}, INT_MAX,
                                 [](std::vector<ResultEntry>& entries, ResultBefore) { sort_results(entries); });
  phases.sort += clock.lap();

  // The slice's text in one buffer of its exact size, not zero-filled first: at 10 M lines
  // (about 100 MB) a std::string sized to an upper bound cost a memset of three times that.
  const ResultEntry* first = slice.entries.data();
  const ResultEntry* last = first + slice.entries.size();
  const std::size_t bytes = result_lines_size(first, last);
  const std::unique_ptr<char[]> text(new char[bytes]);
  format_result_lines(text.get(), first, last);
  write_in_rank_order(comm, path, std::string_view(text.get(), bytes));
  phases.write += clock.lap();
}

}  // namespace mr::detail
