// Two processes counting, started and joined (Python: multiprocessing.Process start/join).
//   ./mr_example_process_count            (no mpirun needed)
#include <cstdio>

#include "mr/mr.hpp"
#include "mr/process.hpp"

long count(long n) {
  long i = 0;
  while (i < n) i = i + 1;
  return i;
}
MR_TASK(count);

int main(int argc, char** argv) {
  mr::Runtime runtime(argc, argv);  // a spawned copy of this program serves tasks here and exits
  mr::Process first(count, 100'000'000L);
  mr::Process second(count, 100'000'000L);
  first.start();
  second.start();
  first.join();
  second.join();
  std::printf("counted to %ld and %ld in two processes (exit codes %d, %d)\n", first.result(), second.result(),
              first.exitcode().value_or(-1), second.exitcode().value_or(-1));
  return first.exitcode() == 0 && second.exitcode() == 0 ? 0 : 1;
}
