// MPI tests of the engine: chunked collectives with a tiny limit, error agreement, and
// the typed map_reduce API (fast and generic paths) against an in-process oracle.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <boost/mpi/collectives/broadcast.hpp>
#include <boost/mpi/collectives/gather.hpp>
#include <boost/serialization/vector.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <algorithm>
#include <map>
#include <sstream>
#include <string>

#include "mr/detail/collective_error.hpp"
#include "mr/detail/parallel_file.hpp"
#include "mr/detail/sample_sort.hpp"
#include "mr/detail/shuffle.hpp"
#include "mr/mr.hpp"
#include "shared_dir.hpp"

using namespace mr::detail;
namespace fs = std::filesystem;

namespace {

boost::mpi::communicator world() { return {}; }

/// The shared test directory, plus gzip files.
class SharedDir : public mr_test::SharedDir {
 public:
  SharedDir() : mr_test::SharedDir("mr_engine_mpi_") {}
  std::string write_gz(const std::string& name, const std::string& text) const {
    const auto file = (path() / name).string();
    if (world().rank() == 0) {
      gzFile gz = gzopen(file.c_str(), "wb");
      gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
      gzclose(gz);
    }
    world().barrier();
    return file;
  }
};

const std::string four_lines = "I know what I know\nI know that I know\nI don't know much\nThey don't know much\n";

std::string file_contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string generated_text(int lines) {
  std::string text;
  for (int i = 0; i < lines; ++i) {
    for (int w = 0; w <= i % 7; ++w) text += "w" + std::to_string((i * 31 + w * 17) % 97) + (w % 3 ? " " : "\t");
    text += i % 5 == 0 ? "\r\n" : "\n";
  }
  return text;
}

std::map<std::string, long> oracle_counts(const std::string& text) {
  std::map<std::string, long> counts;
  std::istringstream in(text);
  std::string word;
  while (in >> word) ++counts[word];  // operator>> splits on the same ASCII whitespace
  return counts;
}

}  // namespace

TEST(Collectives, AlltoallvInTinyRounds) {
  const int size = world().size(), rank = world().rank();
  std::vector<Bytes> send(static_cast<std::size_t>(size));
  for (int r = 0; r < size; ++r)
    for (int i = 0; i < 37 * (rank + 1) + r; ++i) send[static_cast<std::size_t>(r)].push_back(static_cast<char>(rank * 16 + r + i));
  for (std::uint64_t limit : std::initializer_list<std::uint64_t>{1, 7, 64, INT_MAX}) {
    const auto received = alltoallv_bytes(MPI_COMM_WORLD, send, limit);
    ASSERT_EQ(received.size(), static_cast<std::size_t>(size));
    for (int s = 0; s < size; ++s) {
      const auto& got = received[static_cast<std::size_t>(s)];
      ASSERT_EQ(got.size(), static_cast<std::size_t>(37 * (s + 1) + rank)) << "limit " << limit;
      for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], static_cast<char>(s * 16 + rank + static_cast<int>(i)));
    }
  }
}

TEST(Collectives, GathervInTinyRounds) {
  const int size = world().size(), rank = world().rank();
  Bytes mine(static_cast<std::size_t>(rank * 11 + (rank == 1 ? 0 : 3)), static_cast<char>('a' + rank));
  for (std::uint64_t limit : std::initializer_list<std::uint64_t>{1, 5, INT_MAX}) {
    const auto all = gatherv_bytes(MPI_COMM_WORLD, mine, 0, limit);
    if (rank != 0) {
      EXPECT_TRUE(all.empty());
      continue;
    }
    ASSERT_EQ(all.size(), static_cast<std::size_t>(size));
    for (int r = 0; r < size; ++r)
      EXPECT_EQ(all[static_cast<std::size_t>(r)],
                Bytes(static_cast<std::size_t>(r * 11 + (r == 1 ? 0 : 3)), static_cast<char>('a' + r)));
  }
}

