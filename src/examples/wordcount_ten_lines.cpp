// A user's own MapReduce job in about ten lines: count whitespace-separated words in
// the files named on the command line. Run: mpirun -np 4 mr_example_wordcount_ten_lines FILE...
#include <cstdio>
#include <functional>

#include "mr/mr.hpp"

int main(int argc, char** argv) {
  mr::Runtime runtime(argc, argv);
  boost::mpi::communicator comm;
  auto counts = mr::map_reduce<std::string, long>(
      comm, {argv + 1, argv + argc},
      [](std::string_view line, auto& emit) {
        for (auto word : mr::split_words(line)) emit(word, 1);
      },
      std::plus<>{});
  if (comm.rank() == 0)
    for (const auto& [word, count] : counts) std::printf("%s\t%ld\n", word.c_str(), count);
}
