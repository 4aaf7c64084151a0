// MPI tests of the engine: chunked collectives with a tiny limit, error agreement, and
// the typed map_reduce API (fast and generic paths) against an in-process oracle.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <boost/mpi/collectives/broadcast.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>

#include "mr/detail/collective_error.hpp"
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