TEST(Collectives, EveryRankThrowsTheLowestFailingRanksError) {
  const int size = world().size(), rank = world().rank();
  EXPECT_NO_THROW(agree_on_error(MPI_COMM_WORLD, [] {}));
  const int failing = size - 1;  // only the last rank fails
  try {
    agree_on_error(MPI_COMM_WORLD, [&] {
      if (rank >= failing) throw mr::InputError("bad input on rank " + std::to_string(rank));
    });
    FAIL() << "no error";
  } catch (const mr::InputError& e) {
    EXPECT_EQ(std::string(e.what()), "bad input on rank " + std::to_string(failing));
  }
  try {
    agree_on_error(MPI_COMM_WORLD, [&] { throw std::runtime_error("everyone " + std::to_string(rank)); });
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_EQ(std::string(e.what()), "everyone 0");
  }
}

TEST(MapReduce, FourLineExampleOnSingleSpaces) {
  SharedDir dir;
  const auto file = dir.write("four.txt", four_lines);
  auto counts = mr::map_reduce<std::string, long>(
      world(), {file},
      [](std::string_view line, auto& emit) {
        std::size_t at = 0;
        while (at <= line.size()) {
          const auto space = std::min(line.find(' ', at), line.size());
          emit(line.substr(at, space - at), 1);
          at = space + 1;
        }
      },
      std::plus<>{}, mr::MapReduceOptions{5, 3});
  if (world().rank() == 0)
    EXPECT_EQ(counts, (std::map<std::string, long>{
                          {"I", 5}, {"know", 6}, {"don't", 2}, {"much", 2}, {"what", 1}, {"that", 1}, {"They", 1}}));
  else
    EXPECT_TRUE(counts.empty());
}

TEST(MapReduce, FastPathMatchesOracleForAnyChunkAndLimit) {
  SharedDir dir;
  const std::string a = generated_text(300), b = generated_text(77) + "no final newline", c = generated_text(5);
  dir.write("a.txt", a);
  fs::create_directories(dir.path() / "sub");
  dir.write("sub/b.txt", b);
  const auto gz = dir.write_gz("c.gz", c);
  const auto expected = oracle_counts(a + "\n" + b + "\n" + c);
  for (std::uint64_t chunk : std::initializer_list<std::uint64_t>{0, 1, 13, 1000}) {
    auto counts = mr::map_reduce<std::string, long>(
        world(), {dir.path().string()},
        [](std::string_view line, auto& emit) {
          for (auto w : mr::split_words(line)) emit(w, 1);
        },
        std::plus<>{}, mr::MapReduceOptions{chunk, chunk ? 9u : static_cast<std::uint64_t>(INT_MAX)});
    if (world().rank() == 0) EXPECT_EQ(counts, expected) << "chunk " << chunk;
  }
}

TEST(MapReduce, GenericPathWithCustomTypesAndReduce) {
  SharedDir dir;
  const auto file = dir.write("nums.txt", "3 x\n1 y\n4 x\n1 z\n5 y\n9 x\n2 z\n6 y\n");
  // Key: int (line length), value: pair<max, count> of the first number.
  using Value = std::pair<int, int>;
  auto stats = mr::map_reduce<int, Value>(
      world(), {file},
      [](std::string_view line, auto& emit) {
        emit(line.back() - 'x', Value{std::stoi(std::string(line.substr(0, 1))), 1});
      },
      [](const Value& a, const Value& b) { return Value{std::max(a.first, b.first), a.second + b.second}; },
      mr::MapReduceOptions{4, 2});
  if (world().rank() == 0)
    EXPECT_EQ(stats, (std::map<int, Value>{{0, {9, 3}}, {1, {6, 3}}, {2, {2, 2}}}));
}

TEST(MapReduce, ErrorsReachEveryRank) {
  SharedDir dir;
  const auto file = dir.write("lines.txt", generated_text(40));
  auto run = [&](std::vector<std::string> inputs) {
    return mr::map_reduce<std::string, long>(
        world(), inputs,
        [](std::string_view line, auto& emit) {
          if (line.find("w13 ") != std::string_view::npos) throw mr::InputError("found w13");
          emit(line, 1);
        },
        std::plus<>{}, mr::MapReduceOptions{16, static_cast<std::uint64_t>(INT_MAX)});
  };
  EXPECT_THROW(run({file}), mr::InputError);
  try {
    run({(dir.path() / "missing").string()});
    FAIL();
  } catch (const mr::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("missing: no such file or directory"), std::string::npos);
  }
  fs::create_directories(dir.path() / "empty");
  EXPECT_THROW(run({(dir.path() / "empty").string()}), mr::InputError);
}

