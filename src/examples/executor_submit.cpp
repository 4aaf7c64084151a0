// concurrent.futures in C++: submit, as_completed, wait and map on an executor. Switching
// between processes and threads is the one line marked below.
//
//   mr_example_executor_submit
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
  mr::ProcessPoolExecutor executor(2);  // or: mr::ThreadPoolExecutor executor(2);

  std::vector<mr::Future<long>> futures;
  for (long n : {30'000'000L, 1'000L, 5'000'000L}) futures.push_back(executor.submit(count, n));
  for (const auto& future : mr::as_completed(futures)) std::printf("finished: %ld\n", future.result());

  auto [done, not_done] = mr::wait(futures, mr::ReturnWhen::all_completed);
  std::printf("%zu done, %zu not done\n", done.size(), not_done.size());

  for (long result : executor.map(count, std::vector<long>{1, 3, 5, 22}, {.chunksize = 2}))
    std::printf("map: %ld\n", result);
  return 0;
}
