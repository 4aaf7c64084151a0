#pragma once
/// \file hash_table.hpp
/// The combiner: an open-addressing flat hash table from byte-string keys to 64-bit
/// values. Keys live in one arena (copied once, when a key is first seen), every slot
/// keeps its full hash so probing compares 8 bytes before touching a key, and growth
/// rehashes without recomputing hashes.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "mr/error.hpp"

/// For the per-key hot path (emit -> prefetch ring -> probe): GCC's inliner gives up on this
/// chain of small templates once it is deep enough, and a call per key cost the word count
/// 12 % (measured: `perf` showed PrefetchingAdder::store and the reduce as separate functions).
#define MR_HOT_INLINE [[gnu::always_inline]] inline

namespace mr::detail {

namespace hash_detail {

inline std::uint64_t load64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

/// The low `bytes` (0..8) bytes of a word.
inline std::uint64_t low_bytes(std::uint64_t word, std::size_t bytes) noexcept {
  return bytes >= 8 ? word : word & ((std::uint64_t{1} << (8 * bytes)) - 1);
}

}  // namespace hash_detail

/// A key of at most 16 bytes as two little-endian words, zero-padded.
struct ShortKey {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
};

/// Keys up to this size are hashed (and, up to 12 bytes, compared) as a ShortKey.
inline constexpr std::size_t short_key_bytes = 16;

namespace hash_detail {

/// The `bytes` (0..8) bytes at p as a zero-padded little-endian word, reading only them.
inline std::uint64_t load_partial(const char* p, std::size_t bytes) noexcept {
  auto byte = [p](std::size_t i) { return std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i); };
  if (bytes >= 8) return load64(p);
  if (bytes >= 4) {
    std::uint32_t first, last;
    std::memcpy(&first, p, 4);
    std::memcpy(&last, p + bytes - 4, 4);
    return std::uint64_t{first} | (std::uint64_t{last} << (8 * (bytes - 4)));
  }
  if (bytes == 0) return 0;
  return byte(0) | byte(bytes >> 1) | byte(bytes - 1);
}

}  // namespace hash_detail

/// ShortKey of data[0, size), size <= 16, reading only those bytes.
inline ShortKey short_key(const char* data, std::size_t size) noexcept {
  if (size <= 8) return {hash_detail::load_partial(data, size), 0};
  return {hash_detail::load64(data), hash_detail::load_partial(data + 8, size - 8)};
}

/// ShortKey of data[0, size), size <= 16, when 16 bytes at data are readable: two loads
/// and masks, no branch on the size.
inline ShortKey short_key_overread(const char* data, std::size_t size) noexcept {
  return {hash_detail::low_bytes(hash_detail::load64(data), size),
          hash_detail::low_bytes(hash_detail::load64(data + 8), size > 8 ? size - 8 : 0)};
}

/// Hash of a key of at most 16 bytes given as a ShortKey.
inline std::uint64_t hash_short(const ShortKey& key, std::size_t size) noexcept {
  constexpr std::uint64_t k1 = 0x9E3779B97F4A7C15ull, k2 = 0xBF58476D1CE4E5B9ull, k3 = 0x94D049BB133111EBull;
  std::uint64_t h = (key.lo ^ k1 ^ size) * k2;
  h ^= h >> 31;
  h = (h ^ key.hi) * k3;
  h ^= h >> 29;
  h *= k2;
  h ^= h >> 32;
  return h;
}

/// A fast 64-bit hash of a byte string, no reads past the end: keys up to 16 bytes in two
/// words, longer ones 8 bytes per step.
inline std::uint64_t hash_bytes(const char* data, std::size_t size) noexcept {
  if (size <= short_key_bytes) return hash_short(short_key(data, size), size);
  constexpr std::uint64_t k1 = 0x9E3779B97F4A7C15ull, k2 = 0xBF58476D1CE4E5B9ull, k3 = 0x94D049BB133111EBull;
  std::uint64_t h = k1 ^ (static_cast<std::uint64_t>(size) * k2);
  std::size_t n = size;
  while (n > 8) {
    h = (h ^ hash_detail::load64(data)) * k2;
    h ^= h >> 31;
    data += 8;
    n -= 8;
  }
  h = (h ^ hash_detail::load64(data + n - 8)) * k3;  // the last 8 bytes (size > 16)
  h ^= h >> 29;
  h *= k2;
  h ^= h >> 32;
  return h;
}

