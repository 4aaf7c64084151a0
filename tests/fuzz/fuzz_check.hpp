#pragma once
// A failed property in a fuzz target: print it and abort, so libFuzzer saves the input.
#include <cstdio>
#include <cstdlib>

#define MR_FUZZ_CHECK(condition)                                                     \
  do {                                                                               \
    if (!(condition)) {                                                              \
      std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                  \
    }                                                                                \
  } while (false)
