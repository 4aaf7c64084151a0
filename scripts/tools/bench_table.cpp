// The evidence for a hand-written table (issue 13): mr's FlatTable (through the
// PrefetchingAdder the engine uses) against abseil's flat_hash_map with heterogeneous
// lookup (find(string_view), a std::string made only for a new key), on the same map
// functions over the same file in memory: the whitespace word count and the 1-gram job's
// parser. One thread, no MPI; prints `table job seconds MB/s keys` per run, best of N.
//
//   scripts/bench_kernel.py builds it: mpicxx -O2 -I include -I src/lib ... libmr.a -labsl_...
//   bench_table wordcount|ngram FILE [runs]
#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "jobs/builtin_maps.hpp"
#include "mr/detail/hash_table.hpp"
#include "mr/detail/records.hpp"

namespace {

using mr::detail::CountTable;
using mr::detail::PrefetchingAdder;

std::string slurp(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The engine's emit, reduced to the table: keys are views into the text.
struct FlatEmit {
  PrefetchingAdder<CountTable>& adder;
  void operator()(std::string_view key, std::int64_t value) { adder.add(key, value); }
};

struct AbslEmit {
  absl::flat_hash_map<std::string, std::int64_t>& map;  // absl::Hash/equal_to are transparent for strings
  void operator()(std::string_view key, std::int64_t value) {
    // Debian's abseil has its own string_view type (not an alias of std::string_view).
    auto it = map.find(absl::string_view(key.data(), key.size()));
    if (it != map.end()) it->second += value;
    else map.emplace(std::string(key), value);
  }
};

template <class Emit>
void map_text(const std::string& job, std::string_view text, Emit& emit) {
  if (job == "ngram") mr::detail::NgramCounts{}(mr::Lines{text, text}, emit);  // head: the layout from the first line
  else mr::detail::WhitespaceWords{}(mr::Lines{text}, emit);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_table wordcount|ngram FILE [runs]\n");
    return 2;
  }
  const std::string job = argv[1];
  const std::string text = slurp(argv[2]);
  const int runs = argc > 3 ? std::atoi(argv[3]) : 3;
  const double mb = static_cast<double>(text.size()) / 1e6;
  double best_flat = 1e30, best_absl = 1e30;
  std::size_t keys_flat = 0, keys_absl = 0;
  for (int r = 0; r < runs; ++r) {  // interleaved
    {
      const auto start = std::chrono::steady_clock::now();
      CountTable table(1 << 14);
      PrefetchingAdder<CountTable> adder(table, text.data() + text.size());
      FlatEmit emit{adder};
      map_text(job, text, emit);
      adder.flush();
      best_flat = std::min(best_flat, seconds_since(start));
      keys_flat = table.size();
    }
    {
      const auto start = std::chrono::steady_clock::now();
      absl::flat_hash_map<std::string, std::int64_t> map;
      AbslEmit emit{map};
      map_text(job, text, emit);
      best_absl = std::min(best_absl, seconds_since(start));
      keys_absl = map.size();
    }
  }
  if (keys_flat != keys_absl) {
    std::fprintf(stderr, "bench_table: key counts differ (%zu vs %zu)\n", keys_flat, keys_absl);
    return 1;
  }
  std::printf("flat %s %.3f %.0f %zu\n", job.c_str(), best_flat, mb / best_flat, keys_flat);
  std::printf("absl %s %.3f %.0f %zu\n", job.c_str(), best_absl, mb / best_absl, keys_absl);
  return 0;
}
