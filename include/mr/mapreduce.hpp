#pragma once
/// \file mapreduce.hpp
/// Typed SPMD MapReduce over text inputs (Thrill / mrmpi style). Every rank calls
///
///     auto counts = mr::map_reduce<std::string, long>(
///         comm, {"books/"},
///         [](std::string_view line, auto& emit) {
///           for (auto word : mr::split_words(line)) emit(word, 1);
///         },
///         std::plus<>{});
///     if (comm.rank() == 0) for (auto& [word, n] : counts) ...
///
/// Inputs are files, directories (recursively), `.gz` files and "-" (stdin); each rank
/// reads its own byte ranges, records are lines (without '\n' and a trailing '\r').
/// The map function emits any number of (key, value) pairs per record; values of equal
/// keys are combined with the reduce function, which must be associative and
/// commutative. Keys and values may be any Boost.Serialization-able types (keys also
/// need operator<); std::string keys with integer values take a fast path (flat hash
/// table, flat binary exchange buffers, no per-record serialization). The complete result
/// is returned on rank 0 (empty on other ranks); if any rank fails, every rank throws.

#include <mpi.h>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/serialization/map.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>
#include <climits>
#include <concepts>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "mr/detail/hash_table.hpp"
#include "mr/detail/local_blocks.hpp"
#include "mr/detail/shuffle.hpp"
#include "mr/detail/tokenize.hpp"
#include "mr/error.hpp"

namespace mr {

/// Tuning of map_reduce().
struct MapReduceOptions {
  /// Bytes per input partition; 0 picks about four per rank (at least 1 MiB each).
  std::uint64_t chunk_bytes = 0;
  /// Largest count or displacement one MPI exchange call may use (INT_MAX: MPI counts are
  /// `int`); larger exchanges run in rounds. Tests lower it to exercise the rounds.
  std::uint64_t exchange_limit = INT_MAX;
};

namespace detail {

/// True for the fast path: string keys, integer values.
template <class K, class V>
inline constexpr bool is_string_count_v =
    std::is_same_v<K, std::string> && std::is_integral_v<V> && !std::is_same_v<V, bool> && sizeof(V) <= 8;

/// The user's reduce over V applied to the table's int64 storage.
template <class V, class Reduce>
struct IntegerReduce {
  Reduce reduce;
  std::int64_t operator()(std::int64_t a, std::int64_t b) {
    return static_cast<std::int64_t>(static_cast<V>(reduce(static_cast<V>(a), static_cast<V>(b))));
  }
};

template <class T>
std::string to_bytes(const T& value) {
  std::ostringstream out;
  {
    boost::archive::binary_oarchive archive(out, boost::archive::no_header);
    archive << value;
  }
  return std::move(out).str();
}

template <class T>
T from_bytes(std::string_view bytes) {
  std::istringstream in{std::string(bytes)};
  boost::archive::binary_iarchive archive(in, boost::archive::no_header);
  T value;
  archive >> value;
  return value;
}

}  // namespace detail

/// What a map function receives to emit pairs: emit(key, value). Keys convertible to K
/// (e.g. std::string_view for std::string) and values convertible to V are accepted.
template <class K, class V, class Reduce>
class Emitter {
 public:
  template <class Key, class Value>
    requires std::constructible_from<K, Key&&> || (std::same_as<K, std::string> && std::convertible_to<Key&&, std::string_view>)
  void operator()(Key&& key, Value&& value) {
    if constexpr (detail::is_string_count_v<K, V>) {
      table_->add(std::string_view(key), static_cast<std::int64_t>(static_cast<V>(value)));
    } else {
      auto [it, inserted] = map_->try_emplace(K(std::forward<Key>(key)), std::forward<Value>(value));
      if (!inserted) it->second = (*reduce_)(it->second, V(std::forward<Value>(value)));
    }
  }

