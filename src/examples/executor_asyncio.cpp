// asyncio in C++: an event loop awaiting process-pool work with run_in_executor and gather.
// Python:
//     with ProcessPoolExecutor() as pool:
//         loop = asyncio.get_running_loop()
//         results = await asyncio.gather(*[loop.run_in_executor(pool, count, 100) for _ in range(2)])
//
//   mr_example_executor_asyncio
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <vector>

#include "mr/mr.hpp"

long count(long n) {
  long i = 0;
  while (i < n) i = i + 1;
  return i;
}
MR_TASK(count);

int main(int argc, char** argv) {
  mr::Runtime runtime(argc, argv);
  mr::ProcessPoolExecutor pool(2);
  boost::asio::io_context loop;
  boost::asio::co_spawn(loop, [&]() -> boost::asio::awaitable<void> {
    auto [a, b] = co_await mr::gather(mr::run_in_executor(pool, count, 100L), mr::run_in_executor(pool, count, 200L));
    std::printf("gather of two: %ld %ld\n", a, b);

    std::vector<boost::asio::awaitable<long>> calls;
    for (long n = 0; n < 10; ++n) calls.push_back(mr::run_in_executor(pool, count, n * 1000));
    for (long result : co_await mr::gather(std::move(calls))) std::printf("%ld ", result);
    std::printf("\n");
  }, boost::asio::detached);
  loop.run();
  return 0;
}
