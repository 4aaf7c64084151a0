#!/usr/bin/env python3
"""Python baselines for scripts/bench_executor.sh, measured the same way as
mr_example_executor_bench: trivial tasks through concurrent.futures.ProcessPoolExecutor.

  bench_executor.py submit TASKS WORKERS [comm]     submit() every task, then result() of each
  bench_executor.py gather TASKS WORKERS [comm]     asyncio: loop.run_in_executor() per task + gather()
  bench_executor.py roundtrip TASKS WORKERS [comm]  one submit().result() at a time

comm: mpi4py.futures.MPICommExecutor over the job's ranks instead of a ProcessPoolExecutor
(run under mpirun -np WORKERS+1; the other ranks serve).

Prints `<mode> <tasks> <workers> <seconds> <tasks per second> <median µs>` (roundtrip's median
round trip; 0 otherwise).
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


def bench_roundtrip(executor, tasks, micros):
    total = 0
    for i in range(tasks):
        start = time.perf_counter()
        total += executor.submit(identity, i).result()
        micros.append((time.perf_counter() - start) * 1e6)
    return total


def measure(executor, mode, tasks, workers):
    bench_submit(executor, 1000)  # warm-up, as the C++ bench
    micros = []
    start = time.perf_counter()
    if mode == "submit":
        total = bench_submit(executor, tasks)
    elif mode == "gather":
        total = asyncio.run(bench_gather(executor, tasks))
    else:
        total = bench_roundtrip(executor, tasks, micros)
    seconds = time.perf_counter() - start
    assert total == tasks * (tasks - 1) // 2
    median = sorted(micros)[len(micros) // 2] if micros else 0.0
    print("%s %d %d %.4f %.0f %.1f" % (mode, tasks, workers, seconds, tasks / seconds, median))


def main():
    mode, tasks, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if len(sys.argv) > 4 and sys.argv[4] == "comm":
        from mpi4py import MPI
        from mpi4py.futures import MPICommExecutor
        with MPICommExecutor(MPI.COMM_WORLD, root=0) as executor:
            if executor is not None:
                measure(executor, mode, tasks, workers)
        return
    with ProcessPoolExecutor(max_workers=workers) as executor:
        measure(executor, mode, tasks, workers)


if __name__ == "__main__":
    main()