/// Equality of two byte strings of the same size, inlined for the short keys words are
/// (a library memcmp call costs more than the comparison). Never reads past either end.
inline bool bytes_equal(const char* a, const char* b, std::size_t n) noexcept {
  auto load64 = [](const char* p) { std::uint64_t v; std::memcpy(&v, p, 8); return v; };
  auto load32 = [](const char* p) { std::uint32_t v; std::memcpy(&v, p, 4); return v; };
  if (n >= 8) {
    for (std::size_t i = 0; i + 8 < n; i += 8)
      if (load64(a + i) != load64(b + i)) return false;
    return load64(a + n - 8) == load64(b + n - 8);
  }
  if (n >= 4) return load32(a) == load32(b) && load32(a + n - 4) == load32(b + n - 4);
  if (n == 0) return true;
  return a[0] == b[0] && a[n >> 1] == b[n >> 1] && a[n - 1] == b[n - 1];
}

inline std::uint64_t hash_bytes(std::string_view key) noexcept {
  return hash_bytes(key.data(), key.size());
}

/// Zero-initialised memory for hash slots; large blocks are mapped with transparent huge
/// pages (lookups are random accesses, and with 4 KiB pages nearly every one misses the
/// TLB). Defined in the library so users' code does not include <sys/mman.h>.
struct ZeroedBlock {
  void* data = nullptr;
  void* base = nullptr;     ///< what to release (mapping start), nullptr for a calloc block
  std::size_t mapped = 0;   ///< mapping length, 0 for a calloc block
};
ZeroedBlock allocate_zeroed(std::size_t bytes);
void release_zeroed(const ZeroedBlock& block) noexcept;

/// An array of zero-initialised trivially copyable T in a ZeroedBlock.
template <class T>
class HugeArray {
  static_assert(std::is_trivially_copyable_v<T>, "HugeArray holds slots that start as zero bytes");

 public:
  HugeArray() = default;
  explicit HugeArray(std::size_t count) : count_(count), block_(allocate_zeroed(count * sizeof(T))) {}
  HugeArray(HugeArray&& other) noexcept { swap(other); }
  HugeArray& operator=(HugeArray&& other) noexcept {
    HugeArray(std::move(other)).swap(*this);
    return *this;
  }
  ~HugeArray() { release_zeroed(block_); }
  void swap(HugeArray& other) noexcept {
    std::swap(count_, other.count_);
    std::swap(block_, other.block_);
  }
  T& operator[](std::size_t i) noexcept { return data()[i]; }
  const T& operator[](std::size_t i) const noexcept { return data()[i]; }
  T* begin() noexcept { return data(); }
  T* end() noexcept { return data() + count_; }
  const T* begin() const noexcept { return data(); }
  const T* end() const noexcept { return data() + count_; }
  std::size_t size() const noexcept { return count_; }

 private:
  T* data() const noexcept { return static_cast<T*>(block_.data); }
  std::size_t count_ = 0;
  ZeroedBlock block_;
};

/// The built-in jobs' reduce: 64-bit addition that reports overflow (as a RecordError, so
/// a sum that overflows while one record is mapped names that record's line).
struct SumReduce {
  MR_HOT_INLINE std::int64_t operator()(std::int64_t a, std::int64_t b) const {
    std::int64_t sum;
    if (__builtin_add_overflow(a, b, &sum)) [[unlikely]] overflow();
    return sum;
  }
  [[noreturn, gnu::cold, gnu::noinline]] static void overflow() {
    throw RecordError("the sum of the counts for this key does not fit in 64 bits");
  }
};

/// Values that live in the slot itself: trivially copyable ones (numbers, plain structs).
/// Others (strings, vectors, user classes) live in a side vector the slot indexes.
template <class V>
inline constexpr bool slot_value_v = std::is_trivially_copyable_v<V> && std::is_default_constructible_v<V>;

/// Open-addressing (linear probing) table: byte-string key -> V, combining the values of
/// equal keys with Reduce. Keys of any type are stored in their flat byte encoding
/// (key_codec.hpp), so one table serves every key type, and lookups take a string_view:
/// adding to an existing key allocates nothing. A slot holds the full hash, the value (or
/// its index), and the key itself when it is at most 12 bytes (most words), else the key's
/// offset in an arena; with a 64-bit value a slot is 32 bytes, so a lookup of a short key
/// touches one cache line, which prefetch() can fetch ahead.
template <class V, class Reduce>
class FlatTable {
 public:
  using value_type = V;
  using reduce_type = Reduce;
  static constexpr std::size_t inline_key_bytes = 12;
  using Stored = std::conditional_t<slot_value_v<V>, V, std::uint64_t>;

  struct Slot {
    std::uint64_t hash;
    Stored value;                 ///< the value, or its index in values_
    std::uint32_t size_plus_one;  ///< 0: empty slot
    char key[inline_key_bytes];   ///< the key, or its arena offset (8 bytes) when longer
  };

