#pragma once
/// \file job.hpp
/// A MapReduce job as one value: key and value types, map and reduce functions, and a
/// name under which pool workers find it.
///
///     constexpr auto length_map = [](std::string_view line, auto& emit) {
///       for (auto word : mr::split_words(line)) emit(int(word.size()), 1L);
///     };
///     const auto word_lengths = mr::make_job<int, long>("word_lengths", length_map, std::plus<>{});
///     MR_JOB(word_lengths);  // namespace scope: pool workers can run it
///
///     mr::map_reduce(comm, inputs, word_lengths);      // on the ranks of an MPI job
///     mr::map_reduce(executor, inputs, word_lengths);  // on a ProcessPoolExecutor's workers

#include <concepts>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>

#include "mr/detail/key_codec.hpp"
#include "mr/emitter.hpp"

namespace mr {

/// A reduce function: reduce(const V&, const V&) -> V, associative and commutative.
template <class F, class V>
concept ReduceFunction = std::copy_constructible<F> && requires(F& f, const V& a, const V& b) {
  { f(a, b) } -> std::convertible_to<V>;
};

/// A map function over records of type Record - a text line (std::string_view), a block of
/// lines (mr::Lines), or an item of mr::items(std::vector<T>) (T) - map(const Record&,
/// emit) calling emit(key, value).
template <class F, class Record, class K, class V, class Reduce>
concept MapFunction = std::copy_constructible<F> && std::invocable<F&, const Record&, Emitter<K, V, Reduce>&>;

/// Key types a job can use: std::string, numbers, plain structs without padding, pairs and
/// tuples of those, and default-constructible classes with a Boost.Serialization serialize().
template <class K>
concept JobKey = std::copy_constructible<K> && std::equality_comparable<K> && requires(const K& a) {
  { a < a } -> std::convertible_to<bool>;
} && detail::is_encodable_key_v<K>;

/// Value types: copyable and default-constructible (numbers, structs, strings, containers
/// with a Boost.Serialization form).
template <class V>
concept JobValue = std::copy_constructible<V> && std::is_default_constructible_v<V> && detail::Wireable<V>;

/// A MapReduce job: records -> map -> (K, V) pairs -> reduce by key.
template <class K, class V, class Map, class Reduce>
struct Job {
  using key_type = K;
  using value_type = V;
  using map_type = Map;
  using reduce_type = Reduce;

  const char* name = "";  ///< unique per program; pool workers find the job by it
  Map map;
  Reduce reduce;
};

/// Builds a job, checking its functions at compile time.
template <class K, class V, class Map, class Reduce>
constexpr Job<K, V, Map, Reduce> make_job(const char* name, Map map, Reduce reduce) {
  static_assert(JobKey<K>,
                "mr::make_job: K must be std::string, a number, a struct without padding bytes, a pair/tuple of "
                "those, or a class with operator< and a Boost.Serialization serialize()");
  static_assert(JobValue<V>,
                "mr::make_job: V must be copyable and default-constructible: a number, a plain struct, a string, "
                "or a class with a Boost.Serialization serialize()");
  static_assert(ReduceFunction<Reduce, V>,
                "mr::make_job: the reduce function must be callable as reduce(const V&, const V&) and return "
                "something convertible to V (e.g. std::plus<>{})");
  return Job<K, V, Map, Reduce>{name, std::move(map), std::move(reduce)};
}

namespace detail {
template <class T>
struct is_job : std::false_type {};
template <class K, class V, class M, class R>
struct is_job<Job<K, V, M, R>> : std::true_type {};
}  // namespace detail

/// Any mr::Job.
template <class J>
concept AnyJob = detail::is_job<std::remove_cvref_t<J>>::value;

}  // namespace mr
