// The evidence for a hand-written table (issue 13): mr's FlatTable (through the
// PrefetchingAdder the engine uses) against abseil's flat_hash_map with heterogeneous
// lookup (find(string_view), a std::string made only for a new key), on the same map
// functions over the same file in memory: the whitespace word count and the 1-gram job's
// parser. One thread, no MPI; prints `table job seconds MB/s keys` per run, best of N.
//
//   scripts/bench_kernel.py builds it: mpicxx -O2 -I include -I src/lib ... libmr.a -labsl_...
//   bench_table wordcount|ngram FILE [runs]
//   bench_table stages FILE [runs]   where a whitespace token's time goes (ns per token)
#include <absl/container/flat_hash_map.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/builtin_maps.hpp"
#include "mr/detail/hash_table.hpp"
#include "mr/detail/records.hpp"
#include "mr/mapreduce.hpp"

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

/// Runs `job`'s map function over `text` into mr's table, as the engine does; returns the keys.
std::size_t flat_keys(const std::string& job, std::string_view text) {
  CountTable table(mr::detail::kFirstTableKeys);
  PrefetchingAdder<CountTable> adder(table, text.data() + text.size());
  FlatEmit emit{adder};
  map_text(job, text, emit);
  adder.flush();
  return table.size();
}

/// `stages`: the README's "Fewer instructions, and what bounds the rest" table. Best of `runs`,
/// in ns per token: the tokenizer alone (its sink adds the sizes); the adder alone, over the
/// tokens collected beforehand; both over the file in memory (the map function and emit the
/// engine uses, through the same adder); both over the file mapped once with mmap.
int stages(const char* path, const std::string& text, int runs) {
  std::vector<std::string_view> tokens;
  mr::detail::for_each_whitespace_token(text, [&](std::string_view word) { tokens.push_back(word); });
  if (tokens.empty()) {
    std::fprintf(stderr, "bench_table: %s has no tokens\n", path);
    return 1;
  }
  std::uint64_t sink = 0;  // printed, so that no stage is optimised away
  auto best = [&](auto&& stage) {
    double seconds = 1e30;
    for (int r = 0; r < runs; ++r) {
      const auto start = std::chrono::steady_clock::now();
      stage();
      seconds = std::min(seconds, seconds_since(start));
    }
    return seconds / static_cast<double>(tokens.size()) * 1e9;
  };
  auto count_words = [&](std::string_view bytes) { sink += flat_keys("wordcount", bytes); };
  const double tokenizer = best([&] {
    mr::detail::for_each_whitespace_token(text, [&](std::string_view word) { sink += word.size(); });
  });
  const double adder_alone = best([&] {
    CountTable table(mr::detail::kFirstTableKeys);
    PrefetchingAdder<CountTable> adder(table, text.data() + text.size());
    for (const std::string_view word : tokens) adder.add(word, std::int64_t{1});
    adder.flush();
    sink += table.size();
  });
  const double in_memory = best([&] { count_words(text); });
  const double mapped = best([&] {
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    void* map = fd < 0 ? MAP_FAILED : ::mmap(nullptr, text.size(), PROT_READ, MAP_PRIVATE, fd, 0);
    if (fd >= 0) ::close(fd);
    if (map == MAP_FAILED) {
      std::perror(path);
      std::exit(1);
    }
    count_words(std::string_view(static_cast<const char*>(map), text.size()));
    ::munmap(map, text.size());
  });
  std::printf("stages %zu tokens, ns per token: tokenizer %.2f, adder alone %.2f, both in memory %.2f, "
              "both mapped %.2f (%llu)\n",
              tokens.size(), tokenizer, adder_alone, in_memory, mapped, static_cast<unsigned long long>(sink));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_table wordcount|ngram|stages FILE [runs]\n");
    return 2;
  }
  const std::string job = argv[1];
  const std::string text = slurp(argv[2]);
  const int runs = argc > 3 ? std::atoi(argv[3]) : 3;
  if (job == "stages") return stages(argv[2], text, runs);
  const double mb = static_cast<double>(text.size()) / 1e6;
  double best_flat = 1e30, best_absl = 1e30;
  std::size_t keys_flat = 0, keys_absl = 0;
  for (int r = 0; r < runs; ++r) {  // interleaved
    {
      const auto start = std::chrono::steady_clock::now();
      keys_flat = flat_keys(job, text);
      best_flat = std::min(best_flat, seconds_since(start));
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
