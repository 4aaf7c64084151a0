#!/usr/bin/env python3
"""Python baselines for scripts/bench_executor.sh, measured the same way as
mr_example_executor_bench: trivial tasks through concurrent.futures.ProcessPoolExecutor.

  bench_executor.py submit TASKS WORKERS   submit() every task, then result() of each
  bench_executor.py gather TASKS WORKERS   asyncio: loop.run_in_executor() per task + gather()

Prints `<mode> <tasks> <workers> <seconds> <tasks per second>`.
"""
import asyncio
import sys
import time
from concurrent.futures import ProcessPoolExecutor


def identity(x):
    return x


def bench_submit(executor, tasks):
    futures = [executor.submit(identity, i) for i in range(tasks)]
    return sum(f.result() for f in futures)


async def bench_gather(executor, tasks):
    loop = asyncio.get_running_loop()
    results = await asyncio.gather(*(loop.run_in_executor(executor, identity, i) for i in range(tasks)))
    return sum(results)


def main():
    mode, tasks, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with ProcessPoolExecutor(max_workers=workers) as executor:
        bench_submit(executor, 1000)  # warm-up, as the C++ bench
        start = time.perf_counter()
        total = bench_submit(executor, tasks) if mode == "submit" else asyncio.run(bench_gather(executor, tasks))
        seconds = time.perf_counter() - start
    assert total == tasks * (tasks - 1) // 2
    print("%s %d %d %.4f %.0f" % (mode, tasks, workers, seconds, tasks / seconds))


if __name__ == "__main__":
    main()