TEST(MapReduce, EmptyInputGivesEmptyResult) {
  SharedDir dir;
  const auto file = dir.write("empty.txt", "");
  auto counts = mr::map_reduce<std::string, long>(
      world(), {file}, [](std::string_view line, auto& emit) { emit(line, 1); }, std::plus<>{});
  EXPECT_TRUE(counts.empty());
}

// ---- the distributed sort and the parallel file (the result file without a funnel) ----

namespace {

struct NumberCodec {
  void encode(Bytes& out, const std::uint64_t& n) const { out.append(reinterpret_cast<const char*>(&n), sizeof n); }
  std::uint64_t decode(Decoder& in) const { return in.raw<std::uint64_t>(); }
};

/// A string on the wire: its size, then its bytes.
struct StringCodec {
  void encode(Bytes& out, const std::string& text) const {
    const auto size = static_cast<std::uint32_t>(text.size());
    out.append(reinterpret_cast<const char*>(&size), sizeof size);
    out.append(text.data(), text.size());
  }
  std::string decode(Decoder& in) const { return std::string(in.take(in.raw<std::uint32_t>())); }
};

/// Every rank's slice gathered on rank 0, in rank order.
template <class T>
std::vector<T> concatenated(const std::vector<T>& slice) {
  std::vector<std::vector<T>> all;
  boost::mpi::gather(world(), slice, all, 0);
  std::vector<T> out;
  for (const auto& part : all) out.insert(out.end(), part.begin(), part.end());
  return out;
}

}  // namespace

TEST(SampleSort, SlicesInRankOrderAreTheGlobalOrder) {
  const int rank = world().rank(), size = world().size();
  // Distinct numbers, unevenly spread: rank r holds r * 1000 + 37 of them (rank 0's few).
  struct Case {
    const char* name;
    std::function<std::size_t(int)> count;
  };
  const std::vector<Case> cases = {
      {"uneven", [](int r) { return static_cast<std::size_t>(r) * 1000 + 37; }},
      {"all on the last rank", [size](int r) { return r == size - 1 ? std::size_t{5000} : 0; }},
      {"empty", [](int) { return std::size_t{0}; }},
      {"fewer entries than ranks", [](int r) { return r == 0 ? std::size_t{1} : 0; }},
  };
  for (const auto& c : cases) {
    std::vector<std::uint64_t> mine;
    std::vector<std::uint64_t> expected;
    for (int r = 0; r < size; ++r)
      for (std::size_t i = 0; i < c.count(r); ++i) {
        const std::uint64_t n = (static_cast<std::uint64_t>(i) * 2654435761u + static_cast<std::uint64_t>(r)) * 64 +
                                static_cast<std::uint64_t>(r);  // distinct across ranks (low bits)
        expected.push_back(n);
        if (r == rank) mine.push_back(n);
      }
    std::sort(expected.begin(), expected.end());
    // A tiny exchange limit: the sort's all-to-alls run in many rounds.
    const auto slice = sample_sort(world(), mine, std::less<>{}, NumberCodec{}, 64);
    EXPECT_TRUE(std::is_sorted(slice.entries.begin(), slice.entries.end())) << c.name;
    const auto all = concatenated(slice.entries);
    if (rank == 0) EXPECT_EQ(all, expected) << c.name;
    // Balance: with thousands of entries, no slice is much larger than its share.
    if (c.count(size - 1) >= 5000 && size > 1)
      EXPECT_LE(slice.entries.size(), 2 * expected.size() / static_cast<std::size_t>(size) + 64) << c.name;
  }
}

TEST(SampleSort, EntriesThatOwnMemoryKeepItThroughTheSort) {
  // Strings past the small-string buffer: a rank's own entries are moved within its run (to
  // its front) and the received ones decoded onto its end; a moved-from or overwritten string
  // would show as a wrong or missing entry.
  const int rank = world().rank(), size = world().size();
  std::vector<std::string> mine, expected;
  for (int r = 0; r < size; ++r)
    for (int i = 0; i < 3000; ++i) {
      std::string entry = "entry-" + std::to_string((i * 7919 + r * 104729) % 1000003) + "-from-rank-" + std::to_string(r);
      expected.push_back(entry);
      if (r == rank) mine.push_back(std::move(entry));
    }
  std::sort(expected.begin(), expected.end());
  const auto slice = sample_sort(world(), mine, std::less<>{}, StringCodec{}, 1000);
  EXPECT_TRUE(std::is_sorted(slice.entries.begin(), slice.entries.end()));
  const auto all = concatenated(slice.entries);
  if (rank == 0) EXPECT_EQ(all, expected);
}

