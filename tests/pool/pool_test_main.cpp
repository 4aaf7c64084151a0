// gtest main for pool tests: mr::Runtime first, so the spawned copies of this binary become
// pool workers and never run the tests themselves.
#include <gtest/gtest.h>

#include "mr/runtime.hpp"

int main(int argc, char** argv) {
  mr::Runtime runtime(argc, argv);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