  explicit FlatTable(std::size_t initial_capacity = 1024, Reduce reduce = {}) : reduce_(std::move(reduce)) {
    std::size_t capacity = 16;
    while (capacity < initial_capacity) capacity <<= 1;
    slots_ = HugeArray<Slot>(capacity);
    mask_ = capacity - 1;
  }

  /// Starts loading the slot where a key with this hash lives (a hint; no effect on results).
  MR_HOT_INLINE void prefetch(std::uint64_t hash) const noexcept { __builtin_prefetch(&slots_[hash & mask_], 1); }

  /// Combines `value` into `key`'s entry (inserting it if new); `hash` must be hash_bytes(key).
  template <class Value>
  MR_HOT_INLINE void add(std::string_view key, std::uint64_t hash, Value&& value) {
    add_where(key, hash, std::forward<Value>(value),
              [&](const Slot& slot) __attribute__((always_inline)) {
                return bytes_equal(key_data(slot), key.data(), key.size());
              });
  }
  template <class Value>
  MR_HOT_INLINE void add(std::string_view key, Value&& value) {
    add(key, hash_bytes(key), std::forward<Value>(value));
  }

  /// add() for a key whose ShortKey `words` is known (any size; only keys of at most 12
  /// bytes use it, comparing two words with the zero-padded inline key, no byte loop).
  template <class Value>
  MR_HOT_INLINE void add(std::string_view key, std::uint64_t hash, const ShortKey& words, Value&& value) {
    if (key.size() > inline_key_bytes) {
      add(key, hash, std::forward<Value>(value));
      return;
    }
    add_where(key, hash, std::forward<Value>(value), [&](const Slot& slot) __attribute__((always_inline)) {
      std::uint32_t inline_hi;
      std::memcpy(&inline_hi, slot.key + 8, sizeof inline_hi);
      return hash_detail::load64(slot.key) == words.lo && inline_hi == static_cast<std::uint32_t>(words.hi);
    });
  }

  /// The value of `key`, or nullptr when absent.
  const V* find(std::string_view key) const {
    const std::uint64_t hash = hash_bytes(key);
    const auto size_plus_one = static_cast<std::uint32_t>(key.size() + 1);
    for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.size_plus_one == 0) return nullptr;
      if (slot.hash == hash && slot.size_plus_one == size_plus_one &&
          bytes_equal(key_data(slot), key.data(), key.size()))
        return &value_of(slot);
    }
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const Reduce& reducer() const noexcept { return reduce_; }
  /// Bytes held by slots, key arena and out-of-slot values.
  std::size_t memory_bytes() const noexcept {
    return slots_.size() * sizeof(Slot) + arena_.capacity() + values_.capacity() * sizeof(V);
  }

  /// Calls f(key, hash, value) for every entry, in slot order.
  template <class F>
  void for_each(F&& f) const {
    for (const Slot& slot : slots_)
      if (slot.size_plus_one != 0)
        f(std::string_view(key_data(slot), slot.size_plus_one - 1), slot.hash, value_of(slot));
  }

  void clear() {
    slots_ = HugeArray<Slot>(16);
    mask_ = 15;
    arena_.clear();
    arena_.shrink_to_fit();
    values_.clear();
    values_.shrink_to_fit();
    size_ = 0;
  }

 private:
  MR_HOT_INLINE const char* key_data(const Slot& slot) const noexcept {
    if (slot.size_plus_one - 1 <= inline_key_bytes) return slot.key;
    std::uint64_t offset;
    std::memcpy(&offset, slot.key, sizeof offset);
    return arena_.data() + offset;
  }
  MR_HOT_INLINE const V& value_of(const Slot& slot) const noexcept {
    if constexpr (slot_value_v<V>) return slot.value;
    else return values_[slot.value];
  }
  MR_HOT_INLINE V& value_of(Slot& slot) noexcept {
    if constexpr (slot_value_v<V>) return slot.value;
    else return values_[slot.value];
  }

  /// Linear probing from the key's home slot; `same_key(slot)` compares the key bytes of
  /// a slot whose hash and size already match.
  template <class Value, class SameKey>
  MR_HOT_INLINE void add_where(std::string_view key, std::uint64_t hash, Value&& value, SameKey&& same_key) {
    const auto size_plus_one = static_cast<std::uint32_t>(key.size() + 1);
    for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.size_plus_one == 0) {
        insert_at(slot, key, hash, std::forward<Value>(value));
        return;
      }
      if (slot.hash == hash && slot.size_plus_one == size_plus_one && same_key(slot)) {
        V& current = value_of(slot);
        current = reduce_(std::as_const(current), std::as_const(value));
        return;
      }
    }
  }

  template <class Value>
  void insert_at(Slot& slot, std::string_view key, std::uint64_t hash, Value&& value) {
    if (key.size() >= UINT32_MAX) throw std::length_error("key longer than 4 GiB");
    if constexpr (slot_value_v<V>) {
      slot.value = static_cast<V>(std::forward<Value>(value));
    } else {
      slot.value = values_.size();
      values_.emplace_back(std::forward<Value>(value));
    }
    slot.hash = hash;
    slot.size_plus_one = static_cast<std::uint32_t>(key.size() + 1);
    if (key.size() <= inline_key_bytes) {
      std::memset(slot.key, 0, sizeof slot.key);  // zero padding: compared as two words
      std::memcpy(slot.key, key.data(), key.size());
    } else {
      const std::uint64_t offset = arena_.size();
      arena_.insert(arena_.end(), key.begin(), key.end());
      std::memcpy(slot.key, &offset, sizeof offset);
    }
    if (++size_ * 2 > slots_.size()) grow();
  }

  void grow() {
    HugeArray<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    for (const Slot& slot : old) {
      if (slot.size_plus_one == 0) continue;
      std::size_t i = slot.hash & mask_;
      while (slots_[i].size_plus_one != 0) i = (i + 1) & mask_;
      slots_[i] = slot;
    }
  }

  HugeArray<Slot> slots_;
  std::vector<char> arena_;
  std::vector<V> values_;  ///< values that do not fit a slot (empty when slot_value_v<V>)
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  [[no_unique_address]] Reduce reduce_;
};

