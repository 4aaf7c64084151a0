#pragma once
/// \file finalize.hpp
/// MPI_Finalize for a job that may have lost a rank.
///
/// Under `mpirun --enable-recovery` a rank can die while the others go on (a pool on the
/// job's ranks turns that into mr::BrokenPool). Open MPI 4.1's MPI_Finalize starts with a
/// PMIx fence over the whole job, and its launcher does not always take the dead rank out of
/// a fence already under way: measured, 1 run in 12 of `test_pool_launch`'s dead-rank case
/// hung there for good. Once a rank is known dead, the live ones finalize without that
/// barrier (Open MPI's own async_mpi_finalize switch); a healthy job keeps it.

namespace mr::detail {

/// Records that a rank of this job died (a pool on the job's ranks saw it, or its root told
/// this rank to leave the broken pool). Thread-safe.
void note_dead_rank_in_job();

/// MPI_Finalize, without the closing barrier once note_dead_rank_in_job was called.
void finalize_mpi();

}  // namespace mr::detail
