// Worker deaths, terminate() and teardown. Runs singleton only: under mpirun a dying worker
// takes the whole job down unless OMPI_MCA_orte_enable_recovery=1.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mr/mr.hpp"
#include "mr/process.hpp"

namespace {

// CPU-time figures mean nothing under a sanitizer (its runtime threads and instrumented code
// account for the time); the normal build measures them.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizedBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitizedBuild = true;
#else
constexpr bool kSanitizedBuild = false;
#endif
#else
constexpr bool kSanitizedBuild = false;
#endif

long square(long n) { return n * n; }
MR_TASK(square);

long crash_abort(long) { std::abort(); }
MR_TASK(crash_abort);

long crash_segfault(long n) {
  volatile long* nothing = nullptr;
  std::raise(SIGSEGV);  // a real invalid access can be optimised in odd ways; SIGSEGV is the same death
  return *nothing + n;
}
MR_TASK(crash_segfault);

long crash_exit(long) { std::exit(3); }
MR_TASK(crash_exit);

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }
MR_TASK(sleep_ms);

long throw_runtime(long) { throw std::runtime_error("task failed on purpose"); }
MR_TASK(throw_runtime);

void init_fails(int code) { throw std::logic_error("initializer failed with " + std::to_string(code)); }
MR_TASK(init_fails);

long init_value = 0;  // set in each worker by the initializer
void init_store(long v) { init_value = v; }
MR_TASK(init_store);
long read_init(long add) { return init_value + add; }
MR_TASK(read_init);