TEST(ParallelFile, PartsMadeAPieceAtATimeByEveryRoute) {
  const SharedDir dir;
  const int rank = world().rank();
  // Rank r's part is r*10 lines made in pieces of 1, 2, 3 ... lines (rank 0's part is empty),
  // through writes smaller than most pieces.
  auto line = [](int r, int i) { return "r" + std::to_string(r) + " piece line " + std::to_string(i) + "\n"; };
  std::string expected, mine;
  for (int r = 0; r < world().size(); ++r)
    for (int i = 0; i < r * 10; ++i) {
      expected += line(r, i);
      if (r == rank) mine += line(r, i);
    }
  const auto produce = [&](const auto& write) {
    for (int i = 0, n = 1; i < rank * 10; n += 1) {
      std::string piece;
      for (int k = 0; k < n && i < rank * 10; ++k, ++i) piece += line(rank, i);
      write(piece);
    }
  };
  for (const auto route : {ParallelWrite::every_rank, ParallelWrite::through_root}) {
    const auto path = (dir.path() / "pieces.txt").string();
    write_in_rank_order(world(), path, mine.size(), produce, {route, /*chunk_limit=*/5});
    if (rank == 0) EXPECT_EQ(file_contents(path), expected);
    world().barrier();
    // A part that makes more or fewer bytes than it declared: an error on every rank, and the
    // file of the previous round is not replaced.
    // Rank 0 declares a byte it does not make; the last of several ranks makes one more than it declares.
    const bool last = world().size() > 1 && rank == world().size() - 1;
    const std::uint64_t wrong = last ? mine.size() - 1 : mine.size() + (rank == 0 ? 1 : 0);
    try {
      write_in_rank_order(world(), path, wrong, produce, {route, /*chunk_limit=*/5});
      ADD_FAILURE() << "expected an error for a part of the wrong size";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("declared"), std::string::npos) << e.what();
    }
    if (rank == 0) EXPECT_EQ(fs::file_size(path), expected.size());
    world().barrier();
  }
}

TEST(ParallelFile, RanksPartsInRankOrderByEveryRoute) {
  const SharedDir dir;
  const int rank = world().rank();
  // Rank r writes r+1 copies of a line naming it (rank 0: also a part larger than the chunks).
  std::string part;
  for (int i = 0; i <= rank; ++i) part += "rank " + std::to_string(rank) + " line " + std::to_string(i) + "\n";
  if (rank == 0) part += std::string(1000, 'x') + "\n";
  std::string expected;
  for (int r = 0; r < world().size(); ++r) {
    for (int i = 0; i <= r; ++i) expected += "rank " + std::to_string(r) + " line " + std::to_string(i) + "\n";
    if (r == 0) expected += std::string(1000, 'x') + "\n";
  }
  for (const auto route : {ParallelWrite::every_rank, ParallelWrite::through_root}) {
    const auto path = (dir.path() / "out.txt").string();
    const ParallelWrite taken = write_in_rank_order(world(), path, part, {route, /*chunk_limit=*/7});
    // One host: every rank can open the file; one rank writes without MPI-IO.
    EXPECT_EQ(taken, world().size() == 1 ? ParallelWrite::through_root : route);
    if (rank == 0) EXPECT_EQ(file_contents(path), expected);
    world().barrier();
  }
  // Empty parts everywhere: an empty file.
  const auto empty = (dir.path() / "empty.txt").string();
  write_in_rank_order(world(), empty, "");
  if (rank == 0) EXPECT_EQ(fs::file_size(empty), 0u);
  // An unwritable place: InputError naming it on every rank, nothing left behind.
  const auto bad = (dir.path() / "no" / "such" / "dir" / "x.txt").string();
  try {
    write_in_rank_order(world(), bad, part);
    ADD_FAILURE() << "expected InputError";
  } catch (const mr::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no/such/dir/x.txt"), std::string::npos) << e.what();
  }
  world().barrier();
  if (rank == 0)
    for (const auto& entry : fs::directory_iterator(dir.path()))
      EXPECT_TRUE(entry.path().filename() == "out.txt" || entry.path().filename() == "empty.txt")
          << "left behind: " << entry.path();
}
