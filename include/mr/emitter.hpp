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
#include <vector>

#include "mr/detail/hash_table.hpp"
#include "mr/detail/key_codec.hpp"
#include "mr/detail/shuffle.hpp"

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
/// buffer first. On MPI ranks the engine may stop combining other ranks' keys
/// (route_to_owners): then those pairs go straight into their owner's shuffle buffer.
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
    ++emitted_;
    if constexpr (std::same_as<K, std::string> && std::convertible_to<const Key&, std::string_view>) {
      push(std::string_view(key), V(std::forward<Value>(value)));
    } else if constexpr (detail::is_raw_key_v<K>) {
      const K raw(key);  // its object bytes are the key: no encoding step
      push_copy(std::string_view(reinterpret_cast<const char*>(&raw), sizeof raw), V(std::forward<Value>(value)));
    } else {
      push_copy(detail::key_bytes<K>(K(key), scratch_), V(std::forward<Value>(value)));
    }
  }

  /// Pairs emitted so far.
  std::uint64_t emitted() const noexcept { return emitted_; }
  /// From now on only the keys rank `rank` owns go to the table; the others' pairs are
  /// appended uncombined to `buffers[owner]` (one buffer per rank, this rank's unused). For
  /// when nearly every key is new: combining them here would only add a cache miss per pair
  /// and build each key twice, here and at its owner. Flushes what is pending first.
  void route_to_owners(int rank, std::vector<detail::Bytes> buffers) {
    flush();
    rank_ = rank;
    routed_ = std::move(buffers);
    set_window(block_begin_, block_end_);
  }
  bool combining() const noexcept { return routed_.empty(); }
  /// The buffers of route_to_owners (none while combining).
  std::vector<detail::Bytes> take_routed() { return std::exchange(routed_, {}); }

  /// Keys inside [begin, end) stay valid until flush() and are used in place. While routing,
  /// the in-place window is empty: every key takes the copy path, which routes it, so the
  /// in-place path needs no test of its own.
  void set_window(const char* begin, const char* end) noexcept {
    block_begin_ = begin;
    block_end_ = end;
    if (!combining()) begin = end = nullptr;
    window_begin_ = begin;
    window_end_ = end;
    adder_.set_readable_end(end);
  }

  /// Adds everything emitted so far to the table.
  void flush() { adder_.flush(); }

 private:
  MR_HOT_INLINE static bool inside(std::string_view bytes, const char* begin, const char* end) noexcept {
    return bytes.data() >= begin && bytes.data() + bytes.size() <= end;
  }
  /// A string key: used in place when it lies in the block being mapped, else copied (or routed).
  MR_HOT_INLINE void push(std::string_view bytes, V&& value) {
    if (inside(bytes, window_begin_, window_end_)) [[likely]]
      adder_.add(bytes, std::move(value));
    else
      push_string_copy(bytes, std::move(value));
  }
  /// Out of line: inlined, the copy's code made the per-word loop of the word count 12 %
  /// slower (measured), though the in-place branch is the one taken.
  [[gnu::noinline]] void push_string_copy(std::string_view bytes, V&& value) { push_copy(bytes, std::move(value)); }
  /// A key that need not outlive the call: copied into the table's pending adds, or routed.
  MR_HOT_INLINE void push_copy(std::string_view bytes, V&& value) {
    if (combining()) [[likely]] adder_.add_copy(bytes, std::move(value));
    else route(bytes, std::move(value));
  }
  void route(std::string_view bytes, V&& value) {
    const int owner = detail::owner_of(detail::hash_bytes(bytes), static_cast<int>(routed_.size()));
    if (owner != rank_) detail::append_entry(routed_[static_cast<std::size_t>(owner)], bytes, value);
    else if (inside(bytes, block_begin_, block_end_)) adder_.add(bytes, std::move(value));
    else adder_.add_copy(bytes, std::move(value));
  }
  detail::PrefetchingAdder<Table> adder_;
  const char* window_begin_ = nullptr;
  const char* window_end_ = nullptr;
  detail::Bytes scratch_;  ///< the byte form of a non-string key
  const char* block_begin_ = nullptr;  ///< the block being mapped (the window while combining)
  const char* block_end_ = nullptr;
  std::uint64_t emitted_ = 0;
  int rank_ = 0;
  std::vector<detail::Bytes> routed_;  ///< per owner rank, once other ranks' keys are routed
};

}  // namespace mr
