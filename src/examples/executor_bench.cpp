// Throughput of the executor layer, for scripts/bench_executor.sh:
//   mr_example_executor_bench submit    TASKS WORKERS [spawn|comm] -> tasks/s of submit + result
//   mr_example_executor_bench gather    TASKS WORKERS [spawn|comm] -> tasks/s of run_in_executor + gather
//   mr_example_executor_bench roundtrip TASKS WORKERS [spawn|comm] -> one submit(...).result() at a time
// spawn (default): a ProcessPoolExecutor of WORKERS spawned processes; comm: a CommExecutor
// over the job's ranks (run it under mpirun -np WORKERS+1).
// Each prints one line: `<mode> <tasks> <workers> <seconds> <tasks per second> <median µs>`
// (the median round trip, for roundtrip; 0 otherwise).
// Tasks are trivial (an integer identity), so the figure is the per-task overhead.
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "mr/mr.hpp"

namespace {

long identity(long x) { return x; }
MR_TASK(identity);

namespace asio = boost::asio;

template <mr::Executor E>
long bench_submit(E& executor, long tasks) {
  std::vector<mr::Future<long>> futures;
  futures.reserve(static_cast<std::size_t>(tasks));
  for (long i = 0; i < tasks; ++i) futures.push_back(executor.submit(identity, i));
  long sum = 0;
  for (auto& f : futures) sum += f.result();
  return sum;
}

template <mr::Executor E>
long bench_gather(E& executor, long tasks) {
  asio::io_context loop;
  long sum = 0;
  asio::co_spawn(loop, [&]() -> asio::awaitable<void> {
    std::vector<asio::awaitable<long>> calls;
    calls.reserve(static_cast<std::size_t>(tasks));
    for (long i = 0; i < tasks; ++i) calls.push_back(mr::run_in_executor(executor, identity, i));
    for (long v : co_await mr::gather(std::move(calls))) sum += v;
  }, asio::detached);
  loop.run();
  return sum;
}

/// One call at a time; the median round trip goes to `median_us`.
template <mr::Executor E>
long bench_roundtrip(E& executor, long tasks, double& median_us) {
  std::vector<double> micros;
  micros.reserve(static_cast<std::size_t>(tasks));
  long sum = 0;
  for (long i = 0; i < tasks; ++i) {
    const auto start = std::chrono::steady_clock::now();
    sum += executor.submit(identity, i).result();
    micros.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(micros.begin(), micros.begin() + static_cast<long>(micros.size() / 2), micros.end());
  median_us = micros[micros.size() / 2];
  return sum;
}

template <mr::Executor E>
int run(E& executor, const std::string& mode, long tasks, long workers) {
  bench_submit(executor, 1000);  // warm-up: workers up, first batches through
  double median_us = 0;
  const auto start = std::chrono::steady_clock::now();
  const long sum = mode == "submit"   ? bench_submit(executor, tasks)
                   : mode == "gather" ? bench_gather(executor, tasks)
                                      : bench_roundtrip(executor, tasks, median_us);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (sum != tasks * (tasks - 1) / 2) {
    std::fprintf(stderr, "executor_bench: wrong sum %ld\n", sum);
    return 1;
  }
  std::printf("%s %ld %ld %.4f %.0f %.1f\n", mode.c_str(), tasks, workers, seconds, static_cast<double>(tasks) / seconds,
              median_us);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  mr::Runtime runtime(argc, argv);
  const std::string kind = argc == 5 ? argv[4] : "spawn";
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: %s submit|gather|roundtrip TASKS WORKERS [spawn|comm]\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  const long tasks = std::atol(argv[2]);
  const long workers = std::atol(argv[3]);
  if ((mode != "submit" && mode != "gather" && mode != "roundtrip") || tasks < 1 || workers < 1 ||
      (kind != "spawn" && kind != "comm")) {
    std::fprintf(stderr, "usage: %s submit|gather|roundtrip TASKS WORKERS [spawn|comm] (TASKS, WORKERS >= 1)\n",
                 argv[0]);
    return 2;
  }
  if (kind == "comm") {
    mr::CommExecutor executor;
    if (!executor.is_root()) return 0;
    if (executor.max_workers() != static_cast<std::size_t>(workers)) {
      std::fprintf(stderr, "executor_bench: run comm under mpirun -np %ld\n", workers + 1);
      return 2;
    }
    return run(executor, mode, tasks, workers);
  }
  mr::ProcessPoolExecutor executor(static_cast<std::size_t>(workers));
  return run(executor, mode, tasks, workers);
}
