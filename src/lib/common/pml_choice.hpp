#pragma once
/// Which Open MPI PML (point-to-point messaging layer) a process asks for before MPI_Init.
///
/// Open MPI's default selection first probes the fabric MTLs (cm: psm, psm2, ofi; ucx),
/// which costs about 0.2 s at MPI_Init, 0.1 s at MPI_Finalize and 0.2 s at every spawn on a
/// machine without such a fabric, and then picks ob1 anyway (README, "Start-up"). When every
/// process of the job is on one node, ob1 over shared memory is what a fabric would be
/// bypassed for as well, so mr asks for it directly. Every rank of a job sees the same
/// launcher variables, so every rank reaches the same decision; a job that spans nodes
/// keeps the fabric's PML. The decision is a pure function of the environment so that it
/// can be tested with a faked one.

#include <cstdlib>
#include <string_view>

namespace mr::detail {

enum class PmlChoice {
  keep,  ///< leave Open MPI's own selection (or the user's OMPI_MCA_pml) alone
  ob1,   ///< set OMPI_MCA_pml=ob1 before MPI_Init
};

/// `env(name)` returns the variable's value or nullptr (std::getenv, or a fake in tests).
template <class Env>
PmlChoice choose_pml(Env&& env) {
  // The user's (or the site's) choice wins.
  if (env("OMPI_MCA_pml") != nullptr) return PmlChoice::keep;
  // A worker spawned by a ProcessPool must use its parent's PML: the parent passes its
  // OMPI_MCA_pml with the spawn (pool_spawn.cpp), and without one the default stands.
  if (env("OMPI_PARENT_PORT") != nullptr) return PmlChoice::keep;
  const char* world = env("OMPI_COMM_WORLD_SIZE");
  const char* local = env("OMPI_COMM_WORLD_LOCAL_SIZE");
  if (world == nullptr) {
    // Another launcher (srun with PMIx or PMI-2) whose layout mr does not read: keep.
    if (env("PMIX_RANK") != nullptr || env("PMI_RANK") != nullptr) return PmlChoice::keep;
    return PmlChoice::ob1;  // no launcher: a singleton, alone on its node
  }
  // mpirun: one node when every rank of the job is local to this one.
  if (local != nullptr && *world != '\0' && std::string_view(world) == std::string_view(local)) return PmlChoice::ob1;
  return PmlChoice::keep;
}

}  // namespace mr::detail
