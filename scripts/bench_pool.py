#!/usr/bin/env python3
"""Python baseline for scripts/bench_pool.sh: multiprocessing.Pool and ProcessPoolExecutor
with the same worker count and the same measurements as mr_example_bench_pool.
Prints `<impl> <metric> <value> <unit>` lines."""
import argparse
import concurrent.futures as cf
import multiprocessing as mp
import os
import statistics
import time


def identity(n):
    return n


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def chunksize_for(items, workers):
    chunk, extra = divmod(items, workers * 4)
    return chunk + (1 if extra else 0)


def bench(impl, workers, round_trips, async_tasks, map_items):
    out = []
    start = time.perf_counter()
    if impl == "mp.Pool":
        pool = mp.Pool(workers)
        apply = lambda x: pool.apply(identity, (x,))
        submit = lambda x: pool.apply_async(identity, (x,))
        get = lambda r: r.get()
        pmap = lambda xs: pool.map(identity, xs)
        pids = [p.pid for p in pool._pool]
    else:
        pool = cf.ProcessPoolExecutor(workers)
        apply = lambda x: pool.submit(identity, x).result()
        submit = lambda x: pool.submit(identity, x)
        get = lambda r: r.result()
        pmap = lambda xs: list(pool.map(identity, xs, chunksize=chunksize_for(len(xs), workers)))
        pids = None
    apply(0)
    out.append(("startup", time.perf_counter() - start, "s"))
    for _ in range(200):
        apply(1)
    times = []
    for i in range(round_trips):
        t = time.perf_counter()
        apply(i)
        times.append(time.perf_counter() - t)
    times.sort()
    out.append(("apply_median", statistics.median(times) * 1e6, "us"))
    out.append(("apply_p99", times[len(times) * 99 // 100] * 1e6, "us"))
    start = time.perf_counter()
    results = [submit(i) for i in range(async_tasks)]
    total = sum(get(r) for r in results)
    assert total == async_tasks * (async_tasks - 1) // 2
    out.append(("apply_async", async_tasks / (time.perf_counter() - start), "tasks/s"))
    xs = list(range(map_items))
    start = time.perf_counter()
    assert pmap(xs) == xs
    out.append((f"map_{map_items}", time.perf_counter() - start, "s"))
    if pids is None:
        pids = [p.pid for p in pool._processes.values()]
    time.sleep(0.2)
    pids = pids + [os.getpid()]
    before = sum(cpu_seconds(p) for p in pids)
    t = time.perf_counter()
    time.sleep(2)
    after = sum(cpu_seconds(p) for p in pids)
    out.append(("idle_cpu", 100 * (after - before) / (time.perf_counter() - t), "%"))
    if impl == "mp.Pool":
        pool.close()
        pool.join()
    else:
        pool.shutdown()
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = (2000, 20000, 100000) if args.quick else (5000, 100000, 1000000)
    for impl in ("mp.Pool", "ProcessPoolExecutor"):
        for metric, value, unit in bench(impl, args.workers, *sizes):
            print(impl, metric, f"{value:.3f}", unit, flush=True)


if __name__ == "__main__":
    main()
