#pragma once
/// \file hash_table.hpp
/// The combiner: an open-addressing flat hash table from byte-string keys to 64-bit
/// values. Keys live in one arena (copied once, when a key is first seen), every slot
/// keeps its full hash so probing compares 8 bytes before touching a key, and growth
/// rehashes without recomputing hashes.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "mr/error.hpp"

/// For the per-key hot path (emit -> batched adder -> probe): GCC's inliner gives up on this
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
constexpr std::uint64_t low_bytes(std::uint64_t word, std::size_t bytes) noexcept {
  return bytes >= 8 ? word : word & ((std::uint64_t{1} << (8 * bytes)) - 1);
}

}  // namespace hash_detail

/// A key of at most 16 bytes as two little-endian words, zero-padded.
struct ShortKey {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
};

/// Keys up to this size are hashed and compared as a ShortKey.
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

namespace hash_detail {

/// The masks that keep a key's first `size` bytes in its two words, for size 0..16.
struct ShortKeyMask {
  std::uint64_t lo, hi;
};
inline constexpr auto short_key_masks = [] {
  std::array<ShortKeyMask, short_key_bytes + 1> masks{};
  for (std::size_t size = 0; size <= short_key_bytes; ++size)
    masks[size] = {low_bytes(~std::uint64_t{0}, size), low_bytes(~std::uint64_t{0}, size > 8 ? size - 8 : 0)};
  return masks;
}();

}  // namespace hash_detail

/// ShortKey of data[0, size), size <= 16, when 16 bytes at data are readable: two loads
/// and two masks from a table, no branch on the size (word lengths vary at random: a test
/// of the size here was a mispredicted branch for a good share of the tokens).
inline ShortKey short_key_overread(const char* data, std::size_t size) noexcept {
  const hash_detail::ShortKeyMask& mask = hash_detail::short_key_masks[size];
  return {hash_detail::load64(data) & mask.lo, hash_detail::load64(data + 8) & mask.hi};
}

