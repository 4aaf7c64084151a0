// The cleanup done by SIGINT/SIGTERM/SIGHUP (mr/detail/signals.hpp), each case in a forked
// child so the real signal can end it.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "common/signals.hpp"

namespace {

namespace fs = std::filesystem;
using mr::detail::ChildProcessGuard;
using mr::detail::TempFileGuard;

fs::path scratch_file(const std::string& name) {
  const fs::path path = fs::temp_directory_path() / ("mr_signals_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(path) << "partial";
  return path;
}

// Runs `body` in a child process and returns its wait status.
template <class Body>
int run_in_child(Body body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    body();
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }

pid_t start_sleeper() {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execlp("sleep", "sleep", "60", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

class SignalCleanup : public testing::TestWithParam<int> {};

TEST_P(SignalCleanup, RemovesTempFileKillsChildAndDiesBySameSignal) {
  const int sig = GetParam();
  const fs::path temp = scratch_file("temp" + std::to_string(sig));
  const fs::path kept = scratch_file("kept" + std::to_string(sig));
  // The sleeper is a child of the child; its pid comes back through a pipe.
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const int status = run_in_child([&] {
    const pid_t sleeper = start_sleeper();
    [[maybe_unused]] auto written = ::write(pipe_fds[1], &sleeper, sizeof sleeper);
    ChildProcessGuard child(sleeper);
    TempFileGuard guard(temp.string());
    { TempFileGuard released(kept.string()); }  // renamed into place: no longer removed
    if (!guard.armed() || !child.armed()) ::_exit(3);
    ::raise(sig);
    ::_exit(4);  // not reached
  });
  pid_t sleeper = 0;
  ASSERT_EQ(::read(pipe_fds[0], &sleeper, sizeof sleeper), static_cast<ssize_t>(sizeof sleeper));
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit status " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), sig);
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_TRUE(fs::exists(kept));
  // The sleeper was re-parented to init (or a subreaper) once its parent died; it must be
  // gone, or a zombie waiting for that reaper.
  for (int i = 0; i < 100 && alive(sleeper); ++i) {
    std::ifstream stat("/proc/" + std::to_string(sleeper) + "/stat");
    std::string pid_field, comm, state;
    if (!(stat >> pid_field >> comm >> state) || state == "Z") break;
    ::usleep(10'000);
  }
  std::ifstream stat("/proc/" + std::to_string(sleeper) + "/stat");
  std::string pid_field, comm, state;
  if (stat >> pid_field >> comm >> state) EXPECT_EQ(state, "Z") << "sleeper " << sleeper << " still running";
  fs::remove(kept);
}

INSTANTIATE_TEST_SUITE_P(Signals, SignalCleanup, testing::Values(SIGINT, SIGTERM, SIGHUP));

TEST(SignalCleanup, IgnoredSignalStaysIgnored) {
  const int status = run_in_child([] {
    std::signal(SIGHUP, SIG_IGN);
    TempFileGuard guard("/nonexistent/mr_signals_never_created");
    ::raise(SIGHUP);
    ::_exit(0);
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(SignalCleanup, NoInterruptWithoutSignal) { EXPECT_EQ(mr::detail::interrupted_by(), 0); }

TEST(SignalCleanup, SlotsAreReusedAndBounded) {
  std::vector<std::optional<TempFileGuard>> guards(TempFileGuard::kMaxTempFiles);
  for (auto& guard : guards) {
    guard.emplace("/tmp/x");
    EXPECT_TRUE(guard->armed());
  }
  TempFileGuard overflow("/tmp/y");
  EXPECT_FALSE(overflow.armed());
  guards.front().reset();
  TempFileGuard reused("/tmp/z");
  EXPECT_TRUE(reused.armed());
  EXPECT_FALSE(TempFileGuard(std::string(PATH_MAX, 'a')).armed());
}

}  // namespace