/// A process counts as alive while /proc shows it in any state but zombie. The stat file is the
/// only source: a kill(pid, 0) probe first raced with the reaping (CI, 2026-12-05: the zombie was
/// reaped between the probe and the read, and the empty read counted as alive).
bool alive(int pid) {
  if (pid <= 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;  // reaped: gone
  const auto close = line.rfind(')');
  if (close == std::string::npos || line.size() <= close + 2) return false;  // vanished mid-read
  return line[close + 2] != 'Z';
}

/// Worker processes must be gone shortly after their pool.
void expect_gone(const std::vector<int>& pids) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (int pid : pids) {
    while (alive(pid) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    EXPECT_FALSE(alive(pid)) << "orphaned worker " << pid << ": " << line;
  }
}

template <class Crash>
void expect_crash_breaks_pool(Crash crash, mr::PoolTransport transport = mr::PoolTransport::shared_memory) {
  std::vector<int> pids;
  {
    mr::ProcessPool pool(mr::PoolOptions{.processes = 2, .transport = transport});
    pids = pool.worker_pids();
    EXPECT_EQ(pool.apply(square, 3L), 9L);
    std::vector<mr::AsyncResult<long>> queued;
    for (long i = 0; i < 20; ++i) queued.push_back(pool.apply_async(square, i));
    for (long i = 0; i < 20; ++i) EXPECT_EQ(queued[static_cast<std::size_t>(i)].get(), i * i);
    auto crashed = pool.apply_async(crash, 1L);
    // Some of these run on the other worker when the crash is noticed, others wait in queues:
    // all must fail, none may hang. They outlast the slowest crash seen (exit() under TSan
    // takes over a second); the broken pool kills their worker, so the test does not wait.
    std::vector<mr::AsyncResult<void>> after;
    for (int i = 0; i < 6; ++i) after.push_back(pool.apply_async(sleep_ms, 10000));
    EXPECT_THROW(crashed.get(std::chrono::seconds(20)), mr::BrokenPool);
    for (auto& r : after) EXPECT_THROW(r.get(std::chrono::seconds(20)), mr::BrokenPool);
    EXPECT_TRUE(pool.broken());
    EXPECT_THROW(pool.apply(square, 1L), mr::BrokenPool);
  }
  expect_gone(pids);
  mr::ProcessPool fresh(2);  // the program carries on with a new pool
  EXPECT_EQ(fresh.apply(square, 4L), 16L);
}

TEST(PoolFaults, AbortInAWorkerBreaksThePoolNotTheParent) { expect_crash_breaks_pool(crash_abort); }
TEST(PoolFaults, SegfaultInAWorkerBreaksThePool) { expect_crash_breaks_pool(crash_segfault); }
TEST(PoolFaults, ExitInAWorkerBreaksThePool) { expect_crash_breaks_pool(crash_exit); }
TEST(PoolFaults, AbortInAWorkerBreaksAnMpiOnlyPool) { expect_crash_breaks_pool(crash_abort, mr::PoolTransport::mpi); }

// Workers on another host cannot be watched through their pids; they send heartbeats over
// MPI instead. watch_pids=false makes local workers stand in for remote ones.
TEST(PoolFaults, HeartbeatsKeepALongTaskAliveAndFindASilentWorker) {
  namespace detail = mr::detail;
  detail::PoolCoreOptions options;
  options.processes = 1;
  options.shm_ring_bytes = 0;  // heartbeats travel over MPI, like a remote worker's
  options.watch_pids = false;
  options.heartbeat_interval = std::chrono::milliseconds(100);
  options.missed_heartbeats = 5;
  detail::PoolCore core(options);
  auto submit = [&](auto function, auto argument) {
    detail::Bytes payload;
    detail::encode_call_args<detail::params_tuple_t<decltype(function)>>(payload, argument);
    return core.submit_raw(detail::task_name_of(detail::function_key(function)), std::move(payload));
  };
  // Three times the silence limit: the worker's heartbeat thread speaks while the task runs.
  EXPECT_NO_THROW(submit(sleep_ms, 1500)->get(std::chrono::seconds(20)));
  const auto start = std::chrono::steady_clock::now();
  auto crashed = submit(crash_exit, 1L);
  try {
    crashed->get(std::chrono::seconds(20));
    ADD_FAILURE() << "a dead worker's task succeeded";
  } catch (const mr::BrokenPool& e) {
    EXPECT_NE(std::string(e.what()).find("heartbeat"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_TRUE(core.broken());
}

TEST(PoolFaults, TerminateWithTasksInFlight) {
  mr::ProcessPool pool(2);
  const auto pids = pool.worker_pids();
  std::vector<mr::AsyncResult<void>> results;
  for (int i = 0; i < 6; ++i) results.push_back(pool.apply_async(sleep_ms, 10000));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto start = std::chrono::steady_clock::now();
  pool.terminate();
  // SIGKILL is immediate; the teardown may wait up to 3 s for the per-host spawn lock when
  // another pool (a parallel test) is starting, hence 5 s. The 10 s tasks must not be awaited.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  for (auto& r : results) EXPECT_THROW(r.get(std::chrono::seconds(1)), mr::BrokenPool);
  EXPECT_THROW(pool.apply(square, 1L), mr::StateError);
  pool.join();
  expect_gone(pids);
}

TEST(PoolFaults, DestructorTerminatesWhenLeftByAnException) {
  std::vector<int> pids;
  mr::AsyncResult<void> pending;
  auto start = std::chrono::steady_clock::now();
  try {
    mr::ProcessPool pool(2);
    pids = pool.worker_pids();
    start = std::chrono::steady_clock::now();
    pending = pool.apply_async(sleep_ms, 10000);
    throw std::runtime_error("leave the scope");
  } catch (const std::runtime_error&) {
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_THROW(pending.get(std::chrono::seconds(1)), mr::BrokenPool);
  expect_gone(pids);
}

TEST(PoolFaults, NormalCloseLeavesNoWorkers) {
  std::vector<int> pids;
  {
    mr::ProcessPool pool(2);
    pids = pool.worker_pids();
    EXPECT_EQ(pool.map(square, std::vector<long>{1, 2, 3}), (std::vector<long>{1, 4, 9}));
  }
  expect_gone(pids);
}

double cpu_seconds(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i)
    if (i >= 14) ticks += std::stod(field);  // utime + stime
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

TEST(PoolFaults, AnIdlePoolUsesAlmostNoCpu) {
  if (kSanitizedBuild) GTEST_SKIP() << "CPU time is measured in the normal build";
  mr::ProcessPool pool(2);
  EXPECT_EQ(pool.map(square, std::vector<long>(1000, 3)).size(), 1000u);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::vector<int> pids = pool.worker_pids();
  pids.push_back(static_cast<int>(getpid()));
  double before = 0, after = 0;
  for (int pid : pids) before += cpu_seconds(pid);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  for (int pid : pids) after += cpu_seconds(pid);
  EXPECT_LT(after - before, 0.05) << "an idle pool of 2 must use < 5% of one core";
}

TEST(PoolFaults, Initializer) {
  mr::ProcessPool pool(mr::PoolOptions{.processes = 2}, init_store, 100L);
  EXPECT_EQ(pool.map(read_init, std::vector<long>{1, 2, 3, 4}, 1), (std::vector<long>{101, 102, 103, 104}));
  pool.close();
  pool.join();

  mr::ProcessPool failing(mr::PoolOptions{.processes = 1}, init_fails, 7);
  try {
    failing.apply(square, 2L);
    FAIL() << "expected BrokenPool";
  } catch (const mr::BrokenPool& e) {
    EXPECT_NE(std::string(e.what()).find("initializer failed with 7"), std::string::npos) << e.what();
  }
}

TEST(PoolFaults, ProcessStartJoinResult) {
  mr::Process p(square, 12L);
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(p.exitcode(), std::nullopt);
  p.start();
  EXPECT_NE(p.pid(), 0);
  EXPECT_NE(p.pid(), getpid());
  p.join();
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(p.result(), 144L);
  EXPECT_THROW(p.start(), mr::StateError);

  mr::Process failing(throw_runtime, 1L);
  failing.start();
  failing.join();
  EXPECT_EQ(failing.exitcode(), 1);
  EXPECT_THROW(failing.result(), mr::RemoteError);

  mr::Process slow(sleep_ms, 5000);
  slow.start();
  slow.join(std::chrono::milliseconds(50));
  EXPECT_TRUE(slow.is_alive());
  const int pid = slow.pid();
  slow.terminate();
  slow.join();
  EXPECT_FALSE(slow.is_alive());
  EXPECT_EQ(slow.exitcode(), -SIGKILL);
  expect_gone({pid});

  mr::Process crashing(crash_abort, 1L);
  crashing.start();
  crashing.join(std::chrono::seconds(20));
  EXPECT_EQ(crashing.exitcode(), -1);
  EXPECT_THROW(crashing.result(), mr::BrokenPool);
}

}  // namespace