/// Adds keys to a table a few keys behind: each key's slot is prefetched when the key
/// arrives and looked up `depth` keys later, so cache misses on rare keys overlap instead
/// of stalling one after another. Keys passed to add() must stay valid until flush();
/// add_copy() copies them (for keys in a scratch buffer). Keys that start at least 16
/// bytes before `readable_end` are loaded as words without a byte loop.
template <class Table>
class PrefetchingAdder {
 public:
  static constexpr unsigned depth = 16;

  explicit PrefetchingAdder(Table& table, const char* readable_end = nullptr)
      : table_(table), readable_end_(readable_end) {}
  PrefetchingAdder(const PrefetchingAdder&) = delete;
  PrefetchingAdder& operator=(const PrefetchingAdder&) = delete;
  ~PrefetchingAdder() = default;  // call flush() first: it may throw

  using Value = typename Table::value_type;

  template <class V>
  MR_HOT_INLINE void add(std::string_view key, V&& value) {
    Item& item = take();
    store(item, key, std::forward<V>(value),
          readable_end_ && key.size() <= short_key_bytes && key.data() + 16 <= readable_end_);
  }
  template <class V>
  MR_HOT_INLINE void add_copy(std::string_view key, V&& value) {
    Item& item = take();
    item.copy.assign(key);
    store(item, item.copy, std::forward<V>(value), false);
  }
  /// Keys that start at least 16 bytes before `end` are loaded as words (no byte loop).
  void set_readable_end(const char* end) noexcept { readable_end_ = end; }
  void flush() {
    for (unsigned n = count_, i = (head_ + depth - count_) % depth; n > 0; --n, i = (i + 1) % depth) apply(ring_[i]);
    count_ = 0;
    head_ = 0;
  }

 private:
  struct Item {
    std::string_view key;
    std::uint64_t hash = 0;
    ShortKey words;
    Value value{};
    std::string copy;  ///< the key, for keys that do not outlive the call (short ones: no allocation)
  };

  MR_HOT_INLINE Item& take() {
    Item& item = ring_[head_];
    if (count_ == depth) apply(item);
    return item;
  }
  MR_HOT_INLINE void apply(Item& item) {
    if (item.key.size() <= short_key_bytes) table_.add(item.key, item.hash, item.words, std::move(item.value));
    else table_.add(item.key, item.hash, std::move(item.value));
  }
  template <class V>
  MR_HOT_INLINE void store(Item& item, std::string_view key, V&& value, bool overread_ok) {
    item.key = key;
    if (key.size() <= short_key_bytes) {
      item.words = overread_ok ? short_key_overread(key.data(), key.size()) : short_key(key.data(), key.size());
      item.hash = hash_short(item.words, key.size());
    } else {
      item.hash = hash_bytes(key);
    }
    item.value = std::forward<V>(value);
    table_.prefetch(item.hash);
    head_ = (head_ + 1) % depth;
    if (count_ < depth) ++count_;
  }

  Table& table_;
  const char* readable_end_;
  Item ring_[depth];
  unsigned head_ = 0;
  unsigned count_ = 0;
};

/// The table every built-in job uses: word or n-gram -> summed count.
using CountTable = FlatTable<std::int64_t, SumReduce>;

}  // namespace mr::detail
