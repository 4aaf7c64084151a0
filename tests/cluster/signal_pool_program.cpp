// A pool program for the signal test: two workers busy with long tasks; prints "ready"
// once they run, then waits. SIGINT/SIGTERM must end it and its workers, leaving nothing.
#include <unistd.h>

#include <cstdio>

#include "mr/mr.hpp"

int nap(int seconds) {
  ::sleep(static_cast<unsigned>(seconds));
  return seconds;
}
MR_TASK(nap);

int main(int argc, char** argv) {
  mr::Runtime runtime(argc, argv);
  mr::ProcessPool pool(2);
  auto first = pool.apply_async(nap, 120);
  auto second = pool.apply_async(nap, 120);
  std::printf("ready\n");
  std::fflush(stdout);
  return first.get() + second.get() == 240 ? 0 : 1;
}
