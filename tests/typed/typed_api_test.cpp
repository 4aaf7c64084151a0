// The typed API on MPI ranks (1-4): every kind of key and value against an oracle written
// independently in the test, text and items inputs, empty inputs and a rank without records,
// the distributed result (local iteration, gather, top K, write, size), and errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/mpi/collectives.hpp>
#include <boost/serialization/utility.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "shared_dir.hpp"
#include "typed_jobs.hpp"

namespace fs = std::filesystem;

namespace {

boost::mpi::communicator world() { return {}; }

using SharedDir = mr_test::SharedDir;

/// On rank 0: result == expected; elsewhere: the result is empty.
template <class Map>
void expect_on_root(const Map& got, const Map& expected, const char* what) {
  if (world().rank() == 0) {
    EXPECT_EQ(got.size(), expected.size()) << what;
    EXPECT_TRUE(got == expected) << what;
  } else {
    EXPECT_TRUE(got.empty()) << what;
  }
}

/// Every kind of key and value, over two files, against the oracle, with `options`.
void expect_every_kind(const mr::MapReduceOptions& options) {
  SharedDir dir;
  const std::string a = typed::generated_text(700), b = typed::generated_text(90) + "tail-without-newline";
  const auto inputs = std::vector<std::string>{dir.write("a.txt", a), dir.write("b.txt", b)};
  const auto expected = typed::oracle(a + b);
  expect_on_root(mr::map_reduce(world(), inputs, typed::string_long, options), expected.string_long, "string->long");
  expect_on_root(mr::map_reduce(world(), inputs, typed::string_double, options), expected.string_double, "string->double");
  expect_on_root(mr::map_reduce(world(), inputs, typed::int_long, options), expected.int_long, "int->long");
  expect_on_root(mr::map_reduce(world(), inputs, typed::int_avg, options), expected.int_avg, "int->Avg struct");
  expect_on_root(mr::map_reduce(world(), inputs, typed::pair_long, options), expected.pair_long, "pair->long");
  expect_on_root(mr::map_reduce(world(), inputs, typed::tuple_long, options), expected.tuple_long, "tuple->long");
  expect_on_root(mr::map_reduce(world(), inputs, typed::tag_hist, options), expected.tag_hist, "Boost class key/value");
  expect_on_root(mr::map_reduce(world(), inputs, typed::string_string, options), expected.string_string,
                 "string->string");
}

}  // namespace

TEST(TypedApi, EveryKeyAndValueKindMatchesTheOracle) {
  // Small partitions and exchange rounds, so every rank maps several ranges and the
  // shuffle runs in many rounds.
  expect_every_kind({.chunk_bytes = 1000, .exchange_limit = 4096});
}

TEST(TypedApi, RoutingUncombinedPairsMatchesTheOracle) {
  // Every rank stops combining other ranks' keys after its first block (or 4096 items) and
  // routes their pairs uncombined, for every key and value kind.
  const mr::MapReduceOptions routing{
      .chunk_bytes = 1000, .exchange_limit = 4096, .stop_combining_keys = 1, .stop_combining_fraction = 0.0};
  expect_every_kind(routing);
  // Items: 10000 per rank over 3000 keys, so the switch happens mid-way through a rank's items.
  std::vector<long> mine(10000);
  for (std::size_t i = 0; i < mine.size(); ++i) mine[i] = static_cast<long>(i * 7 + static_cast<std::size_t>(world().rank()));
  auto hist = mr::map_reduce<long, long>(world(), mr::items(mine), [](const long& x, auto& emit) { emit(x % 3000, 1L); },
                                         std::plus<>{}, routing);
  std::map<long, long> want;
  for (int r = 0; r < world().size(); ++r)
    for (long i = 0; i < 10000; ++i) ++want[(i * 7 + r) % 3000];
  expect_on_root(hist, want, "items, routed");
}

