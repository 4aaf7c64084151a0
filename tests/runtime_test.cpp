#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdlib>

#include "mr/detail/mpi_check.hpp"
#include "mr/error.hpp"
#include "mr/runtime.hpp"

TEST(Runtime, WorldIsInitialisedWithThreadSupport) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  EXPECT_TRUE(initialized);
  int level = 0;
  MPI_Query_thread(&level);
  EXPECT_GE(level, MPI_THREAD_SERIALIZED);
  EXPECT_FALSE(mr::is_spawned_worker());
}

/// Read during static initialisation, before main() constructs mr::Runtime.
const bool pml_set_before_runtime = std::getenv("OMPI_MCA_pml") != nullptr;

TEST(Runtime, LeavesTheLaunchersPmlChoiceAlone) {
  // Under mpirun every rank must make the same PML choice, so Runtime's ob1 preference is
  // only for processes started without a launcher (see runtime.cpp).
  ASSERT_NE(std::getenv("OMPI_COMM_WORLD_SIZE"), nullptr) << "this test runs under mpirun";
  if (!pml_set_before_runtime) EXPECT_EQ(std::getenv("OMPI_MCA_pml"), nullptr);
}

TEST(Runtime, RanksAgreeOnTheWorldSize) {
  int size = 0, rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int sum = 0;
  MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(sum, size * (size - 1) / 2);
}

TEST(Runtime, MpiErrorsBecomeExceptionsNamingTheRoutine) {
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int value = 0;
  try {
    MR_MPI_CALL(MPI_Send, &value, 1, MPI_INT, /*dest=*/-5, 0, MPI_COMM_WORLD);
    FAIL() << "expected MpiError";
  } catch (const mr::MpiError& e) {
    EXPECT_EQ(e.routine(), "MPI_Send");
    EXPECT_NE(e.code(), MPI_SUCCESS);
    EXPECT_NE(std::string(e.what()).find("MPI_Send failed"), std::string::npos);
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
}
