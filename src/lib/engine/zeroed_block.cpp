// The growable zeroed memory of the flat tables (hash_table.hpp): slots and key arena.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE  // mremap
#endif
#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <new>

#include "mr/detail/hash_table.hpp"

namespace mr::detail {

namespace {

constexpr std::size_t huge_page = std::size_t{2} << 20;
constexpr std::size_t first_capacity = std::size_t{64} << 10;  // small tables stay small

void* map_anonymous(std::size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return p;
}

/// A fresh mapping of `bytes` (a multiple of huge_page) that starts on a huge-page boundary:
/// one huge page more is mapped and the unaligned ends are returned.
char* map_aligned(std::size_t bytes) {
  char* const p = static_cast<char*>(map_anonymous(bytes + huge_page));
  char* const aligned = reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(p) + huge_page - 1) & ~(huge_page - 1));
  if (aligned != p) ::munmap(p, static_cast<std::size_t>(aligned - p));
  if (const std::size_t tail = static_cast<std::size_t>(p + bytes + huge_page - (aligned + bytes)); tail != 0)
    ::munmap(aligned + bytes, tail);
  return aligned;
}

}  // namespace

GrowableBlock grow_block(GrowableBlock block, std::size_t bytes) {
  std::size_t capacity = block.capacity ? block.capacity * 2 : first_capacity;
  while (capacity < bytes) capacity *= 2;
  void* p = MAP_FAILED;
  if (capacity < huge_page) {
    p = block.data ? ::mremap(block.data, block.capacity, capacity, MREMAP_MAYMOVE) : map_anonymous(capacity);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return {p, capacity};
  }
  // Large blocks are read at random (slots, and keys whose tag matched): huge pages keep those
  // reads from missing the TLB, and need the block on a 2 MiB boundary, also after it grows.
  // An aligned block extends where it is when it can, else its pages move (page-table
  // entries, no copy) to an aligned range; the new bytes are fresh zero pages either way. A
  // block crossing to this size is copied instead (less than 2 MiB): moved, its 4 KiB pages
  // stayed 4 KiB pages, and so did the rest of the first 2 MiB (a sixth of the prose word
  // count's 12 MiB of slots; `bench_table stages` 4 % slower a token with them).
  const bool crossing = block.data && block.capacity < huge_page;  // else it is aligned already
  if (block.data && !crossing) p = ::mremap(block.data, block.capacity, capacity, 0);
  if (p == MAP_FAILED) {
    char* const target = map_aligned(capacity);
    ::madvise(target, capacity, MADV_HUGEPAGE);  // before the copy's first touch
    if (!block.data) {
      p = target;
    } else if (crossing) {
      std::memcpy(target, block.data, block.capacity);
      ::munmap(block.data, block.capacity);
      p = target;
    } else {
      p = ::mremap(block.data, block.capacity, capacity, MREMAP_MAYMOVE | MREMAP_FIXED, target);
      if (p == MAP_FAILED) {
        ::munmap(target, capacity);
        throw std::bad_alloc();
      }
    }
  }
  ::madvise(p, capacity, MADV_HUGEPAGE);
  return {p, capacity};
}

void prefault(void* data, std::size_t bytes) noexcept {
#ifndef MADV_POPULATE_WRITE
  constexpr int MADV_POPULATE_WRITE = 23;  // Linux 5.14; older kernels reject it (EINVAL): no harm
#endif
  constexpr std::uintptr_t page = 4096;
  const auto begin = (reinterpret_cast<std::uintptr_t>(data) + page - 1) & ~(page - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) & ~(page - 1);
  // The whole 2 MiB ranges inside on transparent huge pages first. These buffers are what MPI
  // moves between ranks, and the kernel's copy from one process to another (CMA) paid for
  // every 4 KiB page it had not touched before: 10 MB each way between two ranks took 33 ms the
  // first time and 4-7 ms the second on the VM of 2026-12-07, and 1.6 ms on huge pages.
  const auto huge_begin = (begin + huge_page - 1) & ~(huge_page - 1);
  const auto huge_end = end & ~(huge_page - 1);
  if (huge_end > huge_begin) ::madvise(reinterpret_cast<void*>(huge_begin), huge_end - huge_begin, MADV_HUGEPAGE);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
}

void release_block(const GrowableBlock& block) noexcept {
  if (block.data) ::munmap(block.data, block.capacity);
}

}  // namespace mr::detail
