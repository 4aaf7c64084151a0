// gtest main for MPI tests. Rank 0 prints the normal gtest output; every other rank
// records its failures, which are gathered to rank 0 at the end and printed tagged
// "[Rank r/size]". The exit code is non-zero on every rank if any rank failed.
#include <gtest/gtest.h>
#include <mpi.h>

#include <string>
#include <vector>

#include "mr/runtime.hpp"

namespace {

class FailureRecorder : public testing::EmptyTestEventListener {
 public:
  // The test's name is kept here: asking gtest for current_test_info() inside
  // OnTestPartResult deadlocks (gtest holds its own mutex while it reports a failure).
  void OnTestStart(const testing::TestInfo& info) override {
    test_ = std::string(info.test_suite_name()) + "." + info.name();
  }
  void OnTestPartResult(const testing::TestPartResult& result) override {
    if (!result.failed()) return;
    failures_ += test_ + " at " +
                 (result.file_name() ? result.file_name() : "?") + ":" +
                 std::to_string(result.line_number()) + "\n" + result.message() + "\n";
  }
  const std::string& failures() const { return failures_; }

 private:
  std::string failures_;
  std::string test_ = "?";
};

std::vector<std::string> gather_to_root(const std::string& text, int rank, int size) {
  int length = static_cast<int>(text.size());
  std::vector<int> lengths(static_cast<std::size_t>(size));
  MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::vector<int> offsets(static_cast<std::size_t>(size), 0);
  int total = 0;
  for (int r = 0; r < size; ++r) {
    offsets[static_cast<std::size_t>(r)] = total;
    total += lengths[static_cast<std::size_t>(r)];
  }
  std::string all(static_cast<std::size_t>(rank == 0 ? total : 0), '\0');
  MPI_Gatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(),
              MPI_CHAR, 0, MPI_COMM_WORLD);
  std::vector<std::string> per_rank;
  if (rank == 0) {
    for (int r = 0; r < size; ++r)
      per_rank.push_back(all.substr(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r)]),
                                    static_cast<std::size_t>(lengths[static_cast<std::size_t>(r)])));
  }
  return per_rank;
}

}  // namespace

int main(int argc, char** argv) {
  mr::Runtime runtime(argc, argv);
  testing::InitGoogleTest(&argc, argv);
  const int rank = runtime.rank();
  const int size = runtime.size();

  auto& listeners = testing::UnitTest::GetInstance()->listeners();
  auto* recorder = new FailureRecorder;  // owned by gtest
  listeners.Append(recorder);
  if (rank != 0) delete listeners.Release(listeners.default_result_printer());

  const int local_failed = RUN_ALL_TESTS() != 0 ? 1 : 0;

  const auto per_rank = gather_to_root(recorder->failures(), rank, size);
  for (int r = 1; r < static_cast<int>(per_rank.size()); ++r) {
    if (per_rank[static_cast<std::size_t>(r)].empty()) continue;
    std::printf("[Rank %d/%d] failures:\n%s", r, size, per_rank[static_cast<std::size_t>(r)].c_str());
  }
  int any_failed = 0;
  MPI_Allreduce(&local_failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (rank == 0 && any_failed && !local_failed) std::printf("FAILED on another rank (see above)\n");
  std::fflush(stdout);
  return any_failed;
}