/// Hash of a key of at most 16 bytes given as a ShortKey. Two multiply-xorshift rounds: the
/// slot index (low bits), the tag (bits 32-38) and the owner rank (high bits) all spread well
/// even for keys that differ in a few digit bytes. Cheaper mixes measured worse: one folded
/// 128-bit product, and two independent products added and folded (11 instructions against
/// 18, no faster in time, but a chi-square per degree of freedom of 15-84 for the tag bits of
/// numbered keys, against about 1 for this one: test Hash.DigitKeysSpreadOverSlotsTagsAndOwners).
MR_HOT_INLINE std::uint64_t hash_short(const ShortKey& key, std::size_t size) noexcept {
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
MR_HOT_INLINE bool bytes_equal(const char* a, const char* b, std::size_t n) noexcept {
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

/// Bytes that grow without copying: an anonymous mapping enlarged with mremap (the kernel
/// moves page-table entries, not bytes, and new pages start as zeros), on transparent huge
/// pages once large (lookups are random accesses, and with 4 KiB pages nearly every one
/// misses the TLB). Defined in the library (zeroed_block.cpp) so users' code does not
/// include <sys/mman.h>.
struct GrowableBlock {
  void* data = nullptr;
  std::size_t capacity = 0;
};
/// `block` enlarged to at least `bytes` (at least doubled); its data may move, what it held
/// is kept and the new bytes are zero.
GrowableBlock grow_block(GrowableBlock block, std::size_t bytes);
void release_block(const GrowableBlock& block) noexcept;
/// Maps in the pages of [data, data + bytes) at once, as if written (a hint: no effect on
/// contents). For memory about to be written in full: the kernel fills the page table in one
/// call instead of taking a fault per page (on the VM this was built on, a fault costs
/// ~10 µs: 320 MB of result entries spent 0.8 s in faults).
void prefault(void* data, std::size_t bytes) noexcept;

/// An array of trivially copyable T that start as zero bytes, in a GrowableBlock: growing it
/// keeps the elements in place and adds zeros, so a table that doubles touches each page once
/// and never holds the old and the new array together.
template <class T>
class HugeArray {
  static_assert(std::is_trivially_copyable_v<T>, "HugeArray holds slots that start as zero bytes");

 public:
  HugeArray() = default;
  explicit HugeArray(std::size_t count) { grow(count); }
  HugeArray(HugeArray&& other) noexcept { swap(other); }
  HugeArray& operator=(HugeArray&& other) noexcept {
    HugeArray(std::move(other)).swap(*this);
    return *this;
  }
  ~HugeArray() { release_block(block_); }
  void swap(HugeArray& other) noexcept {
    std::swap(count_, other.count_);
    std::swap(block_, other.block_);
  }
  /// Makes the array `count` long (not shorter than it is): the first size() elements are
  /// kept, the others are zero. Pointers into it are invalidated.
  void grow(std::size_t count) {
    if (count * sizeof(T) > block_.capacity) block_ = grow_block(block_, count * sizeof(T));
    count_ = count;
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
  GrowableBlock block_;
};

/// An array of trivially copyable entries with room for capacity() of them, in memory lent by
/// a table that handed its slots over (FlatTable::into_entries), or in its own once it needs
/// more than that. The lender is kept alive either way: entries may point into it.
template <class T>
class EntryArray {
  static_assert(std::is_trivially_copyable_v<T>, "EntryArray copies entries as bytes");

 public:
  using value_type = T;
  using iterator = T*;

  EntryArray() = default;
  EntryArray(T* data, std::size_t size, std::size_t capacity, std::shared_ptr<void> lender) noexcept
      : data_(data), size_(size), capacity_(capacity), lender_(std::move(lender)) {}

  T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t capacity() const noexcept { return capacity_; }
  T* begin() const noexcept { return data_; }
  T* end() const noexcept { return data_ + size_; }
  T& operator[](std::size_t i) const noexcept { return data_[i]; }

  /// Room for `count` entries: beyond the capacity, the entries move to memory of their own
  /// (mapped in at once: prefault).
  void reserve(std::size_t count) {
    if (count <= capacity_) return;
    auto grown = std::make_unique_for_overwrite<T[]>(count);
    prefault(grown.get(), count * sizeof(T));
    if (size_ != 0) std::memcpy(grown.get(), data_, size_ * sizeof(T));
    own_ = std::move(grown);
    data_ = own_.get();
    capacity_ = count;
  }
  void push_back(const T& entry) {
    if (size_ == capacity_) reserve(std::max<std::size_t>(16, 2 * capacity_));
    data_[size_++] = entry;
  }
  /// Drops the entries from `first` to the end.
  void erase(iterator first, iterator last) noexcept {
    if (last == end()) size_ = static_cast<std::size_t>(first - data_);
  }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
  std::unique_ptr<T[]> own_;
  std::shared_ptr<void> lender_;
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

/// An append-only byte arena in a GrowableBlock: growth never copies what it holds. At
/// least `slack` bytes past the end are always readable, so short keys can be loaded as
/// two words. Pointers into it are invalidated by reserve()/append() that grow it.
class Arena {
 public:
  static constexpr std::size_t slack = 16;
  Arena() = default;
  Arena(Arena&& other) noexcept { swap(other); }
  Arena& operator=(Arena&& other) noexcept {
    Arena(std::move(other)).swap(*this);
    return *this;
  }
  ~Arena() { release_block(block_); }
  void swap(Arena& other) noexcept {
    std::swap(block_, other.block_);
    std::swap(size_, other.size_);
  }
  char* data() const noexcept { return static_cast<char*>(block_.data); }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return block_.capacity; }
  /// Appends `bytes` uninitialised (zero) bytes at the next multiple of `align` (a power of
  /// two); returns their offset.
  MR_HOT_INLINE std::size_t append(std::size_t bytes, std::size_t align) {
    const std::size_t at = (size_ + align - 1) & ~(align - 1);
    if (at + bytes + slack > block_.capacity) [[unlikely]] block_ = grow_block(block_, at + bytes + slack);
    size_ = at + bytes;
    return at;
  }

 private:
  GrowableBlock block_;
  std::size_t size_ = 0;
};

/// Values that live in the slot itself: trivially copyable ones (numbers, plain structs).
/// Others (strings, vectors, user classes) live in a side vector the slot indexes.
template <class V>
inline constexpr bool slot_value_v = std::is_trivially_copyable_v<V> && std::is_default_constructible_v<V>;

/// Open-addressing (linear probing) table: byte-string key -> V, combining the values of
/// equal keys with Reduce. Keys of any type are stored in their flat byte encoding
/// (key_codec.hpp), so one table serves every key type, and lookups take a string_view:
/// adding to an existing key allocates nothing.
///
/// A slot is 24 bytes for an 8-byte value: a word of metadata (an occupied bit, a 7-bit tag
/// of the hash, the key's size, and 6 bytes that are either the key's first bytes or its
/// offset in an append-only arena), 8 more inline key bytes, and the value. A repeated key of
/// up to 14 bytes (nearly every word and 1-gram) is found by comparing two words of one slot;
/// a longer one also reads its bytes in the arena (which the PrefetchingAdder prefetches in a
/// second stage). The slots are at most 3/4 full, the slots and the arena (only long keys)
/// grow in place without copies (mremap), and growing the slots re-hashes keys instead of
/// storing hashes (10 M distinct 7-byte words: 24 bytes of slot per 0.6 key, against 32 per
/// 0.3 key with the slots this replaced; 16-byte slots with 6 inline bytes saved another third
/// of that but made the prose word count 25-40 % slower, every 7-14-byte word reading the arena).
template <class V, class Reduce>
class FlatTable {
 public:
  using value_type = V;
  using reduce_type = Reduce;
  using Stored = std::conditional_t<slot_value_v<V>, V, std::uint64_t>;
  static constexpr std::size_t inline_key_bytes = 14;

  /// An inline key's bytes are contiguous from byte 2 of the slot: the 6 payload bytes of
  /// `meta` (little-endian), then `rest`.
  struct Slot {
    std::uint64_t meta;  ///< 0: empty; else occupied bit 15, tag 8..14, size 0..7, payload 16..63
    std::uint64_t rest;  ///< inline key bytes 6..13
    Stored value;        ///< the value, or its index in values_
  };

  /// A table with room for `expected_keys` before it grows.
  explicit FlatTable(std::size_t expected_keys = 1024, Reduce reduce = {}) : reduce_(std::move(reduce)) {
    std::size_t capacity = 16;
    while (capacity * max_load_num < expected_keys * max_load_den) capacity <<= 1;
    slots_ = HugeArray<Slot>(capacity);
    mask_ = capacity - 1;
  }

  /// Starts loading the slot where a key with this hash lives (a hint; no effect on results).
  MR_HOT_INLINE void prefetch(std::uint64_t hash) const noexcept { __builtin_prefetch(&slots_[hash & mask_], 1); }

  /// Second stage of a prefetch: once the home slot of `hash` is in cache, starts loading the
  /// arena bytes of the key it holds when that key is not inline and its tag and size match.
  MR_HOT_INLINE void prefetch_key(std::uint64_t hash, std::size_t size) const noexcept {
    const std::uint64_t meta = slots_[hash & mask_].meta;
    if (size > inline_key_bytes && (meta & head_mask) == head_of(hash, size)) __builtin_prefetch(arena_.data() + payload(meta));
  }

  /// Combines `value` into `key`'s entry (inserting it if new); `hash` must be hash_bytes(key).
  template <class Value>
  MR_HOT_INLINE void add(std::string_view key, std::uint64_t hash, Value&& value) {
    if (key.size() <= short_key_bytes) add(key, hash, short_key(key.data(), key.size()), std::forward<Value>(value));
    else add_long(key, hash, std::forward<Value>(value));
  }
  template <class Value>
  MR_HOT_INLINE void add(std::string_view key, Value&& value) {
    add(key, hash_bytes(key), std::forward<Value>(value));
  }

  /// add() for a key whose ShortKey `words` is known (any size; keys of at most 16 bytes are
  /// compared as words, no byte loop: inline ones in the slot, others as two masked loads from
  /// the arena, whose slack makes them safe).
  template <class Value>
  MR_HOT_INLINE void add(std::string_view key, std::uint64_t hash, const ShortKey& words, Value&& value) {
    const std::size_t size = key.size();
    if (size > short_key_bytes) {
      add_long(key, hash, std::forward<Value>(value));
      return;
    }
    if (size <= inline_key_bytes) {
      add_inline(hash, inline_key(hash, size, words), std::forward<Value>(value));
      return;
    }
    add_where(key, hash, std::forward<Value>(value), [&](const Slot& slot) __attribute__((always_inline)) {
      const std::uint64_t meta = slot.meta;
      const char* bytes = arena_.data() + payload(meta);
      return hash_detail::low_bytes(hash_detail::load64(bytes), size) == words.lo &&
             hash_detail::low_bytes(hash_detail::load64(bytes + 8), size > 8 ? size - 8 : 0) == words.hi;
    });
  }

  /// A slot's two key words (`meta`, `rest`): for a key stored inline what a probe compares
  /// and what an insert stores, for a key in the arena its head and offset (rest 0).
  struct SlotWords {
    std::uint64_t meta;
    std::uint64_t rest;
  };
  /// The slot words of a key of at most inline_key_bytes.
  MR_HOT_INLINE static SlotWords inline_key(std::uint64_t hash, std::size_t size, const ShortKey& words) noexcept {
    return {head_of(hash, size) | (words.lo << payload_shift),
            (words.lo >> (64 - payload_shift)) | (words.hi << payload_shift)};
  }

  /// add() for a key of at most inline_key_bytes given by its slot words: the probe compares
  /// two words per slot, and a new key is stored by writing them.
  template <class Value>
  MR_HOT_INLINE void add_inline(std::uint64_t hash, SlotWords key, Value&& value) {
    for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      // One branch for both words: a repeated key (most tokens) takes it on the first slot.
      if (((slot.meta ^ key.meta) | (slot.rest ^ key.rest)) == 0) {
        V& current = value_of(slot);
        current = reduce_(std::as_const(current), std::as_const(value));
        return;
      }
      if (slot.meta == 0) {
        fill_slot(slot, key, size_field(key.meta), std::forward<Value>(value));
        return;
      }
    }
  }

  /// The value of `key`, or nullptr when absent.
  const V* find(std::string_view key) const {
    const std::uint64_t hash = hash_bytes(key);
    const std::uint64_t head = head_of(hash, key.size());
    for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.meta == 0) return nullptr;
      if ((slot.meta & head_mask) == head && key_of(slot) == key) return &value_of(slot);
    }
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  /// The total size of the keys held, in bytes (kept as keys come and go, so that buffers
  /// for them are sized without a walk over the table).
  std::size_t key_bytes() const noexcept { return key_bytes_; }
  const Reduce& reducer() const noexcept { return reduce_; }
  /// Bytes held by slots, key arena and out-of-slot values.
  std::size_t memory_bytes() const noexcept {
    return slots_.size() * sizeof(Slot) + arena_.capacity() + values_.capacity() * sizeof(V);
  }

  /// Calls f(key, value) for every entry, in slot order; f(key, hash, value) when f takes the
  /// hash (it is recomputed, so only for those that ask: the output's collection of a million
  /// keys spent a tenth of its time hashing them).
  template <class F>
  void for_each(F&& f) const {
    constexpr bool wants_hash = std::is_invocable_v<F&, std::string_view, std::uint64_t, const V&>;
    for (const Slot& slot : slots_)
      if (slot.meta != 0) {
        const std::string_view key = key_of(slot);
        if constexpr (wants_hash) f(key, hash_of(slot), value_of(slot));
        else f(key, value_of(slot));
      }
  }

  /// Keeps the entries for which keep(key, hash, value) is true and drops the others, in
  /// place: no second table, and the slots keep their capacity (the caller goes on adding).
  /// keep() sees every entry once and may read (or copy out) a dropped entry's value. The
  /// walk starts after an empty slot, so every kept key's home lies between that slot and its
  /// own, and taking it out and probing again from its home places it there or earlier. Arena
  /// bytes of dropped long keys are not reclaimed; out-of-slot values are compacted.
  template <class Keep>
  void retain_if(Keep&& keep) {
    const std::size_t count = slots_.size();
    std::size_t start = 0;
    while (slots_[start].meta != 0) ++start;  // at most 3/4 full: one is empty
    std::vector<V> kept_values;
    if constexpr (!slot_value_v<V>) kept_values.reserve(values_.size());
    for (std::size_t n = 1; n < count; ++n) {
      Slot& from = slots_[(start + n) & mask_];
      if (from.meta == 0) continue;
      Slot slot = from;  // an inline key's bytes are in the slot: read them from this copy
      from = Slot{};
      const std::string_view key = key_of(slot);
      const std::uint64_t hash = hash_of(slot);
      if (!keep(key, hash, std::as_const(value_of(slot)))) {
        --size_;
        key_bytes_ -= key.size();
        continue;
      }
      if constexpr (!slot_value_v<V>) {
        kept_values.push_back(std::move(values_[slot.value]));
        slot.value = kept_values.size() - 1;
      }
      std::size_t i = hash & mask_;
      while (slots_[i].meta != 0) i = (i + 1) & mask_;
      slots_[i] = slot;
    }
    if constexpr (!slot_value_v<V>) values_ = std::move(kept_values);
  }

  /// Hands the table's memory over as an array of Entry, one per key, made by make(key,
  /// value), in slot order, built in the slots' own memory: a fresh array costs page faults
  /// (on the VM this was built on, 0.5 s for 10 M 32-byte entries), these pages are mapped
  /// already. 24-byte slots are at most 3/4 full, so 32-byte entries fit. The key arena goes
  /// with the array (entries may point into it); the table is left empty.
  template <class Entry, class Make>
  EntryArray<Entry> into_entries(Make&& make) {
    static_assert(sizeof(Entry) * max_load_num <= sizeof(Slot) * max_load_den,
                  "into_entries: an entry must fit the slot space of a key at the maximum load");
    static_assert(sizeof(Entry) >= sizeof(Slot), "into_entries: built from the back, an entry must not reach earlier slots");
    static_assert(alignof(Entry) <= alignof(Slot), "into_entries: entries are placed at slot alignment");
    std::size_t count = 0;  // occupied slots to the front, in order
    for (std::size_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].meta != 0) slots_[count++] = slots_[i];
    // From the back: entry i covers slot i (read first) and later slots only, which are done.
    auto* const entries = reinterpret_cast<Entry*>(slots_.begin());
    for (std::size_t i = count; i-- > 0;) {
      const Slot slot = slots_[i];
      const Entry entry = make(key_of(slot), std::as_const(value_of(slot)));
      std::memcpy(static_cast<void*>(entries + i), &entry, sizeof entry);
    }
    struct Lent {
      HugeArray<Slot> slots;
      Arena arena;
      std::vector<V> values;
    };
    auto lent = std::make_shared<Lent>(Lent{std::move(slots_), std::move(arena_), std::move(values_)});
    const std::size_t capacity = lent->slots.size() * sizeof(Slot) / sizeof(Entry);
    clear();
    return EntryArray<Entry>(entries, count, capacity, std::move(lent));
  }

  void clear() {
    slots_ = HugeArray<Slot>(16);
    mask_ = 15;
    arena_ = Arena();
    values_.clear();
    values_.shrink_to_fit();
    size_ = 0;
    key_bytes_ = 0;
  }

 private:
  static constexpr unsigned payload_shift = 16;
  static constexpr std::uint64_t head_mask = 0xFFFF;
  static constexpr std::uint64_t payload_max = (std::uint64_t{1} << (64 - payload_shift)) - 1;
  static constexpr std::size_t long_key = 0xFF;  ///< size field of keys of 255 bytes or more
  static constexpr std::size_t max_load_num = 3, max_load_den = 4;

  /// The top 16 bits of a slot's word for a key: occupied bit, 7 bits of the hash that
  /// neither the slot index (low bits) nor the shuffle's owner (top bits) uses, and the size.
  MR_HOT_INLINE static std::uint64_t head_of(std::uint64_t hash, std::size_t size) noexcept {
    return 0x8000 | (((hash >> 32) & 0x7F) << 8) | (size < long_key ? size : long_key);
  }
  MR_HOT_INLINE static std::uint64_t payload(std::uint64_t meta) noexcept { return meta >> payload_shift; }
  MR_HOT_INLINE static std::size_t size_field(std::uint64_t meta) noexcept { return meta & 0xFF; }
  /// Where the bytes of a non-inline key start (after the 4-byte size of a long key).
  MR_HOT_INLINE const char* stored_key_data(std::uint64_t meta) const noexcept {
    return arena_.data() + payload(meta) + (size_field(meta) == long_key ? sizeof(std::uint32_t) : 0);
  }
  std::string_view key_of(const Slot& slot) const noexcept {
    const std::size_t size = size_field(slot.meta);
    // Little-endian: bytes 2..7 of meta, then rest, are an inline key's bytes in order.
    if (size <= inline_key_bytes) return {reinterpret_cast<const char*>(&slot.meta) + 2, size};
    if (size != long_key) return {arena_.data() + payload(slot.meta), size};
    std::uint32_t long_size;
    std::memcpy(&long_size, arena_.data() + payload(slot.meta), sizeof long_size);
    return {arena_.data() + payload(slot.meta) + sizeof long_size, long_size};
  }
  /// The hash of the key `slot` holds. An inline key's ShortKey is read back from the slot's
  /// two words (zero-padded as stored), with no byte loads and no branch on its size: growth
  /// and the owner split re-hash every key, and hash_bytes from the bytes cost 10 % of a 10 M-key
  /// run there (`perf`: grow + its hash_bytes calls).
  MR_HOT_INLINE std::uint64_t hash_of(const Slot& slot) const noexcept {
    const std::size_t size = size_field(slot.meta);
    if (size <= inline_key_bytes) [[likely]]
      return hash_short({(slot.meta >> payload_shift) | (slot.rest << (64 - payload_shift)), slot.rest >> payload_shift},
                        size);
    return hash_bytes(key_of(slot));
  }
  MR_HOT_INLINE const V& value_of(const Slot& slot) const noexcept {
    if constexpr (slot_value_v<V>) return slot.value;
    else return values_[slot.value];
  }
  MR_HOT_INLINE V& value_of(Slot& slot) noexcept {
    if constexpr (slot_value_v<V>) return slot.value;
    else return values_[slot.value];
  }

  template <class Value>
  MR_HOT_INLINE void add_long(std::string_view key, std::uint64_t hash, Value&& value) {
    add_where(key, hash, std::forward<Value>(value), [&](const Slot& slot) __attribute__((always_inline)) {
      return bytes_equal(stored_key_data(slot.meta), key.data(), key.size());
    });
  }

  /// Linear probing from the key's home slot; `same_key(slot)` compares the key of a slot
  /// whose tag and size match.
  template <class Value, class SameKey>
  MR_HOT_INLINE void add_where(std::string_view key, std::uint64_t hash, Value&& value, SameKey&& same_key) {
    const std::uint64_t head = head_of(hash, key.size());
    for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.meta == 0) {
        insert_in_arena(slot, key, head, std::forward<Value>(value));
        return;
      }
      if ((slot.meta & head_mask) == head && same_key(slot)) {
        V& current = value_of(slot);
        current = reduce_(std::as_const(current), std::as_const(value));
        return;
      }
    }
  }

  /// Stores a key longer than a slot holds in the arena and fills `slot` with it.
  template <class Value>
  void insert_in_arena(Slot& slot, std::string_view key, std::uint64_t head, Value&& value) {
    if (key.size() >= UINT32_MAX) throw std::length_error("key longer than 4 GiB");
    const bool is_long = key.size() >= long_key;
    const std::size_t at = arena_.append(key.size() + (is_long ? sizeof(std::uint32_t) : 0), 1);
    if (at > payload_max) throw std::length_error("key arena over 256 TiB");
    char* out = arena_.data() + at;
    if (is_long) {
      const auto long_size = static_cast<std::uint32_t>(key.size());
      std::memcpy(out, &long_size, sizeof long_size);
      out += sizeof long_size;
    }
    std::memcpy(out, key.data(), key.size());
    fill_slot(slot, SlotWords{head | (at << payload_shift), 0}, key.size(), std::forward<Value>(value));
  }

  /// Fills an empty slot with its two key words and the value (then grows when too full). Out
  /// of line: the lookup loops stay small, and a new key is the rare case.
  template <class Value>
  [[gnu::noinline]] void fill_slot(Slot& slot, SlotWords key, std::size_t key_size, Value&& value) {
    if constexpr (slot_value_v<V>) {
      slot.value = static_cast<V>(std::forward<Value>(value));
    } else {
      slot.value = values_.size();
      values_.emplace_back(std::forward<Value>(value));
    }
    slot.meta = key.meta;
    slot.rest = key.rest;
    key_bytes_ += key_size;
    if (++size_ * max_load_den > slots_.size() * max_load_num) grow();
  }

  /// Doubles the slots in place (the new half arrives as zero pages, nothing is copied to a
  /// second array) and re-hashes every key: inline ones from the slot itself, others from the
  /// arena, prefetched a few slots ahead. The walk starts after an empty slot and takes each
  /// key out and probes for it again from its home in the doubled table, so a probe only
  /// passes slots already walked (or the upper half, which holds only re-placed keys); a
  /// probe that would wrap past the last slot into slots not yet walked is put off until
  /// after the walk, when every slot holds its final key.
  void grow() {
    const std::size_t old_count = slots_.size();
    const std::size_t old_mask = old_count - 1;
    slots_.grow(old_count * 2);
    mask_ = slots_.size() - 1;
    std::size_t start = 0;
    while (slots_[start].meta != 0) ++start;  // at most 3/4 full: one is empty
    std::vector<Slot> wrapped;
    constexpr std::size_t ahead = 8;
    for (std::size_t n = 1; n < old_count; ++n) {
      if (n + ahead < old_count) {
        const std::uint64_t next = slots_[(start + n + ahead) & old_mask].meta;
        if (next != 0 && size_field(next) > inline_key_bytes) __builtin_prefetch(arena_.data() + payload(next));
      }
      Slot& from = slots_[(start + n) & old_mask];
      if (from.meta == 0) continue;
      const Slot slot = from;
      from = Slot{};
      std::size_t i = hash_of(slot) & mask_;
      bool placed = true;
      while (slots_[i].meta != 0) {
        if (i == mask_) {
          placed = false;
          break;
        }
        ++i;
      }
      if (placed) slots_[i] = slot;
      else wrapped.push_back(slot);
    }
    for (const Slot& slot : wrapped) {
      std::size_t i = hash_of(slot) & mask_;
      while (slots_[i].meta != 0) i = (i + 1) & mask_;
      slots_[i] = slot;
    }
  }

  HugeArray<Slot> slots_;
  Arena arena_;
  std::vector<V> values_;  ///< values that do not fit a slot (empty when slot_value_v<V>)
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  std::size_t key_bytes_ = 0;  ///< sum of the sizes of the keys held
  [[no_unique_address]] Reduce reduce_;
};

