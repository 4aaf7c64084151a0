// The same typed jobs on a process pool (started without mpirun): through a
// ProcessPoolExecutor and through a pool the call starts, identical to the oracle and to the
// MPI engine's result in this process.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

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

}  // namespace

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
