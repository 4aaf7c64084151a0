#pragma once
/// \file distributed.hpp
/// The result of a MapReduce job left where it was reduced: every rank holds the keys it
/// owns (hash partitioned). Iterate locally, or gather, take the top K, or write the sorted
/// result file (every rank writing its slice of the order).

#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "mr/detail/collective_error.hpp"
#include "mr/detail/key_codec.hpp"
#include "mr/detail/parallel_file.hpp"
#include "mr/detail/records.hpp"
#include "mr/detail/sample_sort.hpp"
#include "mr/detail/shuffle.hpp"
#include "mr/error.hpp"

namespace mr {

/// Each rank's share of a job's result: the keys it owns, reduced.
template <class K, class V, class Reduce>
class Distributed {
 public:
  using Table = detail::FlatTable<V, Reduce>;

  Distributed(MPI_Comm comm, Table owned, MapReduceStats stats)
      : comm_(comm), table_(std::move(owned)), stats_(stats) {}

  /// Keys this rank owns.
  std::size_t local_size() const noexcept { return table_.size(); }
  /// Totals over all ranks.
  const MapReduceStats& stats() const noexcept { return stats_; }

  /// Calls f(key, value) for every key this rank owns (unordered). Local.
  template <class F>
  void for_each(F&& f) const {
    table_.for_each([&](std::string_view key, const V& value) {
      if constexpr (std::same_as<K, std::string> && std::invocable<F&, std::string_view, const V&>) f(key, value);
      else f(detail::decode_key<K>(key), value);
    });
  }

  /// Distinct keys over all ranks. Collective.
  std::uint64_t size() const {
    std::uint64_t mine = table_.size(), total = 0;
    MR_MPI_CALL(MPI_Allreduce, &mine, &total, 1, MPI_UINT64_T, MPI_SUM, comm_);
    return total;
  }

  /// The whole result on `root`, ordered by key (empty elsewhere). Collective; the root
  /// needs memory for all of it.
  std::map<K, V> gather(int root = 0) const {
    std::map<K, V> out;
    for (const auto& buffer : detail::gatherv_bytes(comm_, detail::serialize_table(table_), root))
      detail::for_each_entry<V>(buffer, [&](std::string_view key, V&& value) {
        out.emplace(detail::decode_key<K>(key), std::move(value));
      });
    return out;
  }

  /// Moves the whole result into one table on `root` (keys in their byte form; an empty
  /// table elsewhere); this object is left empty. Collective. The root keeps its own share
  /// in place and merges the others' into it.
  Table gather_table(int root = 0) {
    int rank = 0;
    MR_MPI_CALL(MPI_Comm_rank, comm_, &rank);
    const detail::Bytes mine = rank == root ? detail::Bytes() : detail::serialize_table(table_);
    auto buffers = detail::gatherv_bytes(comm_, mine, root);
    Table out = std::exchange(table_, Table(16, table_.reducer()));
    if (rank != root) return Table(16, out.reducer());
    for (auto& buffer : buffers) {
      detail::merge_buffer(std::string_view(buffer), out);
      detail::Bytes().swap(buffer);
    }
    return out;
  }

  /// The `k` entries with the largest values (ties: smaller key first) on `root`, merged
  /// from each rank's own top k: no rank sends more than k entries. Collective.
  std::vector<std::pair<K, V>> top(std::size_t k, int root = 0) const {
    auto local = local_top(k);
    detail::Bytes mine;
    detail::Bytes key;
    for (const auto& [kk, v] : local) detail::append_entry(mine, detail::key_bytes<K>(kk, key), v);
    std::vector<std::pair<K, V>> all;
    for (const auto& buffer : detail::gatherv_bytes(comm_, mine, root))
      detail::for_each_entry<V>(buffer, [&](std::string_view bytes, V&& value) {
        all.emplace_back(detail::decode_key<K>(bytes), std::move(value));
      });
    return top_of(std::move(all), k);
  }

  /// The values of `keys` on `root` (std::nullopt where absent; empty elsewhere), each
  /// looked up by the rank that owns it: nothing else moves. Collective.
  std::vector<std::optional<V>> lookup(const std::vector<K>& keys, int root = 0) const {
    int rank = 0, size = 1;
    MR_MPI_CALL(MPI_Comm_rank, comm_, &rank);
    MR_MPI_CALL(MPI_Comm_size, comm_, &size);
    detail::Bytes found, scratch;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const std::string_view bytes = detail::key_bytes<K>(keys[i], scratch);
      if (detail::owner_of(detail::hash_bytes(bytes), size) != rank) continue;
      if (const V* value = table_.find(bytes)) {
        const auto index = static_cast<std::uint64_t>(i);  // the entry's key: the query's index
        detail::append_entry(found, std::string_view(reinterpret_cast<const char*>(&index), sizeof index), *value);
      }
    }
    std::vector<std::optional<V>> out(rank == root ? keys.size() : 0);
    for (const auto& buffer : detail::gatherv_bytes(comm_, found, root))
      detail::for_each_entry<V>(buffer, [&](std::string_view index, V&& value) {
        std::uint64_t i = 0;
        if (index.size() == sizeof i) std::memcpy(&i, index.data(), sizeof i);
        if (i < out.size()) out[i] = std::move(value);
      });
    return out;
  }

