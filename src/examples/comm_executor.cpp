// mr::CommExecutor: an executor over the ranks a job already has (no spawn). This is the
// issue's API sketch, verbatim. Python:
//     with MPICommExecutor(MPI.COMM_WORLD, root=0) as ex:
//         if ex is not None:
//             y = ex.submit(sq, 7).result()
//
//   mpirun -np 3 mr_example_comm_executor
#include "mr/mr.hpp"

int sq(int x) { return x * x; }
MR_TASK(sq);
int main(int argc, char** argv) {
  mr::Runtime runtime(argc, argv);
  mr::CommExecutor ex(MPI_COMM_WORLD);     // under mpirun -np 3: rank 0 gets an executor backed by ranks 1 and 2
  if (!ex.is_root()) return 0;             // ranks 1 and 2 return here once rank 0 has shut the executor down
  int y = ex.submit(sq, 7).result();
  for (int v : ex.map(sq, std::vector<int>{1, 2, 3})) { /* ... */ }
  // co_await mr::run_in_executor(ex, sq, 5); co_await mr::gather(std::move(awaitables));
  ex.shutdown();
}
// whole programs: mr::ProcessPool pool(mr::PoolOptions{.launch = mr::PoolLaunch::world});
