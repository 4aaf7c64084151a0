#pragma once
/// \file hash_table.hpp
/// The combiner: an open-addressing flat hash table from byte-string keys to 64-bit
/// values. Keys live in one arena (copied once, when a key is first seen), every slot
/// keeps its full hash so probing compares 8 bytes before touching a key, and growth
/// rehashes without recomputing hashes.

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mr::detail {

/// A fast 64-bit hash of a byte string: 8 bytes per step, no reads past the end.
inline std::uint64_t hash_bytes(const char* data, std::size_t size) noexcept {
  constexpr std::uint64_t k1 = 0x9E3779B97F4A7C15ull, k2 = 0xBF58476D1CE4E5B9ull,
                          k3 = 0x94D049BB133111EBull;
  auto load64 = [](const char* p) { std::uint64_t v; std::memcpy(&v, p, 8); return v; };
  auto load32 = [](const char* p) { std::uint32_t v; std::memcpy(&v, p, 4); return std::uint64_t{v}; };
  std::uint64_t h = k1 ^ (static_cast<std::uint64_t>(size) * k2);
  std::size_t n = size;
  while (n > 8) {
    h = (h ^ load64(data)) * k2;
    h ^= h >> 31;
    data += 8;
    n -= 8;
  }
  std::uint64_t tail;
  if (n >= 4) {
    tail = load32(data) | (load32(data + n - 4) << 32);
  } else if (n > 0) {
    tail = (std::uint64_t{static_cast<unsigned char>(data[0])} << 16) |
           (std::uint64_t{static_cast<unsigned char>(data[n >> 1])} << 8) |
           std::uint64_t{static_cast<unsigned char>(data[n - 1])};
  } else {
    tail = 0;
  }
  h = (h ^ tail) * k3;
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

/// Zero-initialised storage for hash slots. Large arrays are mapped with transparent huge
/// pages: lookups are random accesses, and with 4 KiB pages nearly every one misses the TLB.
template <class T>
class HugeArray {
 public:
  HugeArray() = default;
  explicit HugeArray(std::size_t count) : count_(count) {
    bytes_ = count * sizeof(T);
    if (bytes_ >= huge_page) {
      mapped_ = bytes_ + huge_page;
      void* p = ::mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
      base_ = p;
      auto aligned = (reinterpret_cast<std::uintptr_t>(p) + huge_page - 1) & ~(huge_page - 1);
      data_ = reinterpret_cast<T*>(aligned);
      ::madvise(data_, bytes_, MADV_HUGEPAGE);
    } else {
      data_ = static_cast<T*>(std::calloc(count ? count : 1, sizeof(T)));
      if (!data_) throw std::bad_alloc();
    }
  }
  HugeArray(HugeArray&& other) noexcept { swap(other); }
  HugeArray& operator=(HugeArray&& other) noexcept {
    HugeArray(std::move(other)).swap(*this);
    return *this;
  }
  ~HugeArray() {
    if (mapped_) ::munmap(base_, mapped_);
    else std::free(data_);
  }
  void swap(HugeArray& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(count_, other.count_);
    std::swap(bytes_, other.bytes_);
    std::swap(base_, other.base_);
    std::swap(mapped_, other.mapped_);
  }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T* begin() noexcept { return data_; }
  T* end() noexcept { return data_ + count_; }
  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + count_; }
  std::size_t size() const noexcept { return count_; }

 private:
  static constexpr std::size_t huge_page = std::size_t{2} << 20;
  T* data_ = nullptr;
  std::size_t count_ = 0;
  std::size_t bytes_ = 0;
  void* base_ = nullptr;
  std::size_t mapped_ = 0;
};

/// Default reduction of the table: addition.
struct SumReduce {
  std::int64_t operator()(std::int64_t a, std::int64_t b) const noexcept {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
  }
};

/// Open-addressing (linear probing) table: byte-string key -> int64, combining values of
/// equal keys with Reduce. A slot is 32 bytes: the full hash, the value, and the key itself
/// when it is at most 12 bytes (most words), else the key's offset in the arena. So a
/// lookup of a short key touches one cache line, which prefetch() can fetch ahead.
template <class Reduce = SumReduce>
class BasicStringTable {
 public:
  static constexpr std::size_t inline_key_bytes = 12;

  struct Slot {
    std::uint64_t hash;
    std::int64_t value;
    std::uint32_t size_plus_one;  ///< 0: empty slot
    char key[inline_key_bytes];   ///< the key, or its arena offset (8 bytes) when longer
  };
  static_assert(sizeof(Slot) == 32);

  explicit BasicStringTable(std::size_t initial_capacity = 1024, Reduce reduce = {})
      : reduce_(std::move(reduce)) {
    std::size_t capacity = 16;
    while (capacity < initial_capacity) capacity <<= 1;
    slots_ = HugeArray<Slot>(capacity);
    mask_ = capacity - 1;
  }

  /// Starts loading the slot where a key with this hash lives (a hint; no effect on results).
  void prefetch(std::uint64_t hash) const noexcept { __builtin_prefetch(&slots_[hash & mask_], 1); }

  /// Combines `value` into `key`'s entry (inserting it if new); `hash` must be hash_bytes(key).
  void add(std::string_view key, std::uint64_t hash, std::int64_t value) {
    const auto size_plus_one = static_cast<std::uint32_t>(key.size() + 1);
    for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.size_plus_one == 0) {
        insert_at(slot, key, hash, value);
        return;
      }
      if (slot.hash == hash && slot.size_plus_one == size_plus_one &&
          bytes_equal(key_data(slot), key.data(), key.size())) {
        slot.value = reduce_(slot.value, value);
        return;
      }
    }
  }
  void add(std::string_view key, std::int64_t value) { add(key, hash_bytes(key), value); }

  /// The value of `key`, or nullptr when absent.
  const std::int64_t* find(std::string_view key) const {
    const std::uint64_t hash = hash_bytes(key);
    const auto size_plus_one = static_cast<std::uint32_t>(key.size() + 1);
    for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.size_plus_one == 0) return nullptr;
      if (slot.hash == hash && slot.size_plus_one == size_plus_one &&
          bytes_equal(key_data(slot), key.data(), key.size()))
        return &slot.value;
    }
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const Reduce& reducer() const noexcept { return reduce_; }
  /// Bytes held by slots and key arena (what the memory target is measured against).
  std::size_t memory_bytes() const noexcept { return slots_.size() * sizeof(Slot) + arena_.capacity(); }

  /// Calls f(key, hash, value) for every entry, in slot order.
  template <class F>
  void for_each(F&& f) const {
    for (const Slot& slot : slots_)
      if (slot.size_plus_one != 0) f(std::string_view(key_data(slot), slot.size_plus_one - 1), slot.hash, slot.value);
  }

  void clear() {
    slots_ = HugeArray<Slot>(16);
    mask_ = 15;
    arena_.clear();
    arena_.shrink_to_fit();
    size_ = 0;
  }

 private:
  const char* key_data(const Slot& slot) const noexcept {
    if (slot.size_plus_one - 1 <= inline_key_bytes) return slot.key;
    std::uint64_t offset;
    std::memcpy(&offset, slot.key, sizeof offset);
    return arena_.data() + offset;
  }

  void insert_at(Slot& slot, std::string_view key, std::uint64_t hash, std::int64_t value) {
    if (key.size() >= UINT32_MAX) throw std::length_error("key longer than 4 GiB");
    slot.hash = hash;
    slot.value = value;
    slot.size_plus_one = static_cast<std::uint32_t>(key.size() + 1);
    if (key.size() <= inline_key_bytes) {
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
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  [[no_unique_address]] Reduce reduce_;
};

/// Adds keys to a table a few keys behind: each key's slot is prefetched when the key
/// arrives and looked up `depth` keys later, so cache misses on rare keys overlap instead
/// of stalling one after another. Keys passed to add() must stay valid until flush();
/// add_copy() copies them (for keys in a scratch buffer).
template <class Table>
class PrefetchingAdder {
 public:
  static constexpr unsigned depth = 16;

  explicit PrefetchingAdder(Table& table) : table_(table) {}
  PrefetchingAdder(const PrefetchingAdder&) = delete;
  PrefetchingAdder& operator=(const PrefetchingAdder&) = delete;
  ~PrefetchingAdder() = default;  // call flush() first: it may throw

  void add(std::string_view key, std::int64_t value) { push(key, value); }
  void add_copy(std::string_view key, std::int64_t value) {
    Item& item = ring_[head_];
    if (count_ == depth) table_.add(item.key, item.hash, item.value);
    item.copy.assign(key);
    store(item, item.copy, value);
  }
  void flush() {
    for (unsigned n = count_, i = (head_ + depth - count_) % depth; n > 0; --n, i = (i + 1) % depth)
      table_.add(ring_[i].key, ring_[i].hash, ring_[i].value);
    count_ = 0;
    head_ = 0;
  }

 private:
  struct Item {
    std::string_view key;
    std::uint64_t hash = 0;
    std::int64_t value = 0;
    std::string copy;
  };

  void push(std::string_view key, std::int64_t value) {
    Item& item = ring_[head_];
    if (count_ == depth) table_.add(item.key, item.hash, item.value);
    store(item, key, value);
  }
  void store(Item& item, std::string_view key, std::int64_t value) {
    item.key = key;
    item.hash = hash_bytes(key);
    item.value = value;
    table_.prefetch(item.hash);
    head_ = (head_ + 1) % depth;
    if (count_ < depth) ++count_;
  }

  Table& table_;
  Item ring_[depth];
  unsigned head_ = 0;
  unsigned count_ = 0;
};

/// The table every built-in job uses: word or n-gram -> summed count.
using CountTable = BasicStringTable<SumReduce>;

}  // namespace mr::detail
