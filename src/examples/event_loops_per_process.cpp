// Multiple processes, multiple event loops: every pool task runs its own Boost.Asio
// io_context with many concurrent coroutines and returns one result to the parent, which
// itself awaits the tasks from its own event loop (run_in_executor + gather).
//
//   mr_example_event_loops_per_process [PROCESSES] [TASKS] [COROUTINES_PER_TASK]
//
// Each coroutine stands in for an I/O-bound request: it waits on a timer (2-20 ms) and
// then returns a small number. 1,000 such waits take ~20 ms in one loop, not 10 s.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "mr/mr.hpp"

namespace asio = boost::asio;

namespace {

/// One simulated request: waits, then answers with its own id's last digit.
asio::awaitable<long> fake_request(long id) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(std::chrono::milliseconds(2 + (id * 7919) % 19));
  co_await timer.async_wait(asio::use_awaitable);
  co_return id % 10;
}

/// The task: an event loop of `coroutines` concurrent requests, run inside a worker process.
long run_requests(long first_id, long coroutines) {
  asio::io_context loop;
  long total = 0;
  asio::co_spawn(loop, [&]() -> asio::awaitable<void> {
    std::vector<asio::awaitable<long>> requests;
    for (long i = 0; i < coroutines; ++i) requests.push_back(fake_request(first_id + i));
    for (long answer : co_await mr::gather(std::move(requests))) total += answer;
  }, asio::detached);
  loop.run();
  return total;
}

}  // namespace

MR_TASK(run_requests);

int main(int argc, char** argv) {
  mr::Runtime runtime(argc, argv);  // workers serve tasks here
  const long processes = argc > 1 ? std::atol(argv[1]) : 2;
  const long tasks = argc > 2 ? std::atol(argv[2]) : 4;
  const long per_task = argc > 3 ? std::atol(argv[3]) : 1000;
  if (processes < 1 || tasks < 1 || per_task < 1) {
    std::fprintf(stderr, "usage: %s [PROCESSES] [TASKS] [COROUTINES_PER_TASK] (all >= 1)\n", argv[0]);
    return 2;
  }
  mr::ProcessPoolExecutor executor(static_cast<std::size_t>(processes));
  const auto start = std::chrono::steady_clock::now();

  asio::io_context loop;  // the parent's own event loop
  std::vector<long> totals;
  asio::co_spawn(loop, [&]() -> asio::awaitable<void> {
    std::vector<asio::awaitable<long>> calls;
    for (long t = 0; t < tasks; ++t) calls.push_back(mr::run_in_executor(executor, run_requests, t * per_task, per_task));
    totals = co_await mr::gather(std::move(calls));
  }, asio::detached);
  loop.run();

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  long sum = 0, expected = 0;
  for (std::size_t t = 0; t < totals.size(); ++t) {
    std::printf("task %zu: %ld requests answered, total %ld\n", t, per_task, totals[t]);
    sum += totals[t];
  }
  for (long id = 0; id < tasks * per_task; ++id) expected += id % 10;
  std::printf("%ld requests in %ld event loops on %ld processes: %.3f s\n", tasks * per_task, tasks, processes, seconds);
  return sum == expected ? 0 : 1;
}
