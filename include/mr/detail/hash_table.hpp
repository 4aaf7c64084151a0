#pragma once
/// \file hash_table.hpp
/// The combiner: an open-addressing flat hash table from byte-string keys to 64-bit
/// values. Keys live in one arena (copied once, when a key is first seen), every slot
/// keeps its full hash so probing compares 8 bytes before touching a key, and growth
/// rehashes without recomputing hashes.

#include <cstdint>
#include <cstring>
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

inline std::uint64_t hash_bytes(std::string_view key) noexcept {
  return hash_bytes(key.data(), key.size());
}

/// Default reduction of the table: addition.
struct SumReduce {
  std::int64_t operator()(std::int64_t a, std::int64_t b) const noexcept {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
  }
};

/// Open-addressing (linear probing) table: byte-string key -> int64, combining values of
/// equal keys with Reduce.
template <class Reduce = SumReduce>
class BasicStringTable {
 public:
  struct Slot {
    std::uint64_t hash;
    std::int64_t value;
    std::uint64_t key_offset;
    std::uint32_t key_size;
    std::uint32_t used;
  };

  explicit BasicStringTable(std::size_t initial_capacity = 1024, Reduce reduce = {})
      : reduce_(std::move(reduce)) {
    std::size_t capacity = 16;
    while (capacity < initial_capacity) capacity <<= 1;
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
  }

  /// Combines `value` into `key`'s entry (inserting it if new); `hash` must be hash_bytes(key).
  void add(std::string_view key, std::uint64_t hash, std::int64_t value) {
    std::size_t i = hash & mask_;
    for (;;) {
      Slot& slot = slots_[i];
      if (!slot.used) {
        insert_at(slot, key, hash, value);
        return;
      }
      if (slot.hash == hash && slot.key_size == key.size() &&
          std::memcmp(arena_.data() + slot.key_offset, key.data(), key.size()) == 0) {
        slot.value = reduce_(slot.value, value);
        return;
      }
      i = (i + 1) & mask_;
    }
  }
  void add(std::string_view key, std::int64_t value) { add(key, hash_bytes(key), value); }

  /// The value of `key`, or nullptr when absent.
  const std::int64_t* find(std::string_view key) const {
    const std::uint64_t hash = hash_bytes(key);
    for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (!slot.used) return nullptr;
      if (slot.hash == hash && slot.key_size == key.size() &&
          std::memcmp(arena_.data() + slot.key_offset, key.data(), key.size()) == 0)
        return &slot.value;
    }
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  /// Bytes held by slots and key arena (what the memory target is measured against).
  std::size_t memory_bytes() const noexcept {
    return slots_.capacity() * sizeof(Slot) + arena_.capacity();
  }
  std::string_view key_of(const Slot& slot) const noexcept {
    return {arena_.data() + slot.key_offset, slot.key_size};
  }

  /// Calls f(key, hash, value) for every entry, in slot order.
  template <class F>
  void for_each(F&& f) const {
    for (const Slot& slot : slots_)
      if (slot.used) f(key_of(slot), slot.hash, slot.value);
  }

  void clear() {
    slots_.assign(16, Slot{});
    mask_ = 15;
    arena_.clear();
    arena_.shrink_to_fit();
    size_ = 0;
  }

 private:
  void insert_at(Slot& slot, std::string_view key, std::uint64_t hash, std::int64_t value) {
    const std::size_t offset = arena_.size();
    arena_.insert(arena_.end(), key.begin(), key.end());
    slot = Slot{hash, value, offset, static_cast<std::uint32_t>(key.size()), 1};
    if (++size_ * 2 > slots_.size()) grow();
  }

  void grow() {
    std::vector<Slot> old(slots_.size() * 2, Slot{});
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    for (const Slot& slot : old) {
      if (!slot.used) continue;
      std::size_t i = slot.hash & mask_;
      while (slots_[i].used) i = (i + 1) & mask_;
      slots_[i] = slot;
    }
  }

  std::vector<Slot> slots_;
  std::vector<char> arena_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  [[no_unique_address]] Reduce reduce_;
};

/// The table every built-in job uses: word or n-gram -> summed count.
using CountTable = BasicStringTable<SumReduce>;

}  // namespace mr::detail
