// Zeroed slot memory and the growable key arena of the flat tables (hash_table.hpp).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE  // mremap
#endif
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <new>

#include "mr/detail/hash_table.hpp"

namespace mr::detail {

namespace {
constexpr std::size_t huge_page = std::size_t{2} << 20;
}

ZeroedBlock allocate_zeroed(std::size_t bytes) {
  ZeroedBlock block;
  if (bytes >= huge_page) {
    // Over-map by one huge page so the array can start on a huge-page boundary.
    block.mapped = bytes + huge_page;
    void* p = ::mmap(nullptr, block.mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    block.base = p;
    const auto aligned = (reinterpret_cast<std::uintptr_t>(p) + huge_page - 1) & ~(huge_page - 1);
    block.data = reinterpret_cast<void*>(aligned);
    ::madvise(block.data, bytes, MADV_HUGEPAGE);
  } else {
    block.data = std::calloc(bytes ? bytes : 1, 1);
    if (!block.data) throw std::bad_alloc();
  }
  return block;
}

void release_zeroed(const ZeroedBlock& block) noexcept {
  if (block.mapped) ::munmap(block.base, block.mapped);
  else std::free(block.data);
}

GrowableBlock grow_block(GrowableBlock block, std::size_t bytes) {
  constexpr std::size_t first = std::size_t{64} << 10;  // small tables stay small
  std::size_t capacity = block.capacity ? block.capacity * 2 : first;
  while (capacity < bytes) capacity *= 2;
  void* p = block.data ? ::mremap(block.data, block.capacity, capacity, MREMAP_MAYMOVE)
                       : ::mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  // The arena is read at random (a key is compared where its tag matches): huge pages keep
  // those reads from missing the TLB.
  if (capacity >= huge_page) ::madvise(p, capacity, MADV_HUGEPAGE);
  return {p, capacity};
}

void release_block(const GrowableBlock& block) noexcept {
  if (block.data) ::munmap(block.data, block.capacity);
}

}  // namespace mr::detail
