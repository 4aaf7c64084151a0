// Placeholder until the SPMD engine lands.
#include <cstdio>

#include "mr/mr.hpp"

int main(int argc, char** argv) {
  mr::Runtime runtime(argc, argv);
  std::fprintf(stderr, "mapreduce: not implemented yet\n");
  return 1;
}
