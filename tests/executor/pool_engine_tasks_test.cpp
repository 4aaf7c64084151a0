// The pool engine's pure parts: cutting lines into chunks and its map/merge tasks, run
// in-process (no MPI), checked against tables counted by hand.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>

#include "pool_engine/line_chunks.hpp"
#include "pool_engine/pool_engine_tasks.hpp"
#include "mr/detail/shuffle.hpp"
#include "mr/error.hpp"

namespace {

using mr::detail::JobKind;
using mr::detail::next_lines;
using mr::detail::WordMode;

std::map<std::string, std::int64_t> decode(const mr::detail::PartialTable& table) {
  std::map<std::string, std::int64_t> out;
  mr::detail::for_each_entry(std::string_view(table.data(), table.size()),
                             [&](std::string_view key, std::int64_t value) { out[std::string(key)] += value; });
  return out;
}

TEST(NextLines, TakesWholeLinesAndReportsShortRuns) {
  const std::string text = "a\nbb\nccc\nd";
  auto run = next_lines(text, 0, 2);
  EXPECT_EQ(run.end, 5u);
  EXPECT_EQ(run.lines, 2u);
  run = next_lines(text, 5, 2);
  EXPECT_EQ(run.end, text.size()) << "the unterminated last line belongs to the last run";
  EXPECT_EQ(run.lines, 1u);
  run = next_lines(text, text.size(), 5);
  EXPECT_EQ(run.end, text.size());
  EXPECT_EQ(run.lines, 0u);
  EXPECT_EQ(next_lines("x\n", 0, 1).end, 2u);
}

TEST(PoolEngineTasks, MapsAddToTheWorkersTableOfTheJobUntilItIsDrained) {
  using mr::detail::pool_drain_worker;
  using mr::detail::pool_map_data_chunk;
  const mr::detail::PoolJobId job = 101, other = 102;
  auto stats = pool_map_data_chunk(job, JobKind::WordCount, WordMode::Whitespace, "-", 0, "the cat\nthe  dog\n");
  EXPECT_EQ(stats.bytes, 17u);
  EXPECT_EQ(stats.records, 2u);
  pool_map_data_chunk(other, JobKind::WordCount, WordMode::Whitespace, "-", 0, "other\n");
  stats = pool_map_data_chunk(job, JobKind::WordCount, WordMode::Whitespace, "-", 2, "a cat\n");
  EXPECT_EQ(stats.records, 1u) << "statistics are per chunk, not per table";
  EXPECT_EQ(decode(pool_drain_worker(job)),
            (std::map<std::string, std::int64_t>{{"a", 1}, {"cat", 2}, {"dog", 1}, {"the", 2}}));
  EXPECT_TRUE(pool_drain_worker(job).empty()) << "a drained table is forgotten";
  EXPECT_EQ(decode(pool_drain_worker(other)), (std::map<std::string, std::int64_t>{{"other", 1}}));
  EXPECT_TRUE(pool_drain_worker(999).empty()) << "a worker that mapped nothing of a job drains nothing";
}

TEST(PoolEngineTasks, MapFileChunkReadsOnlyItsRange) {
  const std::string path = testing::TempDir() + "pool_engine_chunk.txt";
  std::ofstream(path) << "a b\nc d\ne f\n";
  const mr::detail::PoolJobId job = 201;
  mr::detail::pool_map_file_chunk(job, JobKind::WordCount, WordMode::Whitespace, path, 4, 8);
  EXPECT_EQ(decode(mr::detail::pool_drain_worker(job)), (std::map<std::string, std::int64_t>{{"c", 1}, {"d", 1}}));
  std::remove(path.c_str());
}

TEST(PoolEngineTasks, MergeSumsEqualKeysOfConcatenatedTables) {
  mr::detail::PartialTable joined;
  mr::detail::append_entry(joined, "x", 2);
  mr::detail::append_entry(joined, "y", 1);
  mr::detail::append_entry(joined, "x", 5);
  EXPECT_EQ(decode(mr::detail::pool_merge_tables(joined)),
            (std::map<std::string, std::int64_t>{{"x", 7}, {"y", 1}}));
}

TEST(PoolEngineTasks, BadNgramLineNamesTheInputAndTheLineAcrossChunks) {
  try {
    mr::detail::pool_map_data_chunk(301, JobKind::Ngram, WordMode::Whitespace, "in.gz", 60000,
                                    "a b\t1990\t3\t2\nbroken line\n");
    FAIL() << "expected InputError";
  } catch (const mr::InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("in.gz:60002:", 0), 0u) << e.what();
  }
}

}  // namespace
