#pragma once
/// \file pool_launch.hpp
/// mr::PoolLaunch: where a process pool's workers come from.

namespace mr {

/// Where the workers of a ProcessPool / ProcessPoolExecutor come from (PoolOptions::launch;
/// for programs that do not set it, the environment variable MR_POOL_LAUNCH=spawn|world|automatic).
enum class PoolLaunch {
  /// New processes started with MPI_Comm_spawn (the default).
  spawn,
  /// Ranks 1..N-1 of the running job (mpirun -np N, srun -n N), for systems that cannot
  /// spawn. Rank 0 runs the program; the other ranks serve tasks inside mr::Runtime (given
  /// MR_POOL_LAUNCH=world or mr::Runtime(argc, argv, PoolLaunch::world)) and exit when rank 0's
  /// Runtime ends. One world-mode pool at a time: a second waits (up to its start timeout)
  /// for the first to finish. Python: `python -m mpi4py.futures prog.py`.
  world,
  /// world when the job has more than one rank, spawn otherwise.
  automatic,
};

}  // namespace mr
