#pragma once
/// \file emitter.hpp
/// What a map function receives: `emit(key, value)` adds the pair to this process's flat
/// table (the combiner), reducing values of equal keys at once.

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "mr/detail/hash_table.hpp"
#include "mr/detail/key_codec.hpp"

namespace mr {

/// A key an Emitter<K, ...> accepts: anything K can be built from, and for std::string
/// keys anything viewable as std::string_view (used in place, no copy).
template <class Key, class K>
concept EmittableKey = std::constructible_from<K, const Key&> ||
                       (std::same_as<K, std::string> && std::convertible_to<const Key&, std::string_view>);

/// The `emit` a map function is called with. emit(key, value) for a key already in the
/// table allocates nothing: keys are looked up as bytes (heterogeneous lookup), a few
/// emits behind, with their table slots prefetched. Keys that point into the record being
/// mapped are used in place; others (temporaries, numbers, tuples) are copied into a small
/// buffer first.
template <class K, class V, class Reduce>
class Emitter {
 public:
  using key_type = K;
  using value_type = V;
  using Table = detail::FlatTable<V, Reduce>;

  explicit Emitter(Table& table) : adder_(table) {}
  Emitter(const Emitter&) = delete;
  Emitter& operator=(const Emitter&) = delete;
  ~Emitter() = default;  // call flush() first: it may throw

  template <class Key, class Value>
    requires EmittableKey<std::remove_cvref_t<Key>, K> && std::convertible_to<Value&&, V>
  MR_HOT_INLINE void operator()(const Key& key, Value&& value) {
    if constexpr (std::same_as<K, std::string> && std::convertible_to<const Key&, std::string_view>) {
      push(std::string_view(key), V(std::forward<Value>(value)));
    } else if constexpr (detail::is_raw_key_v<K>) {
      const K raw(key);  // its object bytes are the key: no encoding step
      adder_.add_copy(std::string_view(reinterpret_cast<const char*>(&raw), sizeof raw), V(std::forward<Value>(value)));
    } else {
      adder_.add_copy(detail::key_bytes<K>(K(key), scratch_), V(std::forward<Value>(value)));
    }
  }

  /// Keys inside [begin, end) stay valid until flush() and are used in place.
  void set_window(const char* begin, const char* end) noexcept {
    window_begin_ = begin;
    window_end_ = end;
    adder_.set_readable_end(end);
  }

  /// Adds everything emitted so far to the table.
  void flush() { adder_.flush(); }

 private:
  /// A string key: used in place when it lies in the block being mapped, else copied.
  MR_HOT_INLINE void push(std::string_view bytes, V&& value) {
    if (bytes.data() >= window_begin_ && bytes.data() + bytes.size() <= window_end_) [[likely]]
      adder_.add(bytes, std::move(value));
    else
      push_copy(bytes, std::move(value));
  }
  /// Out of line: inlined, the copy's code made the per-word loop of the word count 12 %
  /// slower (measured), though the in-place branch is the one taken.
  [[gnu::noinline, gnu::cold]] void push_copy(std::string_view bytes, V&& value) { adder_.add_copy(bytes, std::move(value)); }
  detail::PrefetchingAdder<Table> adder_;
  const char* window_begin_ = nullptr;
  const char* window_end_ = nullptr;
  detail::Bytes scratch_;  ///< the byte form of a non-string key
};

}  // namespace mr
