#pragma once
/// \file shuffle.hpp
/// Moving flat tables between processes as byte buffers (no per-record serialization),
/// and MPI collectives on byte buffers that never pass a count or displacement above a
/// limit (INT_MAX by default: MPI counts are `int`).
///
/// Buffer format: a sequence of entries `u32 key_size, key bytes, value`, the value as raw
/// bytes when it lives in a table slot (numbers, plain structs), else in the codec's form
/// (wire.hpp). Host byte order: all ranks of one job run the same binary. Decoding is
/// bounds-checked (WireError on a truncated or corrupt buffer).

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "mr/detail/hash_table.hpp"
#include "mr/detail/mpi_check.hpp"
#include "mr/detail/records.hpp"
#include "mr/detail/wire.hpp"
#include "mr/error.hpp"

namespace mr::detail {

/// Appends one entry to `out`.
template <class V>
void append_entry(Bytes& out, std::string_view key, const V& value) {
  const auto size = static_cast<std::uint32_t>(key.size());
  out.append(reinterpret_cast<const char*>(&size), sizeof size);
  out.append(key);
  if constexpr (slot_value_v<V>) out.append(reinterpret_cast<const char*>(&value), sizeof value);
  else Encoder(out).value(value);
}

/// Calls f(key, value) for every entry of `buffer`, values of type V (an rvalue, which f
/// may move from). Throws WireError on a truncated or corrupt buffer.
template <class V, class F>
void for_each_entry(std::string_view buffer, F&& f) {
  Decoder in(buffer);
  while (!in.empty()) {
    const auto size = in.raw<std::uint32_t>();
    const std::string_view key = in.take(size);
    if constexpr (slot_value_v<V>) f(key, in.raw<V>());
    else f(key, in.value<V>());
  }
}

/// The number of entries in `buffer` when values have a fixed size (a walk over the key
/// sizes), else an estimate from its size (16 bytes an entry), for sizing a table.
template <class V>
std::size_t entry_count_estimate(std::string_view buffer) {
  if constexpr (slot_value_v<V>) {
    std::size_t count = 0;
    for (std::size_t at = 0; at + sizeof(std::uint32_t) <= buffer.size(); ++count) {
      std::uint32_t size = 0;
      std::memcpy(&size, buffer.data() + at, sizeof size);
      at += sizeof size + size + sizeof(V);
    }
    return count;
  } else {
    return buffer.size() / 16;
  }
}

/// The whole table as one buffer.
template <class V, class Reduce>
Bytes serialize_table(const FlatTable<V, Reduce>& table) {
  Bytes out;
  out.reserve(table.size() * 16);
  table.for_each([&](std::string_view key, const V& value) { append_entry(out, key, value); });
  return out;
}

/// Merges every entry of `buffer` into `table` (combining equal keys with its Reduce).
template <class V, class Reduce>
void merge_buffer(std::string_view buffer, FlatTable<V, Reduce>& table) {
  // The keys stay in `buffer`, so each can be looked up a few entries after its slot was
  // prefetched: merged tables outgrow the cache, and this overlaps their misses.
  PrefetchingAdder adder(table, buffer.data() + buffer.size());
  for_each_entry<V>(buffer, [&](std::string_view key, V&& value) { adder.add(key, std::move(value)); });
  adder.flush();
}

/// The rank that owns a key with this hash (uses the high bits; the table uses the low).
inline int owner_of(std::uint64_t hash, int ranks) noexcept {
  return static_cast<int>(((hash >> 32) * static_cast<std::uint64_t>(ranks)) >> 32);
}

/// Keys of at most this mean size are sized for the shuffle from the mean (see owner_bytes).
inline constexpr double kMeanKeyBytesForEstimate = 64;

/// The bytes of `table`'s entries each owner rank will get, for reserving its buffer once.
/// Hashes spread keys evenly over owners, so an owner's entry count is binomial: the mean
/// share plus 4 standard deviations, at the table's mean entry size, almost never overflows
/// (an overflow only grows the buffer), and needs no walk over the table. A few long keys
/// make the mean a poor guess for every owner but one (a 1.1 GiB key among 3 had each buffer
/// reserved at 8.6 GB), so then the entries are sized exactly, by a walk that hashes each key.
/// Values in the codec's form have no fixed size: 16 bytes is the guess for those.
template <class V, class Reduce>
std::vector<std::size_t> owner_bytes(const FlatTable<V, Reduce>& table, int ranks) {
  const std::size_t value_bytes = slot_value_v<V> ? sizeof(V) : 16;
  std::vector<std::size_t> bytes(static_cast<std::size_t>(ranks), 0);
  if (table.empty()) return bytes;
  const double keys = static_cast<double>(table.size());
  const double mean_key = static_cast<double>(table.key_bytes()) / keys;
  if (mean_key <= kMeanKeyBytesForEstimate) {
    const double expected = keys / ranks;
    const double entry = mean_key + sizeof(std::uint32_t) + static_cast<double>(value_bytes);
    std::fill(bytes.begin(), bytes.end(), static_cast<std::size_t>((expected + 4 * std::sqrt(expected) + 16) * entry));
  } else {
    table.for_each([&](std::string_view key, std::uint64_t hash, const V&) {
      bytes[static_cast<std::size_t>(owner_of(hash, ranks))] += sizeof(std::uint32_t) + key.size() + value_bytes;
    });
  }
  return bytes;
}

/// Keeps in `table` only the keys rank `rank` owns and returns the others' entries, one buffer
/// per owner rank (this rank's empty): the table is filtered in place, so this rank's own keys
/// are neither serialized nor sent to itself nor inserted into a second table.
template <class V, class Reduce>
std::vector<Bytes> keep_own_keys(FlatTable<V, Reduce>& table, int rank, int ranks) {
  // Each buffer is reserved once and mapped in at once: buffers that grew by doubling copied
  // themselves and took a page fault per page.
  const std::vector<std::size_t> bytes = owner_bytes(table, ranks);
  std::vector<Bytes> out(static_cast<std::size_t>(ranks));
  for (int r = 0; r < ranks; ++r)
    if (r != rank) {
      Bytes& buffer = out[static_cast<std::size_t>(r)];
      buffer.reserve(bytes[static_cast<std::size_t>(r)]);
      prefault(buffer.data(), buffer.capacity());
    }
  table.retain_if([&](std::string_view key, std::uint64_t hash, const V& value) {
    const int owner = owner_of(hash, ranks);
    if (owner == rank) return true;
    append_entry(out[static_cast<std::size_t>(owner)], key, value);
    return false;
  });
  return out;
}

/// The tag of alltoallv_bytes' point-to-point messages (apart from the tags of the pool's and
/// the executors' protocols, which may share a communicator with a job).
inline constexpr int kExchangeTag = 7303;  // parallel_file.cpp: 7302, world pools: 0x6d72

/// All-to-all exchange of byte buffers: send[r] goes to rank r; returns what each rank
/// sent here, indexed by source. Point-to-point messages of at most `limit` bytes each (no
/// MPI count exceeds it). Collective.
std::vector<Bytes> alltoallv_bytes(MPI_Comm comm, const std::vector<Bytes>& send, std::uint64_t limit = INT_MAX);

/// Gathers every rank's buffer to `root` (indexed by source rank there; empty elsewhere),
/// in MPI_Gatherv rounds whose counts and displacements stay within `limit`. Collective.
std::vector<Bytes> gatherv_bytes(MPI_Comm comm, const Bytes& send, int root, std::uint64_t limit = INT_MAX);

/// Number of rounds needed to move `bytes` through a channel that takes `per_round`
/// bytes at a time (at least 1).
inline std::uint64_t rounds_for(std::uint64_t bytes, std::uint64_t per_round) noexcept {
  return bytes == 0 ? 1 : (bytes + per_round - 1) / per_round;
}

/// The shuffle: sends every key of `local` to its owner rank (all-to-all) and returns the
/// table of the keys this rank owns, reduced. `local` is emptied. Without `routed`, `local`
/// keeps its own keys in place and the others' entries are exchanged; with `routed` (one
/// buffer per rank: pairs the map sent on uncombined), `local` already holds only this rank's
/// keys and the buffers are exchanged. Either way `local` becomes the result, and what arrives
/// is merged into it. Collective. Adds the time of the exchange and of the merge to `phases`
/// (shuffle, reduce) when given.
template <class V, class Reduce>
FlatTable<V, Reduce> shuffle_to_owners(MPI_Comm comm, FlatTable<V, Reduce>& local, std::vector<Bytes> routed = {},
                                       std::uint64_t limit = INT_MAX, PhaseTimes* phases = nullptr) {
  int rank = 0, size = 1;
  MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
  MR_MPI_CALL(MPI_Comm_size, comm, &size);
  if (size == 1 && routed.empty()) return std::exchange(local, FlatTable<V, Reduce>(16, local.reducer()));
  PhaseClock clock;
  std::vector<Bytes> send = routed.empty() ? keep_own_keys(local, rank, size) : std::move(routed);
  FlatTable<V, Reduce> owned = std::exchange(local, FlatTable<V, Reduce>(16, local.reducer()));
  auto received = alltoallv_bytes(comm, send, limit);
  std::vector<Bytes>().swap(send);
  if (phases) phases->shuffle += clock.lap();
  for (auto& buffer : received) {
    merge_buffer(std::string_view(buffer), owned);
    Bytes().swap(buffer);
  }
  if (phases) phases->reduce += clock.lap();
  return owned;
}

}  // namespace mr::detail