 private:
  template <class K2, class V2, class M, class R>
  friend std::map<K2, V2> map_reduce(const boost::mpi::communicator&, const std::vector<std::string>&, M, R,
                                     const MapReduceOptions&);
  using Table = detail::BasicStringTable<detail::IntegerReduce<V, Reduce>>;
  Table* table_ = nullptr;
  std::map<K, V>* map_ = nullptr;
  Reduce* reduce_ = nullptr;
};

/// A map function: map(std::string_view record, emit) calling emit(key, value).
template <class F, class K, class V, class Reduce>
concept MapFunction = std::invocable<F&, std::string_view, Emitter<K, V, Reduce>&>;

/// A reduce function: reduce(const V&, const V&) -> V, associative and commutative.
template <class F, class V>
concept ReduceFunction = std::copy_constructible<F> && requires(F& f, const V& a, const V& b) {
  { f(a, b) } -> std::convertible_to<V>;
};

/// Whitespace-separated words of a record (Python's bytes.split()), as views into it.
inline std::vector<std::string_view> split_words(std::string_view record) {
  std::vector<std::string_view> words;
  detail::for_each_whitespace_token(record, [&](std::string_view word) { words.push_back(word); });
  return words;
}

/// Runs a MapReduce job over `inputs` on every rank of `comm` (collective). Returns the
/// reduced (key, value) pairs, ordered by key, on rank 0 and an empty map elsewhere.
/// Throws (on every rank) InputError for unreadable inputs, and the map function's error,
/// as thrown on the lowest failing rank.
template <class K, class V, class MapFn, class ReduceFn>
std::map<K, V> map_reduce(const boost::mpi::communicator& comm, const std::vector<std::string>& inputs, MapFn map,
                          ReduceFn reduce, const MapReduceOptions& options = {}) {
  static_assert(ReduceFunction<ReduceFn, V>,
                "mr::map_reduce: the reduce function must be callable as reduce(const V&, const V&) and return "
                "something convertible to V (e.g. std::plus<>{})");
  static_assert(MapFunction<MapFn, K, V, ReduceFn>,
                "mr::map_reduce: the map function must be callable as map(std::string_view record, auto& emit) "
                "and call emit(key, value) with a key convertible to K and a value convertible to V");
  using Emit = Emitter<K, V, ReduceFn>;
  Emit emit;
  emit.reduce_ = &reduce;
  const MPI_Comm raw = comm;
  detail::LocalBlockOptions read_options;
  read_options.chunk_bytes = options.chunk_bytes;
  auto each_record = [&](std::string_view lines, const detail::BlockOrigin&) {
    while (!lines.empty()) {
      const auto nl = lines.find('\n');
      std::string_view record = lines.substr(0, nl);
      lines.remove_prefix(nl == std::string_view::npos ? lines.size() : nl + 1);
      if (!record.empty() && record.back() == '\r') record.remove_suffix(1);
      map(record, emit);
    }
  };

  std::map<K, V> result;
  if constexpr (detail::is_string_count_v<K, V>) {
    typename Emit::Table local(1 << 12, detail::IntegerReduce<V, ReduceFn>{reduce});
    typename Emit::Table merged(1 << 12, detail::IntegerReduce<V, ReduceFn>{reduce});
    emit.table_ = &local;
    detail::for_each_local_block(raw, inputs, read_options, each_record);
    detail::reduce_to_root(raw, local, merged, options.exchange_limit);
    merged.for_each([&](std::string_view key, std::uint64_t, std::int64_t value) {
      result.emplace(std::string(key), static_cast<V>(value));
    });
  } else {
    std::map<K, V> local;
    emit.map_ = &local;
    detail::for_each_local_block(raw, inputs, read_options, each_record);
    // Owner of a key: hash of its serialized bytes, identical on every rank.
    const int size = comm.size();
    std::vector<std::vector<std::pair<K, V>>> outgoing(static_cast<std::size_t>(size));
    for (auto& [key, value] : local) {
      const std::string bytes = detail::to_bytes(key);
      outgoing[static_cast<std::size_t>(detail::owner_of(detail::hash_bytes(bytes), size))].emplace_back(key, value);
    }
    local.clear();
    std::vector<detail::ByteBuffer> send(outgoing.size());
    for (std::size_t r = 0; r < outgoing.size(); ++r) {
      const std::string bytes = detail::to_bytes(outgoing[r]);
      send[r].assign(bytes.begin(), bytes.end());
    }
    outgoing.clear();
    std::map<K, V> owned;
    auto absorb = [&](std::map<K, V>& into, const detail::ByteBuffer& buffer) {
      for (auto& [key, value] : detail::from_bytes<std::vector<std::pair<K, V>>>({buffer.data(), buffer.size()})) {
        auto [it, inserted] = into.try_emplace(std::move(key), value);
        if (!inserted) it->second = reduce(it->second, value);
      }
    };
    for (const auto& buffer : detail::alltoallv_bytes(raw, send, options.exchange_limit)) absorb(owned, buffer);
    std::vector<std::pair<K, V>> mine(std::make_move_iterator(owned.begin()), std::make_move_iterator(owned.end()));
    owned.clear();
    const std::string bytes = detail::to_bytes(mine);
    const detail::ByteBuffer serialized(bytes.begin(), bytes.end());
    for (const auto& buffer : detail::gatherv_bytes(raw, serialized, 0, options.exchange_limit)) absorb(result, buffer);
  }
  return result;
}

}  // namespace mr
