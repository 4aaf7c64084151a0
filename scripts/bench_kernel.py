#!/usr/bin/env python3
"""Per-rank kernel benchmark (issue 13), every row from the same run, inputs in page cache:

  - per-rank MB/s of the whitespace word count (prose) and the 1-gram job at -np 1 and -np 2
    (job time from the --json summary, median of N) and the 1->2 efficiency;
  - the start-up row: a whole `mpirun -np 2 mapreduce --top 1` of a 10 MB file, nothing set
    by the user, next to the same with OMPI_MCA_pml=ob1 set by hand;
  - the cardinality curve: 100 k, 1 M and 10 M distinct words (79 MB each, --top 1): job time
    and peak RSS per rank (the largest rank's), next to Python's collections.Counter (whole
    process) on the same files;
  - the single-core reference: scripts/tools/wc_reference.c (mmap, FNV-1a, open addressing,
    sort), whole process, against `mapreduce -np 1`, whole process and job time;
  - mr's FlatTable against abseil's flat_hash_map (heterogeneous lookup) on both map
    functions (scripts/tools/bench_table.cpp, one thread, best of N);
  - where a prose token's time goes (bench_table stages: tokenizer alone, adder alone, both
    over the file in memory and mapped; ns per token).

  scripts/bench_kernel.py                      # defaults: 500 MB prose, 515 MB 1-grams, median of 5
  MR_BENCH_RUNS=3 MR_BENCH_TEXT_SIZE=100M MR_BENCH_NGRAM_SIZE=100M scripts/bench_kernel.py  # quick
  MR_BENCH_BASELINE=/path/to/old/mapreduce ...  # the same rows for another build, interleaved (A/B)

Outputs of -np 1 and -np 2 (and of the baseline) are compared byte for byte.
"""
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("MR_BUILD_DIR", os.path.join(ROOT, "build"))
DATA = os.environ.get("MR_BENCH_DATA", os.path.join(ROOT, "data"))
RUNS = int(os.environ.get("MR_BENCH_RUNS", "5"))
TEXT_SIZE = os.environ.get("MR_BENCH_TEXT_SIZE", "500M")
NGRAM_SIZE = os.environ.get("MR_BENCH_NGRAM_SIZE", "515M")
BASELINE = os.environ.get("MR_BENCH_BASELINE")
MAPREDUCE = os.path.join(BUILD, "src", "mapreduce")
TOOLS = os.path.join(BUILD, "bench-tools")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")
ENV.pop("OMPI_MCA_pml", None)  # nothing set by the user


def log(*args):
    print("==>", *args, file=sys.stderr, flush=True)


def run(command, env=ENV):
    """Runs command; returns (wall seconds, stdout)."""
    start = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit("bench_kernel: %s failed:\n%s" % (" ".join(command), result.stderr.decode(errors="replace")))
    return wall, result.stdout.decode()


def run_measured(command, env=ENV):
    """(wall, peak RSS MB of the largest descendant, stdout). ru_maxrss of children is the
    maximum over every descendant waited for so far, so each measured command runs under a
    fresh helper process: earlier, larger runs cannot mask it."""
    helper = ("import resource,subprocess,sys,time,json\n"
              "s=time.perf_counter()\n"
              "r=subprocess.run(sys.argv[1:],stdout=subprocess.PIPE,stderr=subprocess.PIPE)\n"
              "w=time.perf_counter()-s\n"
              "sys.stderr.write(r.stderr.decode(errors='replace')) if r.returncode else None\n"
              "print(json.dumps([r.returncode,w,resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024,"
              "r.stdout.decode()]))\n")
    out = subprocess.run([sys.executable, "-c", helper] + command, stdout=subprocess.PIPE, env=env, check=True)
    code, wall, rss, stdout = json.loads(out.stdout)
    if code != 0:
        sys.exit("bench_kernel: %s failed" % " ".join(command))
    return wall, rss, stdout


def gen(kind, path, *args):
    if not os.path.exists(path):
        log("generating", path)
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_data.py"), kind, *args, "-o", path],
                       check=True)
    subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)  # page cache
    return path


