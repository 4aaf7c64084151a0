#pragma once
/// \file mapreduce.hpp
/// Typed MapReduce on the ranks of an MPI job (Thrill / MR-MPI style). Every rank calls
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
/// reads its own byte ranges, records are lines (without '\n' and a trailing '\r'). Or
/// `mr::items(v)`: each rank's own std::vector of records, map(const T&, emit) per item.
/// The map function emits any number of (key, value) pairs per record; values of equal
/// keys are combined with the reduce function, which must be associative and commutative.
///
/// Every key and value type takes the same path: a flat open-addressing table keyed by the
/// key's byte form (key_codec.hpp), flat binary shuffle buffers, Boost archives only for
/// types that need them. map_reduce_distributed() leaves the result on the ranks that own
/// the keys (mr::Distributed); map_reduce() gathers it into a std::map on rank 0. If any
/// rank fails, every rank throws. The same mr::Job also runs on a process pool
/// (pool_mapreduce.hpp).

#include <mpi.h>

#include <boost/mpi/communicator.hpp>
#include <climits>
#include <concepts>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mr/detail/collective_error.hpp"
#include "mr/detail/hash_table.hpp"
#include "mr/detail/local_blocks.hpp"
#include "mr/detail/records.hpp"
#include "mr/detail/shuffle.hpp"
#include "mr/detail/tokenize.hpp"
#include "mr/distributed.hpp"
#include "mr/emitter.hpp"
#include "mr/error.hpp"
#include "mr/job.hpp"