/// Adds keys to a table a batch at a time, so that cache misses on rare keys overlap instead
/// of stalling one after another. add() hashes a key that fits a slot at once (its words,
/// hash and slot words go into the batch, and its slot is prefetched); every `batch` keys,
/// run() looks them up in a tight loop, by which time their slots have arrived. Keys that do
/// not fit a slot, copies and keys near the end of the readable bytes are only recorded by
/// add() and hashed by run(), which then also prefetches the arena bytes of those over 14
/// bytes whose slot holds a candidate. (Hashing in add() spares the batch a store and a
/// reload of every key: callgrind counts 142 instructions a token from the tokenizer to the
/// table when add() only recorded keys, 164 with the batch before that, 201 with the 16-deep
/// per-key ring that was first.) Keys passed to add() must stay valid until flush();
/// add_copy() copies them (for keys in a scratch buffer). Keys that start at least 16 bytes
/// before `readable_end` are loaded as words without a byte loop.
template <class Table>
class PrefetchingAdder {
 public:
  static constexpr unsigned batch = 32;

  explicit PrefetchingAdder(Table& table, const char* readable_end = nullptr)
      : table_(table), readable_end_(readable_end) {}
  PrefetchingAdder(const PrefetchingAdder&) = delete;
  PrefetchingAdder& operator=(const PrefetchingAdder&) = delete;
  ~PrefetchingAdder() = default;  // call flush() first: it may throw

