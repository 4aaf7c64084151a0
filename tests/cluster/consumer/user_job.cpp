// A user's own job against mr's public API: each rank counts the lines it owns, the
// totals meet on rank 0.
#include <mr/mr.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  mr::Runtime runtime(argc, argv);
  long mine = runtime.rank() + 1, total = 0;
  MPI_Reduce(&mine, &total, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
  if (runtime.rank() == 0) std::printf("ranks %d total %ld\n", runtime.size(), total);
}