namespace mr {

/// Tuning and progress hooks of a run.
struct MapReduceOptions {
  /// Bytes per input partition; 0 picks about four per rank (at least 1 MiB each).
  std::uint64_t chunk_bytes = 0;
  /// Largest count or displacement one MPI exchange call may use (INT_MAX: MPI counts are
  /// `int`); larger exchanges run in rounds. Tests lower it to exercise the rounds.
  std::uint64_t exchange_limit = INT_MAX;
  /// Called once on rank 0 (or the pool's parent) with the input bytes it will see mapped:
  /// rank 0's own share on MPI ranks, the whole input on a pool.
  std::function<void(std::uint64_t total_bytes)> on_plan;
  /// Called on rank 0 (or the pool's parent) as those bytes are mapped.
  std::function<void(std::uint64_t bytes)> on_mapped;
  /// On two or more ranks, a rank stops combining the keys other ranks own, and sends their
  /// pairs uncombined, once its table holds `stop_combining_keys` keys and they are at least
  /// `stop_combining_fraction` of the pairs it emitted (nearly every key new). Its own keys
  /// then go straight into the table that becomes its share of the result, so each rank builds
  /// one table instead of two. 0 keys: always combine.
  std::uint64_t stop_combining_keys = std::uint64_t{1} << 20;
  double stop_combining_fraction = 0.5;
};

/// Each rank's own records, computed rather than read: map(const T&, emit) once per item.
template <class T>
struct Items {
  const std::vector<T>& items;
};
template <class T>
Items<T> items(const std::vector<T>& local) {
  return Items<T>{local};
}

/// Calls f(word) for the whitespace-separated words of a record (Python's bytes.split()),
/// as views into it, without allocating.
template <class F>
void for_each_word(std::string_view record, F&& f) {
  detail::for_each_whitespace_token(record, f);
}

/// Whitespace-separated words of a record, as views into it (allocates the vector; prefer
/// for_each_word in hot loops).
inline std::vector<std::string_view> split_words(std::string_view record) {
  std::vector<std::string_view> words;
  for_each_word(record, [&](std::string_view word) { words.push_back(word); });
  return words;
}

namespace detail {

template <class J>
using table_of = FlatTable<typename J::value_type, typename J::reduce_type>;
template <class J>
using emitter_of = Emitter<typename J::key_type, typename J::value_type, typename J::reduce_type>;
template <class J>
using distributed_of = Distributed<typename J::key_type, typename J::value_type, typename J::reduce_type>;

/// A table for one process's map output: big enough that a typical chunk does not regrow it.
constexpr std::size_t kFirstTableKeys = std::size_t{1} << 14;

template <class J, class Record>
inline constexpr bool maps_v =
    MapFunction<typename J::map_type, Record, typename J::key_type, typename J::value_type, typename J::reduce_type>;

/// Record is the item type, or std::string_view for text (a map function over mr::Lines
/// also reads text).
template <class J, class Record>
void check_map_function() {
  constexpr bool text = std::same_as<Record, std::string_view>;
  static_assert(maps_v<J, Record> || (text && maps_v<J, Lines>),
                "mr::map_reduce: the map function must be callable as map(record, auto& emit) - record is "
                "std::string_view (a line) or mr::Lines (a block of lines) for text inputs, const T& for "
                "mr::items(std::vector<T>) - and call emit(key, value) with a key convertible to K and a value "
                "convertible to V");
}

/// One rank's map output: its table and, once it stopped combining other ranks' keys, the
/// pairs it routed to them (one buffer per rank; then the table holds only its own keys).
template <class J>
struct MapOutput {
  table_of<J> table;
  std::vector<Bytes> routed;
};

/// Stops combining other ranks' keys (MapReduceOptions::stop_combining_keys) when this rank's
/// keys are nearly all distinct: the keys in the table so far are split by owner, the table
/// keeps this rank's and the others' start their buffers.
template <class Table, class Emit>
void stop_combining_if_distinct(MPI_Comm comm, const MapReduceOptions& options, Table& table, Emit& emit) {
  if (!emit.combining() || options.stop_combining_keys == 0) return;
  emit.flush();  // the table's size counts every pair emitted so far
  if (table.size() < options.stop_combining_keys ||
      static_cast<double>(table.size()) < options.stop_combining_fraction * static_cast<double>(emit.emitted()))
    return;
  int rank = 0, ranks = 1;
  MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
  MR_MPI_CALL(MPI_Comm_size, comm, &ranks);
  if (ranks < 2) return;
  emit.route_to_owners(rank, keep_own_keys(table, rank, ranks));
}

/// Maps one block of whole lines into `emit` (the one record loop of both engines).
template <class Map, class Emit>
void map_block(std::string_view lines, const BlockOrigin& origin, Map& map, Emit& emit, MapReduceStats& stats) {
  PhaseClock clock;
  emit.set_window(lines.data(), lines.data() + lines.size());
  map_records(lines, origin, map, emit, stats);
  emit.flush();
  stats.phases.map += clock.lap();
}

/// Runs `read_and_map` (a loop that reads blocks and calls map_block for each) and counts the
/// time it spent outside map_block as reading.
template <class F>
void timed_read(MapReduceStats& stats, F&& read_and_map) {
  PhaseClock clock;
  const double mapped_before = stats.phases.map;
  read_and_map();
  stats.phases.read += clock.lap() - (stats.phases.map - mapped_before);
}

/// This rank's map phase over files: its own byte ranges, into a local table.
template <class J>
MapOutput<J> map_files(MPI_Comm comm, const J& job, const std::vector<std::string>& inputs,
                       const MapReduceOptions& options, MapReduceStats& stats) {
  check_map_function<J, std::string_view>();
  int rank = 0;
  MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
  table_of<J> table(kFirstTableKeys, job.reduce);
  emitter_of<J> emit(table);
  auto map = job.map;  // a copy per run: a map function may keep state
  LocalBlockOptions read;
  read.chunk_bytes = options.chunk_bytes;
  read.on_plan = options.on_plan;
  const bool report = rank == 0 && static_cast<bool>(options.on_mapped);
  timed_read(stats, [&] {
    for_each_local_block(comm, inputs, read, [&](std::string_view lines, const BlockOrigin& origin) {
      map_block(lines, origin, map, emit, stats);
      stop_combining_if_distinct(comm, options, table, emit);
      if (report) options.on_mapped(lines.size());
    });
  });
  return {std::move(table), emit.take_routed()};
}

/// This rank's map phase over its own items.
template <class J, class T>
MapOutput<J> map_items(MPI_Comm comm, const J& job, const std::vector<T>& items, const MapReduceOptions& options,
                       MapReduceStats& stats) {
  check_map_function<J, T>();
  table_of<J> table(kFirstTableKeys, job.reduce);
  emitter_of<J> emit(table);
  auto map = job.map;
  PhaseClock clock;
  agree_on_error(comm, [&] {
    std::size_t index = 0;
    try {
      constexpr std::size_t check_every = 4096;  // items between looks at the table
      for (; index < items.size(); ++index) {
        map(items[index], emit);
        if (index % check_every == check_every - 1) stop_combining_if_distinct(comm, options, table, emit);
      }
    } catch (const RecordError& e) {
      throw InputError("item " + std::to_string(index) + ": " + e.what());
    }
    emit.flush();
    stats.records += items.size();
  });
  stats.phases.map += clock.lap();
  return {std::move(table), emit.take_routed()};
}

/// The shuffle and reduce: each key to its owner rank, reduced there. Collective.
template <class J>
distributed_of<J> reduce_by_owner(MPI_Comm comm, MapOutput<J> local, const MapReduceStats& mapped,
                                  const MapReduceOptions& options) {
  table_of<J> owned(16, local.table.reducer());
  PhaseTimes phases = mapped.phases;
  // The reduce function runs in the merge and may throw: every rank agrees.
  agree_on_error(comm, [&] {
    owned = shuffle_to_owners(comm, local.table, std::move(local.routed), options.exchange_limit, &phases);
  });
  std::uint64_t mine[2] = {mapped.bytes, mapped.records}, total[2] = {0, 0};
  MR_MPI_CALL(MPI_Allreduce, mine, total, 2, MPI_UINT64_T, MPI_SUM, comm);
  return distributed_of<J>(comm, std::move(owned), MapReduceStats{total[0], total[1], phases});
}

template <class K, class V, class Map, class Reduce>
auto job_of(Map map, Reduce reduce) {
  return make_job<K, V>("", std::move(map), std::move(reduce));
}

}  // namespace detail

/// Runs `job` over text inputs on every rank of `comm` (collective) and leaves the result
/// distributed: each rank holds the keys it owns. Throws on every rank InputError for
/// unreadable inputs or malformed records, and otherwise the error of the lowest failing rank.
template <AnyJob J>
detail::distributed_of<J> map_reduce_distributed(const boost::mpi::communicator& comm,
                                                 const std::vector<std::string>& inputs, const J& job,
                                                 const MapReduceOptions& options = {}) {
  MapReduceStats stats;
  auto local = detail::map_files(comm, job, inputs, options, stats);
  return detail::reduce_by_owner<J>(comm, std::move(local), stats, options);
}

/// Runs `job` over each rank's own items (collective); the result stays distributed.
template <AnyJob J, class T>
detail::distributed_of<J> map_reduce_distributed(const boost::mpi::communicator& comm, Items<T> input, const J& job,
                                                 const MapReduceOptions& options = {}) {
  MapReduceStats stats;
  auto local = detail::map_items(comm, job, input.items, options, stats);
  return detail::reduce_by_owner<J>(comm, std::move(local), stats, options);
}

/// Runs `job` over text inputs on every rank of `comm` (collective). Returns the reduced
/// (key, value) pairs, ordered by key, on rank 0 and an empty map elsewhere.
template <AnyJob J>
std::map<typename J::key_type, typename J::value_type> map_reduce(const boost::mpi::communicator& comm,
                                                                  const std::vector<std::string>& inputs,
                                                                  const J& job, const MapReduceOptions& options = {}) {
  return map_reduce_distributed(comm, inputs, job, options).gather(0);
}

/// Runs `job` over each rank's own items (collective); the result on rank 0.
template <AnyJob J, class T>
std::map<typename J::key_type, typename J::value_type> map_reduce(const boost::mpi::communicator& comm, Items<T> input,
                                                                  const J& job, const MapReduceOptions& options = {}) {
  return map_reduce_distributed(comm, input, job, options).gather(0);
}

/// The job written in place: map_reduce<K, V>(comm, inputs, map, reduce).
template <class K, class V, class MapFn, class ReduceFn>
std::map<K, V> map_reduce(const boost::mpi::communicator& comm, const std::vector<std::string>& inputs, MapFn map,
                          ReduceFn reduce, const MapReduceOptions& options = {}) {
  return map_reduce(comm, inputs, detail::job_of<K, V>(std::move(map), std::move(reduce)), options);
}
template <class K, class V, class T, class MapFn, class ReduceFn>
std::map<K, V> map_reduce(const boost::mpi::communicator& comm, Items<T> input, MapFn map, ReduceFn reduce,
                          const MapReduceOptions& options = {}) {
  return map_reduce(comm, input, detail::job_of<K, V>(std::move(map), std::move(reduce)), options);
}
template <class K, class V, class MapFn, class ReduceFn>
Distributed<K, V, ReduceFn> map_reduce_distributed(const boost::mpi::communicator& comm,
                                                   const std::vector<std::string>& inputs, MapFn map, ReduceFn reduce,
                                                   const MapReduceOptions& options = {}) {
  return map_reduce_distributed(comm, inputs, detail::job_of<K, V>(std::move(map), std::move(reduce)), options);
}
template <class K, class V, class T, class MapFn, class ReduceFn>
Distributed<K, V, ReduceFn> map_reduce_distributed(const boost::mpi::communicator& comm, Items<T> input, MapFn map,
                                                   ReduceFn reduce, const MapReduceOptions& options = {}) {
  return map_reduce_distributed(comm, input, detail::job_of<K, V>(std::move(map), std::move(reduce)), options);
}

}  // namespace mr
