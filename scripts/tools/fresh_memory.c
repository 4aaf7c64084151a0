/* How much the first write to fresh anonymous memory costs on this machine (README, "fresh
 * memory decides"): 320 MB mapped on a 2 MiB boundary, then written in full, in four ways:
 *   0: 4 KiB pages, a fault per page          1: transparent huge pages, a fault per 2 MiB
 *   2: 4 KiB pages mapped in at once first    3: huge pages mapped in at once first
 * (MADV_POPULATE_WRITE, Linux 5.14). Run each mode in a fresh process, a few seconds apart
 * (a VM may hand freed memory back to its host, which then backs it again on first use):
 *   cc -O2 -o fresh_memory scripts/tools/fresh_memory.c
 *   for mode in 0 1 2 3; do ./fresh_memory $mode; sleep 3; done */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
  const size_t bytes = (size_t)320 << 20, huge = (size_t)2 << 20;
  const int mode = argc > 1 ? atoi(argv[1]) : 0;
  const double start = now();
  char* raw = mmap(NULL, bytes + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return 1;
  char* p = (char*)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
  madvise(p, bytes, (mode & 1) ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  if (mode & 2) madvise(p, bytes, MADV_POPULATE_WRITE);
  const double mapped = now();
  for (size_t i = 0; i < bytes; i += 8) *(uint64_t*)(p + i) = i;
  const double written = now();
  for (size_t i = 0; i < bytes; i += 8) *(uint64_t*)(p + i) += 1;  /* the same pass, pages mapped */
  const double again = now();
  printf("mode %d (%s, %s): map %.3f s, first write %.3f s, total %.3f s; second write %.3f s\n", mode,
         (mode & 1) ? "huge pages" : "4 KiB pages", (mode & 2) ? "mapped in at once" : "a fault per page",
         mapped - start, written - mapped, written - start, again - written);
  return 0;
}
