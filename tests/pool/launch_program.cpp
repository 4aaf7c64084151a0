// A whole pool program for tests/pool/launch_test.py: the same code runs its workers as
// spawned processes or, in world mode, as ranks 1..N-1 of the job (issue 11).
//   launch_program results <processes> [in-code|runtime]  deterministic results of every pool
//                                                  call (world mode set in PoolOptions / Runtime)
//   launch_program concurrent                      a second world-mode pool while one lives
//   launch_program sizes                           pools of 1, 2 and 4 workers
//   launch_program refused <processes>             a pool larger than the job's free slots
//   launch_program hosts [hostfile]                a pool placed with PoolOptions::hosts / hostfile
//   launch_program deadrank [world]                a serving rank of a CommExecutor (or of a
//                                                  world-mode pool) dies in a task
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "mr/mr.hpp"
#include "pool_test_tasks.hpp"

namespace {

using mr_test::pid_of_worker;
using mr_test::processes_of_this_job;
using mr_test::square;

long add(long a, long b) { return a + b; }
MR_TASK(add);

std::optional<mr::PoolLaunch> in_code(int argc, char** argv) {
  if (argc > 3 && std::string(argv[3]) == "in-code") return mr::PoolLaunch::world;
  return std::nullopt;
}

int results(int processes, std::optional<mr::PoolLaunch> launch) {
  std::set<long> pids;
  {
    mr::ProcessPool pool(mr::PoolOptions{.processes = processes, .launch = launch});
    std::printf("apply %ld\n", pool.apply(square, 7L));
    auto async = pool.apply_async(add, 2L, 3L);
    std::vector<long> inputs;
    for (long i = -20; i < 80; ++i) inputs.push_back(i);
    std::printf("map");
    for (long v : pool.map(square, inputs, 7)) std::printf(" %ld", v);
    std::printf("\nimap");
    for (long v : pool.imap(square, inputs, 3)) std::printf(" %ld", v);
    std::printf("\nstarmap");
    for (long v : pool.starmap(add, std::vector<std::tuple<long, long>>{{1, 2}, {3, 4}, {5, 6}})) std::printf(" %ld", v);
    std::printf("\nasync %ld\n", async.get());
    for (long pid : pool.map(pid_of_worker, std::vector<long>(64, 0L), 1)) pids.insert(pid);
    std::fprintf(stderr, "workers %d job_processes %d\n", pool.processes(), processes_of_this_job());
  }
  // A second pool after the first: in world mode the same ranks serve it.
  mr::ProcessPoolExecutor executor(mr::PoolOptions{.processes = processes, .launch = launch});
  long sum = 0;
  for (long v : executor.map(square, std::vector<long>{1, 2, 3, 4}, {.chunksize = 2})) sum += v;
  std::printf("executor %ld\n", sum);
  std::fprintf(stderr, "root_runs_tasks %d\n", static_cast<int>(pids.count(getpid())));
  return 0;
}

int concurrent() {
  mr::ProcessPool first(mr::PoolOptions{.launch = mr::PoolLaunch::world});
  std::printf("first %ld\n", first.apply(square, 3L));
  try {
    mr::ProcessPool second(mr::PoolOptions{.start_timeout = std::chrono::seconds(1), .launch = mr::PoolLaunch::world});
    std::printf("second pool started (unexpected)\n");
  } catch (const mr::UsageError& e) {
    std::printf("second: %s\n", e.what());
  }
  std::printf("first again %ld\n", first.apply(square, 4L));
  return 0;
}

int sizes() {
  for (int workers : {1, 2, 4}) {
    mr::ProcessPoolExecutor executor(static_cast<std::size_t>(workers));
    std::set<long> pids;
    for (long pid : executor.map(pid_of_worker, std::vector<long>(8 * workers, 0L))) pids.insert(pid);
    std::printf("pool of %d: %zu workers, %zu answered\n", workers, executor.max_workers(), pids.size());
  }
  return 0;
}

int hosts(const std::string& hostfile) {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  mr::PoolOptions options{.processes = 2};
  if (hostfile.empty()) {
    options.hosts = {std::string(name) + ":4"};
  } else {
    options.hostfile = hostfile;
  }
  mr::ProcessPoolExecutor executor(options);
  long sum = 0;
  for (long v : executor.map(square, std::vector<long>{1, 2, 3})) sum += v;
  std::printf("placed pool: %zu workers, sum %ld\n", executor.max_workers(), sum);
  try {
    mr::ProcessPool bad(mr::PoolOptions{.launch = mr::PoolLaunch::world, .hosts = {name}});
  } catch (const mr::UsageError& e) {
    std::printf("world with hosts: %s\n", e.what());
  }
  return 0;
}

long die(long) { std::abort(); }
MR_TASK(die);

/// A serving rank aborts in the middle of a task (run with `mpirun --enable-recovery`, else the
/// launcher ends the job): the root's futures fail with BrokenPool, in bounded time.
/// `deadrank world`: the same with a world-mode ProcessPool, whose ranks serve until the end.
int deadrank(bool world) {
  std::optional<mr::CommExecutor> comm;
  std::optional<mr::ProcessPoolExecutor> pool;
  if (world) {
    pool.emplace(mr::PoolOptions{.launch = mr::PoolLaunch::world});
  } else {
    comm.emplace(MPI_COMM_WORLD);
    if (!comm->is_root()) return 0;
  }
  auto submit = [&](auto task, long x) { return world ? pool->submit(task, x) : comm->submit(task, x); };
  std::printf("before %ld\n", submit(square, 6L).result());
  const auto start = std::chrono::steady_clock::now();
  try {
    auto dying = submit(die, 0L);
    std::vector<mr::Future<long>> others;
    for (long i = 0; i < 50; ++i) others.push_back(submit(square, i));
    dying.result(std::chrono::seconds(60));
    std::printf("the dying task returned (unexpected)\n");
    return 1;
  } catch (const mr::BrokenPool& e) {
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    std::printf("broken after %.1f s: %s\n", took.count(), e.what());
  }
  std::fflush(stdout);
  return 0;
}

int refused(int processes) {
  const auto start = std::chrono::steady_clock::now();
  try {
    mr::ProcessPool pool(mr::PoolOptions{.processes = processes, .start_timeout = std::chrono::seconds(20)});
    std::printf("started %d workers (unexpected)\n", pool.processes());
    return 1;
  } catch (const mr::BrokenPool& e) {
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    std::printf("refused after %.1f s: %s\n", took.count(), e.what());
    return 0;
  }
}

}  // namespace

int main(int argc, char** argv) {
  // `results <n> runtime`: world mode chosen through mr::Runtime's argument.
  const bool runtime_world = argc > 3 && std::string(argv[3]) == "runtime";
  mr::Runtime runtime(argc, argv, runtime_world ? std::optional(mr::PoolLaunch::world) : std::nullopt);
  const std::string mode = argc > 1 ? argv[1] : "results";
  if (mode == "results") return results(argc > 2 ? std::stoi(argv[2]) : 0, in_code(argc, argv));
  if (mode == "concurrent") return concurrent();
  if (mode == "sizes") return sizes();
  if (mode == "hosts") return hosts(argc > 2 ? argv[2] : "");
  if (mode == "deadrank") return deadrank(argc > 2 && std::string(argv[2]) == "world");
  if (mode == "refused") return refused(argc > 2 ? std::stoi(argv[2]) : 4);
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
