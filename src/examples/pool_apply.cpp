// Pool.apply: call a function in a worker process and wait for its result.
#include <cstdio>

#include "mr/mr.hpp"

long count(long n) {
  long i = 0;
  while (i < n) i = i + 1;
  return i;
}
MR_TASK(count);

int main(int argc, char** argv) {
  mr::Runtime runtime(argc, argv);
  mr::ProcessPool pool;  // one worker per core
  const long a = pool.apply(count, 100'000'000L);
  const long b = pool.apply(count, 200'000'000L);
  std::printf("apply: %ld and %ld with %d workers\n", a, b, pool.processes());
  return a == 100'000'000L && b == 200'000'000L ? 0 : 1;
}
