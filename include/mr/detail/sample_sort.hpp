#pragma once
/// \file sample_sort.hpp
/// A distributed sort by regular sampling (PSRS): every rank sorts its own entries, the ranks
/// agree on size-1 splitters drawn from evenly spaced samples of every sorted run, and each
/// rank receives the entries that fall between its two splitters. Rank r then holds the r-th
/// slice of the global order, so a result file can be formatted and written by every rank at
/// once (parallel_file.hpp) instead of by one. Memory per rank stays about its own share.
///
/// Entries move in the shuffle's byte format through the chunked all-to-all (no MPI count
/// over `int`); the codec decides what an entry is on the wire, and decoded entries may point
/// into the received buffers, which the slice keeps.

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "mr/detail/mpi_check.hpp"
#include "mr/detail/shuffle.hpp"
#include "mr/detail/wire.hpp"

namespace mr::detail {

/// How an entry of type T crosses the wire: `encode(out, entry)` appends it, `decode(in)`
/// reads one back (it may point into the decoder's buffer).
template <class C, class T>
concept EntryCodec = requires(const C& codec, Bytes& out, const T& entry, Decoder& in) {
  codec.encode(out, entry);
  { codec.decode(in) } -> std::same_as<T>;
};

/// This rank's slice of the global order.
template <class T>
struct SortedSlice {
  std::vector<T> entries;
  std::vector<Bytes> storage;  ///< what the entries may point into (never resized once decoded)
};

/// Samples each rank contributes per rank of the job: more samples, better balanced slices
/// (with s samples per rank, no slice exceeds about (1 + 1/s) times its even share, plus
/// the skew of the runs' sizes), at the price of an all-to-all of size * size * s entries.
inline constexpr std::size_t kSamplesPerRank = 64;

namespace sample_sort_detail {

/// Decodes every entry of `buffer` onto `out`.
template <class T, class Codec>
void decode_all(std::string_view buffer, const Codec& codec, std::vector<T>& out) {
  Decoder in(buffer);
  while (!in.empty()) out.push_back(codec.decode(in));
}

/// Merges consecutive sorted runs of `entries` (their ends in `ends`) into one, pairwise.
template <class T, class Less>
void merge_runs(std::vector<T>& entries, std::vector<std::size_t> ends, Less less) {
  while (ends.size() > 1) {
    std::vector<std::size_t> merged;
    std::size_t begin = 0;
    for (std::size_t i = 0; i < ends.size(); i += 2) {
      if (i + 1 < ends.size()) {
        std::inplace_merge(entries.begin() + static_cast<std::ptrdiff_t>(begin),
                           entries.begin() + static_cast<std::ptrdiff_t>(ends[i]),
                           entries.begin() + static_cast<std::ptrdiff_t>(ends[i + 1]), less);
        merged.push_back(ends[i + 1]);
      } else {
        merged.push_back(ends[i]);
      }
      begin = merged.back();
    }
    ends = std::move(merged);
  }
}

}  // namespace sample_sort_detail

/// The local sort of sample_sort(): std::sort with the order.
struct ComparisonSort {
  template <class T, class Less>
  void operator()(std::vector<T>& entries, const Less& less) const {
    std::sort(entries.begin(), entries.end(), less);
  }
};

/// Sorts the entries of all ranks by `less` (a strict total order: equal entries would be
/// split arbitrarily between slices) and returns this rank's slice: every entry of rank r's
/// slice orders before every entry of rank r+1's. `run` is consumed. `local_sort(run, less)`
/// sorts this rank's run (a faster sort for the entry type may replace std::sort).
/// Collective.
template <class T, class Less, EntryCodec<T> Codec, class LocalSort = ComparisonSort>
SortedSlice<T> sample_sort(MPI_Comm comm, std::vector<T> run, Less less, const Codec& codec,
                           std::uint64_t exchange_limit = INT_MAX, const LocalSort& local_sort = {}) {
  int rank = 0, size = 1;
  MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
  MR_MPI_CALL(MPI_Comm_size, comm, &size);
  local_sort(run, less);
  SortedSlice<T> slice;
  if (size == 1) {
    slice.entries = std::move(run);
    return slice;
  }
  const auto ranks = static_cast<std::size_t>(size);

  // Evenly spaced samples of this run, sent to every rank: all ranks then pick the same
  // splitters from the same sorted sample.
  Bytes samples;
  const std::size_t wanted = std::min(run.size(), kSamplesPerRank * ranks);
  for (std::size_t i = 0; i < wanted; ++i) codec.encode(samples, run[(2 * i + 1) * run.size() / (2 * wanted)]);
  const std::vector<Bytes> everyone(ranks, samples);
  const std::vector<Bytes> gathered = alltoallv_bytes(comm, everyone, exchange_limit);
  std::vector<T> sample;
  for (const Bytes& buffer : gathered) sample_sort_detail::decode_all(std::string_view(buffer), codec, sample);
  std::sort(sample.begin(), sample.end(), less);
  std::vector<T> splitters;  // slice r takes the entries in [splitters[r-1], splitters[r])
  for (std::size_t r = 1; r < ranks && !sample.empty(); ++r) splitters.push_back(sample[r * sample.size() / ranks]);

  // The run is sorted, so each destination's entries are one contiguous stretch.
  std::vector<Bytes> outgoing(ranks);
  std::size_t at = 0;
  for (std::size_t r = 0; r < ranks; ++r) {
    const auto end = r < splitters.size()
                         ? static_cast<std::size_t>(std::lower_bound(run.begin() + static_cast<std::ptrdiff_t>(at),
                                                                     run.end(), splitters[r], less) -
                                                    run.begin())
                         : run.size();
    for (; at < end; ++at) codec.encode(outgoing[r], run[at]);
  }
  std::vector<T>().swap(run);  // entries may point into the caller's table, which stays; free the index

  slice.storage = alltoallv_bytes(comm, outgoing, exchange_limit);
  std::vector<Bytes>().swap(outgoing);
  std::vector<std::size_t> ends;
  for (const Bytes& buffer : slice.storage) {
    sample_sort_detail::decode_all(std::string_view(buffer), codec, slice.entries);
    ends.push_back(slice.entries.size());
  }
  sample_sort_detail::merge_runs(slice.entries, std::move(ends), less);
  return slice;
}

}  // namespace mr::detail
