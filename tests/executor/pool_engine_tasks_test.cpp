// A job's pool tasks (pool_mapreduce.hpp) run in-process, without MPI: map tasks add to the
// worker's table of their run until it is drained, merges reduce concatenated tables, and a
// malformed record names its input and line across chunks.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <string>

#include "mr/detail/shuffle.hpp"
#include "mr/error.hpp"
#include "mr/mapreduce.hpp"
#include "mr/pool_mapreduce.hpp"

namespace {

constexpr auto count_words = [](std::string_view line, auto& emit) {
  mr::for_each_word(line, [&](std::string_view word) {
    if (word == "broken") throw mr::RecordError("the word 'broken'");
    emit(word, 1L);
  });
};
const auto words_job = mr::make_job<std::string, long>("test.pool_tasks.words", count_words, std::plus<>{});
MR_JOB(words_job);

using Tasks = mr::detail::JobTasks<std::remove_cvref_t<decltype(words_job)>>;

std::map<std::string, long> decode(const mr::detail::Bytes& table) {
  std::map<std::string, long> out;
  mr::detail::for_each_entry<long>(table, [&](std::string_view key, long value) { out[std::string(key)] += value; });
  return out;
}

TEST(PoolJobTasks, MapsAddToTheWorkersTableOfTheRunUntilItIsDrained) {
  const mr::detail::PoolRunId run = 101, other = 102;
  auto stats = Tasks::map_data(words_job.name, run, "", "-", 0, "", "the cat\nthe  dog\n");
  EXPECT_EQ(stats.bytes, 17u);
  EXPECT_EQ(stats.records, 2u);
  Tasks::map_data(words_job.name, other, "", "-", 0, "", "other\n");
  stats = Tasks::map_data(words_job.name, run, "", "-", 2, "", "a cat\n");
  EXPECT_EQ(stats.records, 1u) << "statistics are per chunk, not per table";
  EXPECT_EQ(decode(Tasks::drain(words_job.name, run)),
            (std::map<std::string, long>{{"a", 1}, {"cat", 2}, {"dog", 1}, {"the", 2}}));
  EXPECT_TRUE(Tasks::drain(words_job.name, run).empty()) << "a drained table is forgotten";
  EXPECT_EQ(decode(Tasks::drain(words_job.name, other)), (std::map<std::string, long>{{"other", 1}}));
  EXPECT_TRUE(Tasks::drain(words_job.name, 999).empty()) << "a worker that mapped nothing of a run drains nothing";
}

TEST(PoolJobTasks, MapRangeReadsOnlyTheLinesItsRangeOwns) {
  const std::string path = testing::TempDir() + "pool_engine_chunk.txt";
  std::ofstream(path) << "a b\nc d\ne f\n";
  Tasks::map_range(words_job.name, 201, "", path, 4, 8);
  EXPECT_EQ(decode(Tasks::drain(words_job.name, 201)), (std::map<std::string, long>{{"c", 1}, {"d", 1}}));
  Tasks::map_range(words_job.name, 202, "", path, 1, 5);  // starts inside line 1: owns line 2 only
  EXPECT_EQ(decode(Tasks::drain(words_job.name, 202)), (std::map<std::string, long>{{"c", 1}, {"d", 1}}));
  std::remove(path.c_str());
}

TEST(PoolJobTasks, MergeReducesEqualKeysOfConcatenatedTables) {
  mr::detail::Bytes joined;
  mr::detail::append_entry(joined, "x", 2L);
  mr::detail::append_entry(joined, "y", 1L);
  mr::detail::append_entry(joined, "x", 5L);
  EXPECT_EQ(decode(Tasks::merge(words_job.name, joined)), (std::map<std::string, long>{{"x", 7}, {"y", 1}}));
}

TEST(PoolJobTasks, BadRecordNamesTheInputAndTheLineAcrossChunks) {
  try {
    Tasks::map_data(words_job.name, 301, "", "in.gz", 60000, "", "a b\nfine\nbroken line\n");
    FAIL() << "expected InputError";
  } catch (const mr::InputError& e) {
    EXPECT_EQ(std::string(e.what()), "in.gz:60003: the word 'broken'");
  }
  Tasks::drain(words_job.name, 301);
}

TEST(PoolJobTasks, UnknownJobNameIsAUsageError) {
  EXPECT_THROW(Tasks::map_data("no.such.job", 1, "", "-", 0, "", "x\n"), mr::UsageError);
}

}  // namespace