  using Value = typename Table::value_type;

  template <class V>
  MR_HOT_INLINE void add(std::string_view key, V&& value) {
    const unsigned i = count_;
    const std::size_t size = key.size();
    values_[i] = std::forward<V>(value);
    // Both tests at once (`&`, not `&&`): a branch on each was mispredicted for a share of
    // the tokens, this one is nearly always taken.
    if ((size <= Table::inline_key_bytes) &
        (reinterpret_cast<std::uintptr_t>(key.data()) + 16 <= reinterpret_cast<std::uintptr_t>(readable_end_))) [[likely]] {
      const ShortKey words = short_key_overread(key.data(), size);
      const std::uint64_t hash = hash_short(words, size);
      hashes_[i] = hash;
      slot_words_[i] = Table::inline_key(hash, size, words);
      table_.prefetch(hash);
    } else {
      keys_[i] = key;
      recorded_ |= std::uint64_t{1} << i;
    }
    if (++count_ == batch) [[unlikely]] run();
  }
  template <class V>
  MR_HOT_INLINE void add_copy(std::string_view key, V&& value) {
    std::string& copy = copies_[count_];
    copy.assign(key);
    keys_[count_] = copy;
    recorded_ |= std::uint64_t{1} << count_;
    values_[count_] = std::forward<V>(value);
    if (++count_ == batch) [[unlikely]] run();
  }
  /// Keys that start at least 16 bytes before `end` are loaded as words (no byte loop).
  void set_readable_end(const char* end) noexcept { readable_end_ = end; }
  void flush() { run(); }

