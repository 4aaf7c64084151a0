// The same typed jobs on a process pool (started without mpirun): through a
// ProcessPoolExecutor and through a pool the call starts, identical to the oracle and to the
// MPI engine's result in this process.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "typed_jobs.hpp"

namespace fs = std::filesystem;

namespace {

class TempFiles {
 public:
  TempFiles() : dir_(fs::temp_directory_path() / ("mr_pool_typed_" + std::to_string(::getpid()))) {
    fs::create_directories(dir_);
  }
  ~TempFiles() { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return (dir_ / name).string();
  }

 private:
  fs::path dir_;
};

using IntLongResult = mr::Distributed<int, long, std::plus<>>;

/// A tail on the workers (map_reduce_on_workers): writes the result file named by the
/// request, and answers with the number of keys, the top 2 and the values of keys 3 and 999
/// (every call collective, as on MPI ranks). Worker 0's answer reaches the caller.
std::string save_and_answer(MPI_Comm workers, IntLongResult& result, std::string path) {
  int size = 0;
  MPI_Comm_size(workers, &size);
  result.write(path);
  std::string answer = std::to_string(result.size()) + " keys on " + std::to_string(size) + " workers; top";
  for (const auto& [key, value] : result.top(2)) answer += " " + std::to_string(key) + "=" + std::to_string(value);
  answer += "; lookup";
  for (const auto& value : result.lookup({3, 999})) answer += " " + (value ? std::to_string(*value) : "-");
  return answer;
}

/// A tail that breaks the rule (fails on one worker only): worker 1 throws while the others
/// wait for it in a collective.
std::string fail_alone(MPI_Comm workers, IntLongResult& result, std::string) {
  int rank = 0;
  MPI_Comm_rank(workers, &rank);
  if (rank == 1) throw std::runtime_error("the tail failed on worker 1 alone");
  return std::to_string(result.size());
}

}  // namespace

MR_JOB_TAIL(typed::int_long, save_and_answer);
MR_JOB_TAIL(typed::int_long, fail_alone);

TEST(PoolTypedApi, TheResultStaysOnTheWorkersAndTheTailRunsThere) {
  TempFiles files;
  const std::string text = typed::generated_text(700);
  const auto file = files.write("t.txt", text);
  const auto expected = typed::oracle(text).int_long;
  std::string lines;
  for (const auto& [key, value] : expected) lines += std::to_string(key) + "\t" + std::to_string(value) + "\n";
  std::vector<std::pair<int, long>> by_count(expected.begin(), expected.end());
  std::stable_sort(by_count.begin(), by_count.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const std::size_t workers : {1, 3}) {
    mr::ProcessPoolExecutor executor(workers);
    const std::string out = files.write("out.tsv", "old");
    const std::string answer = mr::map_reduce_on_workers(executor, {file}, typed::int_long, &save_and_answer, out,
                                                         mr::MapReduceOptions{.chunk_bytes = 2000});
    std::string want = std::to_string(expected.size()) + " keys on " + std::to_string(workers) + " workers; top";
    for (std::size_t i = 0; i < 2; ++i)
      want += " " + std::to_string(by_count[i].first) + "=" + std::to_string(by_count[i].second);
    want += "; lookup " + (expected.contains(3) ? std::to_string(expected.at(3)) : "-") + " -";
    EXPECT_EQ(answer, want) << workers << " workers";
    std::ifstream in(out, std::ios::binary);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), lines) << workers << " workers";
    // A failure in the tail reaches the caller as the workers' one error; no file is left.
    const std::string missing = files.write("x", "") + ".dir/out.tsv";
    EXPECT_THROW(mr::map_reduce_on_workers(executor, {file}, typed::int_long, &save_and_answer, missing),
                 mr::InputError);
    EXPECT_FALSE(fs::exists(missing));
  }
  // A tail that was not registered with MR_JOB_TAIL: a clear UsageError before any work.
  mr::ProcessPoolExecutor executor(1);
  constexpr mr::PoolTail<std::remove_cvref_t<decltype(typed::int_long)>> unregistered =
      [](MPI_Comm, IntLongResult&, std::string) { return std::string(); };
  try {
    mr::map_reduce_on_workers(executor, {file}, typed::int_long, unregistered);
    FAIL() << "no error";
  } catch (const mr::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("MR_JOB_TAIL(typed.int_long"), std::string::npos) << e.what();
  }
}

TEST(PoolTypedApi, ATailThatFailsOnOneWorkerEndsThePoolInsteadOfHanging) {
  TempFiles files;
  const auto file = files.write("t.txt", typed::generated_text(100));
  mr::ProcessPoolExecutor executor(2);
  try {
    mr::map_reduce_on_workers(executor, {file}, typed::int_long, &fail_alone);
    FAIL() << "no error";
  } catch (const mr::Error& e) {
    EXPECT_NE(std::string(e.what()).find("the tail failed on worker 1 alone"), std::string::npos) << e.what();
  }
}

TEST(PoolTypedApi, EveryKindOnAnExecutorMatchesTheOracleAndTheRanks) {
  TempFiles files;
  const std::string a = typed::generated_text(900), b = typed::generated_text(60) + "no-newline";
  const std::vector<std::string> inputs{files.write("a.txt", a), files.write("b.txt", b)};
  const auto expected = typed::oracle(a + b);
  const boost::mpi::communicator self;
  mr::ProcessPoolExecutor executor(2);
  const mr::MapReduceOptions small{.chunk_bytes = 2000};  // many map tasks and merge levels
  auto check = [&](const auto& job, const auto& want, const char* what) {
    const auto on_pool = mr::map_reduce(executor, inputs, job, small);
    EXPECT_TRUE(on_pool == want) << what << ": pool != oracle";
    EXPECT_TRUE(on_pool == mr::map_reduce(self, inputs, job)) << what << ": pool != MPI ranks";
  };
  check(typed::string_long, expected.string_long, "string->long");
  check(typed::string_double, expected.string_double, "string->double");
  check(typed::int_long, expected.int_long, "int->long");
  check(typed::int_avg, expected.int_avg, "int->Avg struct");
  check(typed::pair_long, expected.pair_long, "pair->long");
  check(typed::tuple_long, expected.tuple_long, "tuple->long");
  check(typed::tag_hist, expected.tag_hist, "Boost class key/value");
  check(typed::string_string, expected.string_string, "string->string");
}

TEST(PoolTypedApi, APoolTheCallStartsAndErrors) {
  TempFiles files;
  const std::string text = typed::generated_text(300);
  const auto file = files.write("t.txt", text);
  EXPECT_EQ(mr::map_reduce(mr::Workers{3}, {file}, typed::int_avg), typed::oracle(text).int_avg);
  EXPECT_TRUE(mr::map_reduce(mr::Workers{1}, {files.write("empty.txt", "")}, typed::string_long).empty());
  EXPECT_THROW(mr::map_reduce(mr::Workers{0}, {file}, typed::string_long), mr::UsageError);
  // A job that was never registered with MR_JOB cannot run on workers: a clear UsageError.
  const auto unregistered = mr::make_job<int, long>("typed.unregistered", typed::length_map, std::plus<>{});
  mr::ProcessPoolExecutor executor(1);
  try {
    mr::map_reduce(executor, {file}, unregistered);
    FAIL() << "no error";
  } catch (const mr::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("add MR_JOB(typed.unregistered)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(mr::map_reduce(executor, {file + ".missing"}, typed::string_long), mr::InputError);
}