TEST(TypedApi, TheIssuesSketchCompilesUnchanged) {
  SharedDir dir;
  const auto text = typed::generated_text(50);
  const auto file = dir.write("sketch.txt", text);
  using typed::Avg;
  auto avg = mr::map_reduce<int, Avg>(world(), {file},
      [](std::string_view line, auto& emit) { for (auto w : mr::split_words(line)) emit(int(w.size()), Avg{0.5 * w.size(), 1}); },
      [](const Avg& a, const Avg& b) { return Avg{a.sum + b.sum, a.n + b.n}; });       // std::map<int, Avg> on rank 0
  expect_on_root(avg, typed::oracle(text).int_avg, "int->Avg in place");
  std::vector<long> mine(static_cast<std::size_t>(world().rank() == 1 ? 0 : 40 + world().rank()));
  for (std::size_t i = 0; i < mine.size(); ++i) mine[i] = static_cast<long>(i * 7 + static_cast<std::size_t>(world().rank()));
  auto hist = mr::map_reduce<long, long>(world(), mr::items(mine), [](const long& x, auto& emit) { emit(x % 100, 1L); }, std::plus<>{});
  std::map<long, long> expected;
  for (int r = 0; r < world().size(); ++r)
    for (long i = 0; i < (r == 1 ? 0 : 40 + r); ++i) ++expected[(i * 7 + r) % 100];
  expect_on_root(hist, expected, "items with a rank that has none");
}

TEST(TypedApi, EmptyInputsGiveEmptyResults) {
  SharedDir dir;
  const auto empty = dir.write("empty.txt", "");
  EXPECT_TRUE(mr::map_reduce(world(), {empty}, typed::tag_hist).empty());
  EXPECT_TRUE(mr::map_reduce(world(), {empty}, typed::int_avg).empty());
  const std::vector<int> none;
  auto result = mr::map_reduce_distributed<int, long>(world(), mr::items(none),
                                                      [](const int& x, auto& emit) { emit(x, 1L); }, std::plus<>{});
  EXPECT_EQ(result.size(), 0u);
  EXPECT_EQ(result.stats().records, 0u);
}

