// Throughput of the executor layer, for scripts/bench_executor.sh:
//   mr_example_executor_bench submit  TASKS WORKERS   -> tasks/s of submit + result
//   mr_example_executor_bench gather  TASKS WORKERS   -> tasks/s of run_in_executor + gather
// Each prints one line: `<mode> <tasks> <workers> <seconds> <tasks per second>`.
// Tasks are trivial (an integer identity), so the figure is the per-task overhead.
#include <boost/asio/io_context.hpp>

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

long bench_submit(mr::ProcessPoolExecutor& executor, long tasks) {
  std::vector<mr::Future<long>> futures;
  futures.reserve(static_cast<std::size_t>(tasks));
  for (long i = 0; i < tasks; ++i) futures.push_back(executor.submit(identity, i));
  long sum = 0;
  for (auto& f : futures) sum += f.result();
  return sum;
}

long bench_gather(mr::ProcessPoolExecutor& executor, long tasks) {
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

}  // namespace

int main(int argc, char** argv) {
  mr::Runtime runtime(argc, argv);
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s submit|gather TASKS WORKERS\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  const long tasks = std::atol(argv[2]);
  const long workers = std::atol(argv[3]);
  if ((mode != "submit" && mode != "gather") || tasks < 1 || workers < 1) {
    std::fprintf(stderr, "usage: %s submit|gather TASKS WORKERS (TASKS, WORKERS >= 1)\n", argv[0]);
    return 2;
  }
  mr::ProcessPoolExecutor executor(static_cast<std::size_t>(workers));
  bench_submit(executor, 1000);  // warm-up: workers up, first batches through
  const auto start = std::chrono::steady_clock::now();
  const long sum = mode == "submit" ? bench_submit(executor, tasks) : bench_gather(executor, tasks);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (sum != tasks * (tasks - 1) / 2) {
    std::fprintf(stderr, "executor_bench: wrong sum %ld\n", sum);
    return 1;
  }
  std::printf("%s %ld %ld %.4f %.0f\n", mode.c_str(), tasks, workers, seconds, static_cast<double>(tasks) / seconds);
  return 0;
}
