#pragma once
/// \file shuffle.hpp
/// Moving combiner tables between processes as flat byte buffers (no per-record
/// serialization), and MPI collectives on byte buffers that never pass a count or
/// displacement above a limit (INT_MAX by default: MPI counts are `int`).
///
/// Buffer format: a sequence of entries `u32 key_size, key bytes, i64 value` (host byte
/// order; all ranks of one job run the same binary).

#include <mpi.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "mr/detail/hash_table.hpp"
#include "mr/detail/mpi_check.hpp"
#include "mr/error.hpp"

namespace mr::detail {

using ByteBuffer = std::vector<char>;

/// Appends one entry to `out`.
inline void append_entry(ByteBuffer& out, std::string_view key, std::int64_t value) {
  const auto size = static_cast<std::uint32_t>(key.size());
  const std::size_t at = out.size();
  out.resize(at + sizeof size + key.size() + sizeof value);
  char* p = out.data() + at;
  std::memcpy(p, &size, sizeof size);
  std::memcpy(p + sizeof size, key.data(), key.size());
  std::memcpy(p + sizeof size + key.size(), &value, sizeof value);
}

/// Calls f(key, value) for every entry of `buffer`. Throws mr::Error on a truncated buffer.
template <class F>
void for_each_entry(std::string_view buffer, F&& f) {
  const char* p = buffer.data();
  const char* const end = p + buffer.size();
  while (p != end) {
    std::uint32_t size;
    std::int64_t value;
    if (static_cast<std::size_t>(end - p) < sizeof size) throw Error("shuffle: truncated buffer");
    std::memcpy(&size, p, sizeof size);
    p += sizeof size;
    if (static_cast<std::size_t>(end - p) < size + sizeof value) throw Error("shuffle: truncated buffer");
    std::string_view key(p, size);
    p += size;
    std::memcpy(&value, p, sizeof value);
    p += sizeof value;
    f(key, value);
  }
}

/// The whole table as one buffer.
template <class Reduce>
ByteBuffer serialize_table(const BasicStringTable<Reduce>& table) {
  ByteBuffer out;
  out.reserve(table.size() * 16);
  table.for_each([&](std::string_view key, std::uint64_t, std::int64_t value) { append_entry(out, key, value); });
  return out;
}

/// Merges every entry of `buffer` into `table` (combining equal keys with its Reduce).
template <class Reduce>
void merge_buffer(std::string_view buffer, BasicStringTable<Reduce>& table) {
  // The keys stay in `buffer`, so each can be looked up a few entries after its slot was
  // prefetched: merged tables outgrow the cache, and this overlaps their misses.
  PrefetchingAdder adder(table, buffer.data() + buffer.size());
  for_each_entry(buffer, [&](std::string_view key, std::int64_t value) { adder.add(key, value); });
  adder.flush();
}

/// The rank that owns a key with this hash (uses the high bits; the table uses the low).
inline int owner_of(std::uint64_t hash, int ranks) noexcept {
  return static_cast<int>(((hash >> 32) * static_cast<std::uint64_t>(ranks)) >> 32);
}

/// Splits the table into one buffer per owner rank.
template <class Reduce>
std::vector<ByteBuffer> partition_table(const BasicStringTable<Reduce>& table, int ranks) {
  std::vector<ByteBuffer> out(static_cast<std::size_t>(ranks));
  for (auto& b : out) b.reserve(table.size() * 16 / static_cast<std::size_t>(ranks) + 64);
  table.for_each([&](std::string_view key, std::uint64_t hash, std::int64_t value) {
    append_entry(out[static_cast<std::size_t>(owner_of(hash, ranks))], key, value);
  });
  return out;
}

/// All-to-all exchange of byte buffers: send[r] goes to rank r; returns what each rank
/// sent here, indexed by source. Runs as many MPI_Alltoallv rounds as needed so that no
/// count or displacement exceeds `limit` bytes. Collective.
std::vector<ByteBuffer> alltoallv_bytes(MPI_Comm comm, const std::vector<ByteBuffer>& send,
                                        std::uint64_t limit = INT_MAX);

/// Gathers every rank's buffer to `root` (indexed by source rank there; empty elsewhere),
/// in MPI_Gatherv rounds whose counts and displacements stay within `limit`. Collective.
std::vector<ByteBuffer> gatherv_bytes(MPI_Comm comm, const ByteBuffer& send, int root,
                                      std::uint64_t limit = INT_MAX);

/// Number of rounds needed to move `bytes` through a channel that takes `per_round`
/// bytes at a time (at least 1).
inline std::uint64_t rounds_for(std::uint64_t bytes, std::uint64_t per_round) noexcept {
  return bytes == 0 ? 1 : (bytes + per_round - 1) / per_round;
}

/// Owner-side reduce: sends every key of `local` to its owner rank (all-to-all), merges
/// what this rank owns, then gathers all owners' entries into `result` on rank 0 (left
/// empty elsewhere). `local` is emptied. Collective.
template <class Reduce>
void reduce_to_root(MPI_Comm comm, BasicStringTable<Reduce>& local, BasicStringTable<Reduce>& result,
                    std::uint64_t limit = INT_MAX) {
  int size = 1;
  MR_MPI_CALL(MPI_Comm_size, comm, &size);
  if (size == 1) {
    std::swap(result, local);
    return;
  }
  auto received = alltoallv_bytes(comm, partition_table(local, size), limit);
  local.clear();
  BasicStringTable<Reduce> owned(1 << 14, local.reducer());
  for (auto& buffer : received) {
    merge_buffer(std::string_view(buffer.data(), buffer.size()), owned);
    ByteBuffer().swap(buffer);
  }
  const ByteBuffer serialized = serialize_table(owned);
  owned.clear();
  auto gathered = gatherv_bytes(comm, serialized, 0, limit);
  for (auto& buffer : gathered) {
    merge_buffer(std::string_view(buffer.data(), buffer.size()), result);
    ByteBuffer().swap(buffer);
  }
}

}  // namespace mr::detail