TEST(TypedApi, DistributedResultStaysWithItsOwners) {
  SharedDir dir;
  const auto text = typed::generated_text(400);
  const auto file = dir.write("d.txt", text);
  const auto expected = typed::oracle(text).string_long;
  auto result = mr::map_reduce_distributed(world(), {file}, typed::string_long);
  // Local iteration: the ranks' keys are disjoint and together are the whole result.
  std::vector<std::pair<std::string, long>> mine;
  result.for_each([&](const std::string& key, long value) { mine.emplace_back(key, value); });
  EXPECT_EQ(mine.size(), result.local_size());
  std::vector<std::vector<std::pair<std::string, long>>> all;
  boost::mpi::gather(world(), mine, all, 0);
  if (world().rank() == 0) {
    std::map<std::string, long> joined;
    for (const auto& part : all)
      for (const auto& [k, v] : part) EXPECT_TRUE(joined.emplace(k, v).second) << "key " << k << " on two ranks";
    EXPECT_EQ(joined, expected);
  }
  EXPECT_EQ(result.size(), expected.size());
  EXPECT_EQ(result.stats().bytes, text.size());
  EXPECT_EQ(result.stats().records, typed::lines_of(text).size());
  // Top K: value descending, then key ascending.
  std::vector<std::pair<std::string, long>> sorted(expected.begin(), expected.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
  sorted.resize(7);
  const auto top = result.top(7);
  if (world().rank() == 0) EXPECT_EQ(top, sorted);
  else EXPECT_TRUE(top.empty());
  // Write: key TAB value, by key, whole or not at all.
  const auto out = (dir.path() / "result.tsv").string();
  result.write(out);
  if (world().rank() == 0) {
    std::ostringstream want;
    for (const auto& [k, v] : expected) want << k << '\t' << v << '\n';
    std::ifstream in(out);
    std::stringstream got;
    got << in.rdbuf();
    EXPECT_EQ(got.str(), want.str());
  }
  EXPECT_THROW(result.write((dir.path() / "no" / "dir" / "x.tsv").string()), mr::InputError);
  // Lookups answered by each key's owner.
  const auto some = *std::next(expected.begin(), static_cast<std::ptrdiff_t>(expected.size() / 2));
  const auto found = result.lookup({some.first, "absent-key", expected.begin()->first});
  if (world().rank() == 0) {
    ASSERT_EQ(found.size(), 3u);
    EXPECT_EQ(found[0], std::optional<long>(some.second));
    EXPECT_EQ(found[1], std::nullopt);
    EXPECT_EQ(found[2], std::optional<long>(expected.begin()->second));
  } else {
    EXPECT_TRUE(found.empty());
  }
  const auto gathered = result.gather(0);
  if (world().rank() == 0) EXPECT_EQ(gathered, expected);
  else EXPECT_TRUE(gathered.empty());
}

TEST(TypedApi, RecordErrorsNameTheFileAndLineOnEveryRank) {
  SharedDir dir;
  std::string text = typed::generated_text(300);
  const auto file = dir.write("bad.txt", text + "this line is BAD\n" + typed::generated_text(50));
  const auto expected_line = typed::lines_of(text).size() + 1;
  try {
    mr::map_reduce<std::string, long>(
        world(), {file},
        [](std::string_view line, auto& emit) {
          if (line.find("BAD") != std::string_view::npos) throw mr::RecordError("a bad record");
          emit(line, 1L);
        },
        std::plus<>{}, mr::MapReduceOptions{.chunk_bytes = 777});
    FAIL() << "no error";
  } catch (const mr::InputError& e) {
    EXPECT_EQ(std::string(e.what()), file + ":" + std::to_string(expected_line) + ": a bad record");
  }
  std::vector<int> items(10, world().rank());
  try {
    mr::map_reduce<int, long>(world(), mr::items(items), [](const int& x, auto& emit) {
      if (x == world().size() - 1) throw mr::RecordError("odd item");
      emit(x, 1L);
    }, std::plus<>{});
    FAIL() << "no error";
  } catch (const mr::InputError& e) {
    EXPECT_EQ(std::string(e.what()), "item 0: odd item");
  }
}

TEST(TypedApi, DistributedWriteOrdersEveryKeyKindByItsLess) {
  SharedDir dir;
  const int rank = world().rank(), size = world().size();
  // int keys whose byte order is not their numeric order (negative, multi-byte), from items.
  std::vector<int> mine;
  std::map<int, long> expected;
  for (int i = 0; i < 3000; ++i) {
    const int key = (i * 7919 % 1201 - 600) * 257;  // -154200 .. 154157
    if (i % size == rank) mine.push_back(key);
    ++expected[key];
  }
  auto ints = mr::map_reduce_distributed<int, long>(
      world(), mr::items(mine), [](int key, auto& emit) { emit(key, 1L); }, std::plus<>{});
  const auto int_path = (dir.path() / "ints.tsv").string();
  ints.write(int_path);
  // string keys with string values (values that do not live in the table's slots).
  const std::string text = typed::generated_text(400);
  const auto strings = mr::map_reduce_distributed(world(), {dir.write("s.txt", text)}, typed::string_string);
  const auto string_path = (dir.path() / "strings.tsv").string();
  strings.write(string_path);
  if (rank == 0) {
    auto read = [](const std::string& path) {
      std::ifstream in(path);
      std::stringstream got;
      got << in.rdbuf();
      return got.str();
    };
    std::ostringstream want_ints, want_strings;
    for (const auto& [k, v] : expected) want_ints << k << '\t' << v << '\n';
    for (const auto& [k, v] : typed::oracle(text).string_string) want_strings << k << '\t' << v << '\n';
    EXPECT_EQ(read(int_path), want_ints.str());
    EXPECT_EQ(read(string_path), want_strings.str());
  }
}
