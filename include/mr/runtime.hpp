#pragma once
/// \file runtime.hpp
/// mr::Runtime owns MPI for the life of the program. Construct it first in main():
///
///     int main(int argc, char** argv) {
///       mr::Runtime runtime(argc, argv);   // a spawned worker serves tasks here and exits
///       ...
///     }
///
/// In a process started by a ProcessPool (MPI_Comm_spawn runs the same executable), the
/// constructor never returns: it serves tasks until the pool shuts down and then exits the
/// process. This is the C++ form of Python's `if __name__ == "__main__":` guard. The same
/// holds for ranks 1..N-1 of a job in world mode (MR_POOL_LAUNCH=world, mr::PoolLaunch).

#include <mpi.h>

#include <optional>

#include "mr/pool_launch.hpp"

namespace mr {

class Runtime {
 public:
  /// Initialises MPI with MPI_THREAD_MULTIPLE (or adopts an MPI already initialised by
  /// the caller) and installs a terminate handler that aborts the whole MPI job on an
  /// uncaught exception, so other ranks never wait forever for a dead one. MPI errors on
  /// MPI_COMM_WORLD and MPI_COMM_SELF are returned rather than fatal (MPI_ERRORS_RETURN,
  /// unless the caller installed a handler of its own), so mr reports them as mr::MpiError.
  Runtime(int argc, char** argv) : Runtime(argc, argv, std::nullopt) {}
  /// As above, and sets where process pools take their workers when their PoolOptions do not
  /// say (otherwise MR_POOL_LAUNCH decides, else spawn). With PoolLaunch::world (or automatic
  /// in a job of several ranks), ranks 1..N-1 never return: they serve rank 0's pools here
  /// and exit once rank 0's Runtime is destroyed.
  Runtime(int argc, char** argv, std::optional<PoolLaunch> pool_launch);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  /// This process's rank in MPI_COMM_WORLD.
  int rank() const noexcept { return rank_; }
  /// Number of processes in MPI_COMM_WORLD.
  int size() const noexcept { return size_; }
  /// The thread level MPI granted.
  int thread_level() const noexcept { return thread_level_; }

 private:
  bool owns_mpi_ = false;
  int rank_ = 0;
  int size_ = 1;
  int thread_level_ = MPI_THREAD_SINGLE;
};

/// True in a process that a ProcessPool spawned (it has an MPI parent).
bool is_spawned_worker();

}  // namespace mr
