// The PML decision mr::Runtime makes before MPI_Init, with faked environments: every rank of
// a one-node job picks ob1, a job that spans nodes keeps the fabric's PML.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "common/pml_choice.hpp"

using mr::detail::choose_pml;
using mr::detail::PmlChoice;

namespace {
PmlChoice choice_for(const std::map<std::string, std::string>& vars) {
  return choose_pml([&](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}
}  // namespace

TEST(PmlChoice, NoLauncherPicksOb1) { EXPECT_EQ(choice_for({}), PmlChoice::ob1); }

TEST(PmlChoice, MpirunOnOneNodePicksOb1OnEveryRank) {
  for (const char* rank : {"0", "1", "2", "3"})
    EXPECT_EQ(choice_for({{"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"},
                          {"OMPI_COMM_WORLD_RANK", rank}, {"PMIX_RANK", rank}}),
              PmlChoice::ob1);
}

TEST(PmlChoice, AJobSpanningNodesKeepsTheFabricsPml) {
  // 4 ranks, 2 per node: both nodes decide the same way.
  for (const char* rank : {"0", "1", "2", "3"})
    EXPECT_EQ(choice_for({{"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"},
                          {"OMPI_COMM_WORLD_RANK", rank}, {"PMIX_RANK", rank}}),
              PmlChoice::keep);
  // 3 ranks, 2 + 1.
  EXPECT_EQ(choice_for({{"OMPI_COMM_WORLD_SIZE", "3"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "1"}}), PmlChoice::keep);
  // A launcher that gives no local size.
  EXPECT_EQ(choice_for({{"OMPI_COMM_WORLD_SIZE", "3"}}), PmlChoice::keep);
}

TEST(PmlChoice, TheUsersPmlWins) {
  EXPECT_EQ(choice_for({{"OMPI_MCA_pml", "ucx"}}), PmlChoice::keep);
  EXPECT_EQ(choice_for({{"OMPI_MCA_pml", "cm"}, {"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}}),
            PmlChoice::keep);
}

TEST(PmlChoice, SpawnedWorkersTakeTheParentsPmlNotTheirOwnLayout) {
  // The pool passes the parent's OMPI_MCA_pml with the spawn; without one, the default stands
  // even though the workers' own world is on one node (the parent's may span nodes).
  EXPECT_EQ(choice_for({{"OMPI_PARENT_PORT", "1:2"}, {"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}}),
            PmlChoice::keep);
}

TEST(PmlChoice, OtherLaunchersKeepTheirPml) {
  EXPECT_EQ(choice_for({{"PMIX_RANK", "0"}}), PmlChoice::keep);
  EXPECT_EQ(choice_for({{"PMI_RANK", "0"}}), PmlChoice::keep);
}
