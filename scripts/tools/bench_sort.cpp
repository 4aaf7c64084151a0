// The result sort alone (sort_results: the in-place MSD radix sort of the output order), on
// generated entries held in memory: N random 7-letter words all counted once (the 10 M-word
// benchmark's shape), and N 1-gram-like keys ("w<digits>" with a tag on two thirds) with
// counts of 40-939 and 1 % up to 6e7 (many ties on the count, a few large values). Best of
// 3 runs; checks the order.
//   scripts/bench_sort.sh [N...]   (builds this against libmr.a)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "jobs/output.hpp"

using mr::detail::ResultEntry;

namespace {

double best_of_three(const std::vector<ResultEntry>& entries) {
  double best = 1e9;
  for (int run = 0; run < 3; ++run) {
    std::vector<ResultEntry> sorted = entries;
    const auto start = std::chrono::steady_clock::now();
    mr::detail::sort_results(sorted);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (!std::is_sorted(sorted.begin(), sorted.end(), mr::detail::result_before)) {
      std::fprintf(stderr, "bench_sort: not sorted\n");
      std::exit(1);
    }
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::stoul(argv[i]));
  if (sizes.empty()) sizes = {1000000, 10000000};
  std::printf("| entries | keys | best of 3 s | ns per entry |\n|---|---|---|---|\n");
  for (const std::size_t n : sizes)
    for (const bool words : {true, false}) {
      std::mt19937_64 random(1);
      std::vector<std::string> keys(n);  // owns the bytes of keys over 16 bytes (none here)
      std::vector<ResultEntry> entries;
      entries.reserve(n);
      for (std::string& key : keys) {
        std::int64_t count = 1;
        if (words) {
          key.resize(7);
          for (char& c : key) c = static_cast<char>('a' + random() % 26);
        } else {
          key = "w" + std::to_string(random() % 100000000) + (random() % 3 ? "_NOUN" : "");
          count = static_cast<std::int64_t>(random() % 100 == 0 ? random() % 60000000 : 40 + random() % 900);
        }
        entries.emplace_back(key, count);
      }
      const double seconds = best_of_three(entries);
      std::printf("| %zu | %s | %.3f | %.1f |\n", n, words ? "7-letter words, count 1" : "1-gram-like, counts 40-939 + 1 % large",
                  seconds, seconds / static_cast<double>(n) * 1e9);
    }
  return 0;
}