  /// Writes `key TAB value` lines (operator<<), ordered by key, as the file `path`: the keys
  /// are sorted across the ranks (a distributed sample sort), and every rank formats and
  /// writes its own slice of the order at its offset (pwrite), into a temporary file renamed
  /// into place at the end. No rank holds more than about its own share. Collective;
  /// InputError naming the path on every rank on failure, and no partial file.
  void write(const std::string& path) const {
    auto slice = detail::sample_sort(comm_, sort_entries(), [](const Entry& a, const Entry& b) { return a.key < b.key; },
                                     EntryCodec{});
    std::ostringstream text;
    for (const Entry& entry : slice.entries) text << entry.key << '\t' << entry.value << '\n';
    detail::write_in_rank_order(comm_, path, std::move(text).str());
  }

  /// The rank's table itself (keys in their byte form).
  const Table& table() const noexcept { return table_; }
  Table& table() noexcept { return table_; }

 private:
  /// The top-K order: the larger value first, then the smaller key.
  template <class Key>
  static bool ranks_before(const Key& a_key, const V& a_value, const Key& b_key, const V& b_value) {
    if (b_value < a_value) return true;
    if (a_value < b_value) return false;
    return a_key < b_key;
  }
  /// This rank's top k. String keys order as their bytes, so they are ranked as views in a
  /// heap of the k best so far (memory for k views, not for every key: 240 MB less at 10 M
  /// keys for --top 1) and only the k winners are copied; other keys are decoded to be
  /// compared with their <.
  std::vector<std::pair<K, V>> local_top(std::size_t k) const {
    if constexpr (std::same_as<K, std::string>) {
      using View = std::pair<std::string_view, const V*>;
      const auto before = [](const View& a, const View& b) { return ranks_before(a.first, *a.second, b.first, *b.second); };
      std::vector<View> heap;  // front: the worst of the k kept
      heap.reserve(std::min(k, table_.size()));
      if (k > 0)
        table_.for_each([&](std::string_view key, const V& value) {
          const View view(key, &value);
          if (heap.size() < k) {
            heap.push_back(view);
            std::push_heap(heap.begin(), heap.end(), before);
          } else if (before(view, heap.front())) {
            std::pop_heap(heap.begin(), heap.end(), before);
            heap.back() = view;
            std::push_heap(heap.begin(), heap.end(), before);
          }
        });
      std::sort_heap(heap.begin(), heap.end(), before);
      std::vector<std::pair<K, V>> out;
      out.reserve(heap.size());
      for (const auto& [key, value] : heap) out.emplace_back(std::string(key), *value);
      return out;
    } else {
      return top_of(entries(), k);
    }
  }
  std::vector<std::pair<K, V>> entries() const {
    std::vector<std::pair<K, V>> out;
    out.reserve(table_.size());
    table_.for_each([&](std::string_view key, const V& value) {
      out.emplace_back(detail::decode_key<K>(key), value);
    });
    return out;
  }
  static std::vector<std::pair<K, V>> top_of(std::vector<std::pair<K, V>> entries, std::size_t k) {
    const std::size_t n = std::min(k, entries.size());
    std::partial_sort(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(n), entries.end(),
                      [](const auto& a, const auto& b) { return ranks_before(a.first, a.second, b.first, b.second); });
    entries.resize(n);
    return entries;
  }

  /// An entry of write()'s sort: string keys as views of their bytes (which order as the
  /// strings do), other keys decoded, so that they order by their operator<.
  using SortKey = std::conditional_t<std::same_as<K, std::string>, std::string_view, K>;
  struct Entry {
    SortKey key;
    V value;
  };
  struct EntryCodec {
    void encode(detail::Bytes& out, const Entry& entry) const {
      detail::Bytes scratch;
      if constexpr (std::same_as<K, std::string>) detail::append_entry(out, entry.key, entry.value);
      else detail::append_entry(out, detail::key_bytes<K>(entry.key, scratch), entry.value);
    }
    Entry decode(detail::Decoder& in) const {
      const std::string_view bytes = in.take(in.raw<std::uint32_t>());
      V value = [&] {
        if constexpr (detail::slot_value_v<V>) return in.raw<V>();
        else return in.value<V>();
      }();
      if constexpr (std::same_as<K, std::string>) return Entry{bytes, std::move(value)};
      else return Entry{detail::decode_key<K>(bytes), std::move(value)};
    }
  };
  std::vector<Entry> sort_entries() const {
    std::vector<Entry> out;
    out.reserve(table_.size());
    table_.for_each([&](std::string_view key, const V& value) {
      if constexpr (std::same_as<K, std::string>) out.push_back(Entry{key, value});
      else out.push_back(Entry{detail::decode_key<K>(key), value});
    });
    return out;
  }

  MPI_Comm comm_;
  Table table_;
  MapReduceStats stats_;
};

}  // namespace mr
