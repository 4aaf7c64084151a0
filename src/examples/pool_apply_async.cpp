// Pool.apply_async + get: start several calls at once, collect the results later.
#include <cstdio>
#include <vector>

#include "mr/mr.hpp"

long count(long n) {
  long i = 0;
  while (i < n) i = i + 1;
  return i;
}
MR_TASK(count);

int main(int argc, char** argv) {
  mr::Runtime runtime(argc, argv);
  mr::ProcessPool pool;
  std::vector<mr::AsyncResult<long>> results;
  for (long n : {50'000'000L, 100'000'000L, 150'000'000L, 200'000'000L}) results.push_back(pool.apply_async(count, n));
  long total = 0;
  for (auto& result : results) total += result.get();
  const std::vector<long> small = pool.map(count, std::vector<long>{1, 3, 5, 22}, /*chunksize=*/1);
  std::printf("apply_async: total %ld; map: %ld %ld %ld %ld\n", total, small[0], small[1], small[2], small[3]);
  return total == 500'000'000L ? 0 : 1;
}
