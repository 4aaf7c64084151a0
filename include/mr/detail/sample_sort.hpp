#pragma once
/// \file sample_sort.hpp
/// A distributed sample sort: the ranks agree on size-1 splitters drawn from a sample of every
/// rank's entries, each entry goes to the rank whose interval holds it, and each rank sorts
/// what it received. Rank r then holds the r-th slice of the global order, so a result file
/// can be formatted and written by every rank at once (parallel_file.hpp) instead of by one.
/// Memory per rank stays about its own share.
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
/// reads one back (it may point into the decoder's buffer). Optional, for speed:
/// `encoded_size(entry)`, to size the outgoing buffers once.
template <class C, class T>
concept EntryCodec = requires(const C& codec, Bytes& out, const T& entry, Decoder& in) {
  codec.encode(out, entry);
  { codec.decode(in) } -> std::same_as<T>;
};

/// This rank's slice of the global order: a std::vector of entries, or an EntryArray (entries
/// in memory a table handed over).
template <class Run>
struct SortedSlice {
  Run entries;
  std::vector<Bytes> storage;  ///< what the entries may point into (never resized once decoded)
};

/// Samples each rank contributes per rank of the job: more samples, better balanced slices
/// (the slices' sizes vary by about 1/sqrt(s) of the even share with s samples per rank), at
/// the price of every rank receiving and sorting size * size * s of them. So s is as large as
/// that total of kSampleBudget allows, between 64 and 1024: 1024 up to 16 ranks, 64 from 64
/// ranks on (with 64 per rank, the slices of a million 1-gram keys at -np 2 came out 53 / 47 %,
/// and the larger one's sort and write set the phase's time).
inline constexpr std::size_t kSampleBudget = std::size_t{1} << 18;
inline constexpr std::size_t samples_per_rank(std::size_t ranks) noexcept {
  return std::clamp<std::size_t>(kSampleBudget / (ranks * ranks), 64, 1024);
}

namespace sample_sort_detail {

/// Decodes every entry of `buffer` onto `out`.
template <class Codec, class Run>
void decode_all(std::string_view buffer, const Codec& codec, Run& out) {
  Decoder in(buffer);
  while (!in.empty()) out.push_back(codec.decode(in));
}

}  // namespace sample_sort_detail

/// The local sort of sample_sort(): std::sort with the order.
struct ComparisonSort {
  template <class Run, class Less>
  void operator()(Run& entries, const Less& less) const {
    std::sort(entries.begin(), entries.end(), less);
  }
};

/// Sorts the entries of all ranks by `less` (a strict total order: equal entries would be
/// split arbitrarily between slices) and returns this rank's slice: every entry of rank r's
/// slice orders before every entry of rank r+1's. `run` (a std::vector<T> or an EntryArray<T>)
/// is consumed. `local_sort(entries, less)` sorts the slice (a faster sort for the entry type
/// may replace std::sort). Each entry
/// is sorted once, after it reached its rank: the splitters come from a sample of the unsorted
/// runs (spread by a multiplicative hash of the position, so an ordered run samples as well as
/// a shuffled one), and each entry finds its rank by a binary search among them. Collective.
template <class Run, class Less, EntryCodec<typename Run::value_type> Codec, class LocalSort = ComparisonSort>
SortedSlice<Run> sample_sort(MPI_Comm comm, Run run, Less less, const Codec& codec, std::uint64_t exchange_limit = INT_MAX,
                             const LocalSort& local_sort = {}) {
  using T = typename Run::value_type;
  int rank = 0, size = 1;
  MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
  MR_MPI_CALL(MPI_Comm_size, comm, &size);
  SortedSlice<Run> slice;
  if (size == 1) {
    local_sort(run, less);
    slice.entries = std::move(run);
    return slice;
  }
  const auto ranks = static_cast<std::size_t>(size);

  // Samples of this run, sent to every rank: all ranks then pick the same splitters from the
  // same sorted sample.
  Bytes samples;
  const std::size_t wanted = std::min(run.size(), samples_per_rank(ranks) * ranks);
  for (std::size_t i = 0; i < wanted; ++i) {
    const std::uint64_t spread = (static_cast<std::uint64_t>(i) * 0x9E3779B97F4A7C15ull) >> 11;
    codec.encode(samples, run[static_cast<std::size_t>(spread % run.size())]);
  }
  const std::vector<Bytes> everyone(ranks, samples);
  const std::vector<Bytes> gathered = alltoallv_bytes(comm, everyone, exchange_limit);
  std::vector<T> sample;
  for (const Bytes& buffer : gathered) sample_sort_detail::decode_all(std::string_view(buffer), codec, sample);
  std::sort(sample.begin(), sample.end(), less);
  std::vector<T> splitters;  // slice r takes the entries in [splitters[r-1], splitters[r])
  for (std::size_t r = 1; r < ranks && !sample.empty(); ++r) splitters.push_back(sample[r * sample.size() / ranks]);

  // Each entry to the rank whose interval holds it.
  std::vector<std::uint32_t> destination(run.size());
  std::vector<std::size_t> bytes_to(ranks);
  std::vector<std::uint64_t> entries_to(ranks), entries_from(ranks);
  for (std::size_t i = 0; i < run.size(); ++i) {
    const auto r = static_cast<std::size_t>(std::upper_bound(splitters.begin(), splitters.end(), run[i], less) -
                                            splitters.begin());
    destination[i] = static_cast<std::uint32_t>(r);
    ++entries_to[r];
    if constexpr (requires(const T& entry) { codec.encoded_size(entry); }) bytes_to[r] += codec.encoded_size(run[i]);
  }
  MR_MPI_CALL(MPI_Alltoall, entries_to.data(), 1, MPI_UINT64_T, entries_from.data(), 1, MPI_UINT64_T, comm);

  // This rank's own entries stay as they are (they may point into the caller's table, which
  // outlives the slice), moved to the front of the run; only the others' are encoded, sent
  // and decoded, onto the run's end. The run's memory, already touched, holds the slice
  // unless this rank receives more entries than it sends: a fresh page costs more than the
  // writes to it on a virtual machine (10 M entries at -np 2: 290 MB fewer fresh pages).
  const auto self = static_cast<std::size_t>(rank);
  std::vector<Bytes> outgoing(ranks);
  for (std::size_t r = 0; r < ranks; ++r)
    if (r != self) {
      outgoing[r].reserve(bytes_to[r]);
      prefault(outgoing[r].data(), outgoing[r].capacity());
    }
  std::size_t kept = 0;
  for (std::size_t i = 0; i < run.size(); ++i) {
    if (destination[i] != self) {
      codec.encode(outgoing[destination[i]], run[i]);
      continue;
    }
    if (kept != i) run[kept] = std::move(run[i]);
    ++kept;
  }
  std::vector<std::uint32_t>().swap(destination);
  run.erase(run.begin() + static_cast<std::ptrdiff_t>(kept), run.end());
  std::uint64_t incoming = 0;
  for (std::size_t r = 0; r < ranks; ++r)
    if (r != self) incoming += entries_from[r];
  if (kept + incoming > run.capacity()) {
    run.reserve(kept + incoming);
    prefault(run.data() + kept, (run.capacity() - kept) * sizeof(T));
  }

  slice.storage = alltoallv_bytes(comm, outgoing, exchange_limit);
  std::vector<Bytes>().swap(outgoing);
  for (const Bytes& buffer : slice.storage) sample_sort_detail::decode_all(std::string_view(buffer), codec, run);
  slice.entries = std::move(run);
  local_sort(slice.entries, less);
  return slice;
}

}  // namespace mr::detail
