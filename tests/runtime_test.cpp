#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdlib>
#include <string>

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

TEST(Runtime, PicksOb1WhenTheWholeJobIsOnThisNode) {
  // ctest runs every rank on this machine: each rank decided on ob1 before MPI_Init (the
  // decision itself, for jobs that span nodes too, is tested in pml_choice_test.cpp).
  ASSERT_NE(std::getenv("OMPI_COMM_WORLD_SIZE"), nullptr) << "this test runs under mpirun";
  if (pml_set_before_runtime) GTEST_SKIP() << "OMPI_MCA_pml was set by the user";
  const char* pml = std::getenv("OMPI_MCA_pml");
  ASSERT_NE(pml, nullptr);
  EXPECT_STREQ(pml, "ob1");
}

TEST(Runtime, RanksAgreeOnTheWorldSize) {
  int size = 0, rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int sum = 0;
  MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(sum, size * (size - 1) / 2);
}

/// A send to a rank that does not exist, through MR_MPI_CALL: MPI_ERR_RANK on any world size.
static void expect_mpi_error_naming_the_send(MPI_Comm comm) {
  int value = 0;
  try {
    MR_MPI_CALL(MPI_Send, &value, 1, MPI_INT, /*dest=*/-5, 0, comm);
    FAIL() << "expected MpiError";
  } catch (const mr::MpiError& e) {
    EXPECT_EQ(e.routine(), "MPI_Send");
    EXPECT_NE(e.code(), MPI_SUCCESS);
    EXPECT_EQ(e.error_class(), MPI_ERR_RANK);
    EXPECT_NE(std::string(e.what()).find("MPI_Send failed"), std::string::npos) << e.what();
  }
}

TEST(Runtime, ReturnsMpiErrorsInsteadOfAborting) {
  for (MPI_Comm comm : {MPI_COMM_WORLD, MPI_COMM_SELF}) {
    MPI_Errhandler handler = MPI_ERRHANDLER_NULL;
    MPI_Comm_get_errhandler(comm, &handler);
    EXPECT_EQ(handler, MPI_ERRORS_RETURN);
    MPI_Errhandler_free(&handler);
  }
}

TEST(Runtime, MpiErrorsBecomeExceptionsNamingTheRoutine) {
  // No errhandler set here: mr::Runtime made the error returnable.
  expect_mpi_error_naming_the_send(MPI_COMM_WORLD);
  // Communicators duplicated from the world inherit that.
  MPI_Comm dup = MPI_COMM_NULL;
  MPI_Comm_dup(MPI_COMM_WORLD, &dup);
  expect_mpi_error_naming_the_send(dup);
  MPI_Comm_free(&dup);
}
