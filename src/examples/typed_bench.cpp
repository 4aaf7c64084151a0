// The typed API on real work: a word count whose key and value types are chosen on the
// command line, with the same map function shape for each (one call per line, the words of
// the line emitted). scripts/bench_mapreduce.sh times it next to the built-in word count.
//
//   mpirun -np 2 mr_example_typed_bench string_long|string_double|int_long|int_struct FILE...
//
// Prints one JSON line on rank 0: {"type": ..., "seconds": ..., "distinct_keys": ...}.
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

#include "mr/mr.hpp"

namespace {

/// A value for averages: a plain struct, reduced by the user's function.
struct Avg {
  double sum = 0;
  long n = 0;
};

template <class K, class V, class Emit>
void run(const boost::mpi::communicator& comm, const std::string& type, const std::vector<std::string>& inputs,
         Emit emit_word) {
  const auto start = std::chrono::steady_clock::now();
  auto job = mr::make_job<K, V>(type.c_str(),
                                [=](std::string_view line, auto& emit) {
                                  mr::for_each_word(line, [&](std::string_view word) { emit_word(emit, word); });
                                },
                                [](const V& a, const V& b) {
                                  if constexpr (std::is_same_v<V, Avg>) return Avg{a.sum + b.sum, a.n + b.n};
                                  else return a + b;
                                });
  auto result = mr::map_reduce_distributed(comm, inputs, job);
  const auto keys = result.size();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (comm.rank() == 0)
    std::printf("{\"type\":\"%s\",\"seconds\":%.6f,\"distinct_keys\":%llu,\"bytes\":%llu}\n", type.c_str(), seconds,
                static_cast<unsigned long long>(keys), static_cast<unsigned long long>(result.stats().bytes));
}

}  // namespace

int main(int argc, char** argv) {
  mr::Runtime runtime(argc, argv);
  boost::mpi::communicator comm;
  if (argc < 3) {
    if (comm.rank() == 0) std::fprintf(stderr, "usage: %s string_long|string_double|int_long|int_struct FILE...\n", argv[0]);
    return 2;
  }
  const std::string type = argv[1];
  const std::vector<std::string> inputs(argv + 2, argv + argc);
  if (type == "string_long") {
    run<std::string, long>(comm, type, inputs, [](auto& emit, std::string_view w) { emit(w, 1L); });
  } else if (type == "string_double") {
    run<std::string, double>(comm, type, inputs, [](auto& emit, std::string_view w) { emit(w, 1.0); });
  } else if (type == "int_long") {
    run<int, long>(comm, type, inputs, [](auto& emit, std::string_view w) { emit(static_cast<int>(w.size()), 1L); });
  } else if (type == "int_struct") {
    run<int, Avg>(comm, type, inputs,
                  [](auto& emit, std::string_view w) { emit(static_cast<int>(w.size()), Avg{1.0 * static_cast<double>(w.size()), 1}); });
  } else {
    if (comm.rank() == 0) std::fprintf(stderr, "unknown type '%s'\n", type.c_str());
    return 2;
  }
}