 private:
  static_assert(batch <= 64, "recorded_ has a bit per pending key");

  /// The batch so far: the recorded keys' hashes and prefetches, arena prefetches, lookups.
  [[gnu::noinline]] void run() {
    const unsigned n = count_;
    const std::uint64_t recorded = recorded_;
    count_ = 0;  // first: an add that throws (a sum's overflow) leaves an empty batch
    recorded_ = 0;
    std::uint64_t beyond_slot = 0;  // keys that do not fit a slot: looked up by their bytes
    for (std::uint64_t left = recorded; left != 0; left &= left - 1) {
      const unsigned i = static_cast<unsigned>(__builtin_ctzll(left));
      const std::string_view key = keys_[i];
      std::uint64_t hash;
      if (key.size() <= Table::inline_key_bytes) {
        const ShortKey words = short_key(key.data(), key.size());
        hash = hash_short(words, key.size());
        slot_words_[i] = Table::inline_key(hash, key.size(), words);
      } else {
        hash = hash_bytes(key.data(), key.size());
        beyond_slot |= std::uint64_t{1} << i;
      }
      hashes_[i] = hash;
      table_.prefetch(hash);
    }
    for (std::uint64_t left = beyond_slot; left != 0; left &= left - 1) {
      const unsigned i = static_cast<unsigned>(__builtin_ctzll(left));
      table_.prefetch_key(hashes_[i], keys_[i].size());
    }
    if (beyond_slot == 0) [[likely]] {
      for (unsigned i = 0; i < n; ++i) table_.add_inline(hashes_[i], slot_words_[i], std::move(values_[i]));
      return;
    }
    for (unsigned i = 0; i < n; ++i) {
      if (((beyond_slot >> i) & 1) == 0) table_.add_inline(hashes_[i], slot_words_[i], std::move(values_[i]));
      else table_.add(keys_[i], hashes_[i], std::move(values_[i]));
    }
  }
  Table& table_;
  const char* readable_end_;
  unsigned count_ = 0;
  std::uint64_t recorded_ = 0;  ///< bit i: key i is in keys_ only, not yet hashed
  // The batch, written by add() and read by run(). Not initialised: each element is written
  // before it is read (zeroing them cost two stores a key).
  std::uint64_t hashes_[batch];
  typename Table::SlotWords slot_words_[batch];
  Value values_[batch];
  std::string_view keys_[batch];  ///< recorded keys only
  std::string copies_[batch];     ///< keys that do not outlive the call (short ones: no allocation)
};

/// The table every built-in job uses: word or n-gram -> summed count.
using CountTable = FlatTable<std::int64_t, SumReduce>;

}  // namespace mr::detail
