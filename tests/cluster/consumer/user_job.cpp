// A user's own MapReduce job against the installed mr: how many words start with each
// letter, over the files named on the command line. Run: mpirun -np 2 user_job FILE...
#include <mr/mr.hpp>

#include <cstdio>
#include <functional>

int main(int argc, char** argv) {
  mr::Runtime runtime(argc, argv);
  boost::mpi::communicator comm;
  auto counts = mr::map_reduce<std::string, long>(
      comm, {argv + 1, argv + argc},
      [](std::string_view line, auto& emit) {
        for (auto word : mr::split_words(line)) emit(word.substr(0, 1), 1);
      },
      std::plus<>{});
  if (comm.rank() == 0)
    for (const auto& [letter, count] : counts) std::printf("%s %ld\n", letter.c_str(), count);
}
