// Pool micro-benchmarks (run by scripts/bench_pool.sh next to Python's multiprocessing):
//   mr_example_bench_pool [--workers N] [--quick]
// Prints one "name value unit" line per measurement.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "mr/mr.hpp"

long identity(long n) { return n; }
MR_TASK(identity);

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// utime + stime of a process in seconds (all its threads), from /proc/<pid>/stat.
double cpu_seconds(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  if (close == std::string::npos) return 0;
  // Fields after the command: state(3) ... utime(14) stime(15).
  std::vector<std::string> fields;
  std::size_t at = close + 2;
  while (at < line.size()) {
    const auto end = line.find(' ', at);
    fields.push_back(line.substr(at, end - at));
    if (end == std::string::npos) break;
    at = end + 1;
  }
  if (fields.size() < 13) return 0;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
}

}  // namespace

int main(int argc, char** argv) {
  mr::Runtime runtime(argc, argv);
  int workers = 2;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--workers") == 0 && i + 1 < argc) workers = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--quick") == 0) quick = true;
  }
  const long round_trips = quick ? 2000 : 20000;
  const long async_tasks = quick ? 50000 : 500000;
  const long map_items = quick ? 100000 : 1000000;

  // Start-up: constructor returns once every worker has reported in; plus one round trip.
  auto start = Clock::now();
  mr::ProcessPool pool(workers);
  pool.apply(identity, 0L);
  std::printf("startup %.3f s\n", seconds_since(start));

  for (int i = 0; i < 1000; ++i) pool.apply(identity, 1L);  // warm up
  std::vector<double> times;
  times.reserve(static_cast<std::size_t>(round_trips));
  for (long i = 0; i < round_trips; ++i) {
    const auto t = Clock::now();
    if (pool.apply(identity, i) != i) return 1;
    times.push_back(seconds_since(t));
  }
  std::sort(times.begin(), times.end());
  std::printf("apply_median %.1f us\n", times[times.size() / 2] * 1e6);
  std::printf("apply_p99 %.1f us\n", times[times.size() * 99 / 100] * 1e6);

  start = Clock::now();
  std::vector<mr::AsyncResult<long>> results;
  results.reserve(static_cast<std::size_t>(async_tasks));
  for (long i = 0; i < async_tasks; ++i) results.push_back(pool.apply_async(identity, i));
  long sum = 0;
  for (auto& r : results) sum += r.get();
  const double async_s = seconds_since(start);
  if (sum != async_tasks * (async_tasks - 1) / 2) return 1;
  std::printf("apply_async %.0f tasks/s\n", static_cast<double>(async_tasks) / async_s);
  results.clear();

  std::vector<long> inputs(static_cast<std::size_t>(map_items));
  for (long i = 0; i < map_items; ++i) inputs[static_cast<std::size_t>(i)] = i;
  start = Clock::now();
  const auto mapped = pool.map(identity, inputs);
  const double map_s = seconds_since(start);
  if (mapped != inputs) return 1;
  std::printf("map_%ld %.3f s\n", map_items, map_s);

  // Idle cost: CPU time of the parent (all threads) and the workers over 2 s of doing nothing.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::vector<int> pids = pool.worker_pids();
  pids.push_back(static_cast<int>(getpid()));
  double before = 0;
  for (int pid : pids) before += cpu_seconds(pid);
  const auto idle_start = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  double after = 0;
  for (int pid : pids) after += cpu_seconds(pid);
  std::printf("idle_cpu %.2f %%\n", 100.0 * (after - before) / seconds_since(idle_start));
  return 0;
}