def build_tools():
    os.makedirs(TOOLS, exist_ok=True)
    wc = os.path.join(TOOLS, "wc_reference")
    subprocess.run(["cc", "-O2", "-o", wc, os.path.join(ROOT, "scripts", "tools", "wc_reference.c")], check=True)
    table = os.path.join(TOOLS, "bench_table")
    found = subprocess.run(["pkg-config", "--libs", "absl_flat_hash_map", "absl_hash"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
    if found.returncode != 0:
        sys.exit("bench_kernel: abseil's flat_hash_map (the comparison table) is missing: apt-get install libabsl-dev")
    absl = found.stdout.decode().split()
    subprocess.run(["mpicxx", "-O2", "-std=c++20", "-I", os.path.join(ROOT, "include"), "-I", os.path.join(ROOT, "src", "lib"),
                    "-o", table, os.path.join(ROOT, "scripts", "tools", "bench_table.cpp"),
                    os.path.join(BUILD, "libmr.a"), *absl], check=True)
    return wc, table


def mapreduce_cmd(binary, np, path, *extra):
    return ["mpirun", "--oversubscribe", "-np", str(np), binary, *extra, "--json", path]


def job_seconds(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


def main():
    if not os.path.exists(MAPREDUCE):
        subprocess.run([os.path.join(ROOT, "scripts", "build.sh")], check=True)
    wc, table_tool = build_tools()
    text = gen("text", os.path.join(DATA, "kernel-text-%s.txt" % TEXT_SIZE), "--size", TEXT_SIZE, "--seed", "2")
    ngram = gen("ngram", os.path.join(DATA, "kernel-ngram-%s.tsv" % NGRAM_SIZE), "--size", NGRAM_SIZE, "--seed", "1")
    small = gen("text", os.path.join(DATA, "kernel-text-10M.txt"), "--size", "10M", "--seed", "3")
    cards = [(label, gen("words", os.path.join(DATA, "kernel-words-%s.txt" % label), "--distinct", str(n), "--size", "79M"))
             for label, n in (("100k", 100_000), ("1M", 1_000_000), ("10M", 10_000_000))]
    out_dir = os.path.join(DATA, "bench-out")
    os.makedirs(out_dir, exist_ok=True)
    builds = [("mr", MAPREDUCE)] + ([("baseline", BASELINE)] if BASELINE else [])

    # 1. Throughput per rank, median of RUNS, builds interleaved run by run.
    speed = {}
    for job, path, extra in (("wordcount", text, ["--words", "whitespace"]), ("ngram", ngram, [])):
        for np in (1, 2):
            for r in range(RUNS):
                for name, binary in builds:
                    out = os.path.join(out_dir, "kernel-%s-%s-np%d.tsv" % (name, job, np))
                    _, stdout = run(mapreduce_cmd(binary, np, path, "--job", job, *extra, "--output", out))
                    info = job_seconds(stdout)
                    speed.setdefault((name, job, np), []).append(info["seconds"])
                    speed[("bytes", job)] = info["bytes"]
            log(job, "np", np, {n: statistics.median(speed[(n, job, np)]) for n, _ in builds})
        for name, _ in builds:
            a, b = (os.path.join(out_dir, "kernel-%s-%s-np%d.tsv" % (name, job, np)) for np in (1, 2))
            subprocess.run(["cmp", a, b], check=True)
        if BASELINE:
            subprocess.run(["cmp", os.path.join(out_dir, "kernel-mr-%s-np1.tsv" % job),
                            os.path.join(out_dir, "kernel-baseline-%s-np1.tsv" % job)], check=True)

    print("| build | job | input MB | -np 1 job s | -np 1 MB/s | -np 2 job s | -np 2 MB/s per rank | efficiency 1->2 |")
    print("|---|---|---|---|---|---|---|---|")
    for name, _ in builds:
        for job in ("wordcount", "ngram"):
            mb = speed[("bytes", job)] / 1e6
            one, two = (statistics.median(speed[(name, job, np)]) for np in (1, 2))
            print("| %s | %s | %.0f | %.3f | %.0f | %.3f | %.0f | %.0f%% |" % (
                name, job, mb, one, mb / one, two, mb / two / 2, 100 * one / (2 * two)))
    print()

    # 2. Start-up: whole process, -np 2, 10 MB, nothing set / ob1 by hand.
    walls = {}
    ob1 = dict(ENV, OMPI_MCA_pml="ob1")
    for r in range(RUNS):
        for name, binary in builds:
            for label, env in (("default", ENV), ("ob1", ob1)):
                w, _ = run(mapreduce_cmd(binary, 2, small, "--top", "1"), env)
                walls.setdefault((name, label), []).append(w)
    print("| build | whole `mpirun -np 2 mapreduce --top 1` of 10 MB, nothing set (s) | with OMPI_MCA_pml=ob1 set by hand (s) |")
    print("|---|---|---|")
    for name, _ in builds:
        print("| %s | %.3f | %.3f |" % (name, statistics.median(walls[(name, "default")]),
                                         statistics.median(walls[(name, "ob1")])))
    print()

    # 3. Cardinality curve with peak RSS per rank, and Python's Counter.
    counter = ("import collections,sys\n"
               "c=collections.Counter(open(sys.argv[1],'rb').read().split())\n"
               "print(c.most_common(1))\n")
    print("| distinct words (79 MB) | build | -np 1 job s | -np 1 peak RSS MB | -np 2 job s | -np 2 peak RSS MB per rank "
          "| Python Counter s (whole process) | Counter peak RSS MB | -np 1 vs Counter |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, path in cards:
        rows = {}
        for r in range(max(1, RUNS // 2)):
            for name, binary in builds:
                for np in (1, 2):
                    w, rss, stdout = run_measured(mapreduce_cmd(binary, np, path, "--top", "1"))
                    rows.setdefault((name, np), []).append((job_seconds(stdout)["seconds"], rss))
        pw, prss, _ = run_measured([sys.executable, "-c", counter, path])
        for name, _ in builds:
            one = statistics.median(s for s, _ in rows[(name, 1)])
            two = statistics.median(s for s, _ in rows[(name, 2)])
            rss1 = max(m for _, m in rows[(name, 1)])
            rss2 = max(m for _, m in rows[(name, 2)])
            print("| %s | %s | %.3f | %.0f | %.3f | %.0f | %.2f | %.0f | %.1fx |" % (
                label, name, one, rss1, two, rss2, pw, prss, pw / one))
        log("cardinality", label, "done")
    print()

    # 4. The single-core C reference on prose, whole process.
    ref, mr1, mr1_job = [], [], []
    for r in range(RUNS):
        w, _ = run([wc, text, "1"])
        ref.append(w)
        w, stdout = run(mapreduce_cmd(MAPREDUCE, 1, text, "--top", "1"))
        mr1.append(w)
        mr1_job.append(job_seconds(stdout)["seconds"])
    mb = os.path.getsize(text) / 1e6
    r_s, m_s, j_s = statistics.median(ref), statistics.median(mr1), statistics.median(mr1_job)
    print("| word count of %.0f MB prose | s | MB/s | mapreduce -np 1 speed vs reference |" % mb)
    print("|---|---|---|---|")
    print("| wc_reference.c (mmap, FNV-1a, open addressing, qsort; whole process) | %.3f | %.0f | - |" % (r_s, mb / r_s))
    print("| mapreduce -np 1, whole process | %.3f | %.0f | %.2fx |" % (m_s, mb / m_s, r_s / m_s))
    print("| mapreduce -np 1, job time | %.3f | %.0f | %.2fx |" % (j_s, mb / j_s, r_s / j_s))
    print()

    # 5. The hand-written table against abseil's flat_hash_map, same map functions.
    print("| map function (one thread, best of %d) | keys | FlatTable MB/s | absl::flat_hash_map MB/s | FlatTable / absl |" % RUNS)
    print("|---|---|---|---|---|")
    for job, path in (("wordcount", text), ("ngram", ngram), ("wordcount", cards[-1][1])):
        lines = subprocess.run([table_tool, job, path, str(RUNS)], stdout=subprocess.PIPE, check=True).stdout.decode()
        got = {l.split()[0]: l.split() for l in lines.strip().splitlines()}
        flat, absl = float(got["flat"][3]), float(got["absl"][3])
        print("| %s, %s | %s | %.0f | %.0f | %.2fx |" % (job, os.path.basename(path), got["flat"][4], flat, absl,
                                                       flat / absl))
    print()

    # 6. Where a prose token's time goes: the tokenizer alone, the adder alone, both over the
    # file in memory and mapped (README, "Fewer instructions, and what bounds the rest").
    line = subprocess.run([table_tool, "stages", text, str(RUNS)], stdout=subprocess.PIPE, check=True).stdout.decode()
    print(line.strip())


if __name__ == "__main__":
    main()
