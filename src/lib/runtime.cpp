#include "mr/runtime.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <typeinfo>

#include "common/finalize.hpp"
#include "common/pml_choice.hpp"
#include "mr/detail/mpi_check.hpp"
#include "mr/detail/pool_core.hpp"
#include "pool/worker.hpp"

namespace mr {
namespace {

[[noreturn]] void abort_job_on_uncaught_exception() {
  // Print what we can, then take the whole job down: a rank that dies alone would leave
  // the others blocked in a collective forever.
  if (auto current = std::current_exception()) {
    try {
      std::rethrow_exception(current);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mr: uncaught exception: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "mr: uncaught exception of unknown type\n");
    }
  }
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, EXIT_FAILURE);
  std::abort();
}

/// Asks for Open MPI's ob1 PML before MPI_Init when the whole job is on this node (see
/// common/pml_choice.hpp for why and when). Spawned workers get the parent's setting with
/// the spawn (pool_spawn.cpp). A PML set by the user wins.
void prefer_ob1_on_one_node() {
  if (detail::choose_pml(std::getenv) == detail::PmlChoice::ob1) setenv("OMPI_MCA_pml", "ob1", 0);
}

/// A pool of N starts N workers, as in Python: a process started without a launcher holds
/// one of the machine's slots itself, and Open MPI 4.1 refuses a spawn beyond the slots
/// ("not enough slots") whatever MPI_Comm_spawn's map-by info says. Its singleton runtime
/// takes the MCA default from the environment at MPI_Init, so allow oversubscription there.
/// Under a launcher the allocation's slots stay the rule. A value set by the user wins.
void oversubscribe_without_launcher() {
  for (const char* set_by_launcher : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(set_by_launcher) != nullptr) return;
  setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 0);
}

/// mr reports a failed MPI call as mr::MpiError naming the routine (MR_MPI_CALL), so that it
/// can be caught, agreed on by every rank, or at least printed before the terminate handler
/// ends the job. Under MPI's default, MPI_ERRORS_ARE_FATAL, MPI aborts inside the call and
/// no MpiError is ever thrown. Communicators duplicated from these inherit the handler; the
/// pool sets it on the ones it creates by spawning. SELF as well as WORLD: MPI 4 raises
/// errors that belong to no communicator on SELF, MPI 3 on WORLD. A handler the program
/// installed before handing MPI to mr is left alone.
void return_mpi_errors() {
  for (MPI_Comm comm : {MPI_COMM_WORLD, MPI_COMM_SELF}) {
    MPI_Errhandler current = MPI_ERRHANDLER_NULL;
    MR_MPI_CALL(MPI_Comm_get_errhandler, comm, &current);
    const bool is_default = current == MPI_ERRORS_ARE_FATAL;
    MR_MPI_CALL(MPI_Errhandler_free, &current);
    if (is_default) MR_MPI_CALL(MPI_Comm_set_errhandler, comm, MPI_ERRORS_RETURN);
  }
}

}  // namespace

Runtime::Runtime(int argc, char** argv, std::optional<PoolLaunch> pool_launch) {
  int initialized = 0;
  MR_MPI_CALL(MPI_Initialized, &initialized);
  if (initialized) {
    MR_MPI_CALL(MPI_Query_thread, &thread_level_);
  } else {
    prefer_ob1_on_one_node();
    oversubscribe_without_launcher();
    MR_MPI_CALL(MPI_Init_thread, &argc, &argv, MPI_THREAD_MULTIPLE, &thread_level_);
    owns_mpi_ = true;
  }
  std::set_terminate(abort_job_on_uncaught_exception);
  return_mpi_errors();
  MR_MPI_CALL(MPI_Comm_rank, MPI_COMM_WORLD, &rank_);
  MR_MPI_CALL(MPI_Comm_size, MPI_COMM_WORLD, &size_);

  MPI_Comm parent = MPI_COMM_NULL;
  MR_MPI_CALL(MPI_Comm_get_parent, &parent);
  if (parent != MPI_COMM_NULL) {
    const int code = detail::serve_spawned_worker(parent);
    detail::finalize_mpi();
    std::exit(code);
  }
  // World mode: ranks 1..N-1 are rank 0's pool workers (pool_ranks.cpp).
  if (detail::start_world_mode(pool_launch)) {
    const int code = detail::serve_world_pools();
    detail::finalize_mpi();
    std::exit(code);
  }
}

Runtime::~Runtime() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) detail::end_world_pools();
  if (!owns_mpi_) return;
  if (!finalized) detail::finalize_mpi();
}

bool is_spawned_worker() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) return false;
  MPI_Comm parent = MPI_COMM_NULL;
  MPI_Comm_get_parent(&parent);
  return parent != MPI_COMM_NULL;
}

}  // namespace mr
