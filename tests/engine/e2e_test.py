#!/usr/bin/env python3
"""End-to-end tests of the `mapreduce` program under mpirun, checked against the
independent Python oracle, tests/support/oracle.py (bytes.split / regex / field sums,
sorted by count desc then key). Also checks byte-identical output across chunk sizes and
argument order, every bad-input case, and the README's ten-line example.

  e2e_test.py --mapreduce BIN --example BIN --mpiexec MPIRUN --np N [--tcp] [--quick]
"""
import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import oracle  # noqa: E402  (tests/support/oracle.py)

GEN = os.path.join(HERE, "..", "..", "scripts", "gen_data.py")
FOUR_LINES = b"I know what I know\nI know that I know\nI don't know much\nThey don't know much\n"

failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what, flush=True)


class Runner:
    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.prefix = [args.mpiexec, "-np", str(args.np), "--oversubscribe"]
        if args.tcp:
            self.prefix += ["--mca", "btl", "tcp,self"]

    def run(self, *options, stdin=None, binary=None):
        command = self.prefix + [binary or self.args.mapreduce] + [str(o) for o in options]
        result = subprocess.run(command, input=stdin, capture_output=True, timeout=120, cwd=self.work)
        return result.returncode, result.stdout, result.stderr.decode(errors="replace")

    def output_of(self, *options, stdin=None):
        out = os.path.join(self.work, "out.tsv")
        if os.path.exists(out):
            os.remove(out)
        code, stdout, stderr = self.run("--output", out, *options, stdin=stdin)
        check(code == 0, "exit 0 for %s (got %d: %s)" % (options, code, stderr.strip()[-500:]))
        if code != 0 or not os.path.exists(out):
            return b""
        with open(out, "rb") as f:
            return f.read()


def exit_status(label):
    """The script's exit status from the checks' failures, with a last line saying so."""
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed (%s)" % label)
    return 0


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def generate(kind, size, seed, path):
    subprocess.run([sys.executable, GEN, kind, "--size", str(size), "--seed", str(seed), "-o", path], check=True)
    with open(path, "rb") as f:
        return f.read()


def test_results(r, work, quick):
    # Text spread over a directory tree, a .gz, CRLF lines, NUL bytes and no final newline.
    text_dir = os.path.join(work, "text")
    a = generate("text", 120000, 1, os.path.join(text_dir, "a.txt"))
    b = generate("text", 40000, 2, os.path.join(text_dir, "sub", "b.txt"))
    c = b"Windows\r\nline endings\r\n\r\nbinary \x00\x01 bytes\xff\xfe here\n" + b"last line without newline"
    write(os.path.join(text_dir, "sub", "c.txt"), c)
    d = generate("text", 30000, 3, os.path.join(work, "d.txt"))
    with gzip.open(os.path.join(work, "d.txt.gz"), "wb") as f:
        f.write(d)
    everything = b"\n".join([a, b, c, d])

    expected = oracle.tsv(oracle.word_counts(everything))
    first = r.output_of(text_dir, "d.txt.gz")
    check(first == expected, "wordcount whitespace == bytes.split() oracle")
    chunks = ["1000"] if quick else ["1", "777", "100000"]
    for chunk in chunks:
        check(r.output_of("--chunk-bytes", chunk, "d.txt.gz", text_dir) == expected,
              "identical output with --chunk-bytes %s and other argument order" % chunk)
    check(r.output_of("-", text_dir, stdin=d) == expected, "stdin input")

    expected_alnum = oracle.tsv(oracle.word_counts(everything, "alnum"))
    check(r.output_of("--words", "alnum", "--chunk-bytes", "5000", text_dir, "d.txt.gz") == expected_alnum,
          "wordcount alnum == regex oracle")

    ngram = generate("ngram", 150000, 4, os.path.join(work, "ngram", "1gram-a.tsv"))
    ngram2 = generate("ngram", 60000, 5, os.path.join(work, "ngram", "1gram-b.tsv"))
    crlf = b"zebra\t1999\t5\t1\r\nzebra\t2000\t7\t2\r\nAardvark\t1990\t3\t1"
    write(os.path.join(work, "ngram", "1gram-c.tsv"), crlf)
    expected_ngram = oracle.tsv(oracle.ngram_counts([ngram, ngram2, crlf]))
    for chunk in (["3000"] if quick else ["0", "1", "3000"]):
        options = ["--chunk-bytes", chunk] if chunk != "0" else []
        check(r.output_of("--job", "ngram", *options, "ngram") == expected_ngram,
              "ngram sums == oracle with chunk %s" % chunk)

    # --top, --query and --json on stdout; the summary line on stderr.
    counts = oracle.word_counts(everything)
    top3 = oracle.tsv(counts, top=3).splitlines(keepends=True)
    code, stdout, stderr = r.run("--top", "3", "--query", "the", "--query", "NoSuchWord", "--json", text_dir, "d.txt.gz")
    lines = stdout.splitlines(keepends=True)
    check(code == 0 and lines[:3] == top3, "--top 3 prints the first three lines")
    check(lines[3:5] == [b"the\t%d\n" % counts[b"the"], b"NoSuchWord\t0\n"], "--query prints counts, 0 when absent")
    summary = json.loads(lines[5]) if len(lines) > 5 else {}
    check(summary.get("bytes") == len(everything) - 3 and summary.get("distinct_keys") == len(counts)
          and summary.get("ranks") == r.args.np and summary.get("records") == everything.count(b"\n") + 1 - 3,
          "--json summary has bytes, records, distinct keys, ranks: %s" % summary)
    check(re.search(r"mapreduce: wordcount, \d+ bytes, \d+ records, \d+ distinct keys, [\d.]+ s, [\d.]+ MB/s per rank",
                    stderr) is not None, "summary line on stderr")
    # Phase times (the slowest rank's) and every rank's peak memory; --timings prints the phases.
    out = os.path.join(work, "timed.tsv")
    code, stdout, stderr = r.run("--json", "--timings", "--output", out, text_dir)
    summary = json.loads(stdout.splitlines()[-1]) if code == 0 and stdout else {}
    phases = summary.get("phases", {})
    check(sorted(phases) == sorted(["read", "map", "shuffle", "reduce", "sort", "write"])
          and all(isinstance(v, float) and v >= 0 for v in phases.values())
          and phases["map"] > 0 and phases["write"] > 0, "--json phases: %s" % phases)
    peaks = summary.get("peak_rss_bytes", [])
    check(len(peaks) == r.args.np and all(p > 2**20 for p in peaks), "--json peak_rss_bytes per rank: %s" % peaks)
    check(re.search(r"mapreduce: phases \(slowest rank each\): read [\d.]+ s, map [\d.]+ s, shuffle [\d.]+ s, "
                    r"reduce [\d.]+ s, sort [\d.]+ s, write [\d.]+ s", stderr) is not None, "--timings line on stderr")


def test_example(r, work):
    path = write(os.path.join(work, "four.txt"), FOUR_LINES)
    expected = {b"I": 5, b"know": 6, b"don't": 2, b"much": 2, b"what": 1, b"that": 1, b"They": 1}
    code, stdout, _ = r.run("--top", "100", "--chunk-bytes", "7", path)
    check(code == 0 and stdout == oracle.tsv(expected), "four-line example through mapreduce")
    code, stdout, stderr = r.run(path, binary=r.args.example)
    got = {k: int(v) for k, _, v in (line.partition(b"\t") for line in stdout.splitlines()) if v.isdigit()}
    check(code == 0 and got == expected,
          "ten-line example program (%s)" % stderr.strip()[-300:])


def test_edge_cases(r, work):
    empty = write(os.path.join(work, "empty.txt"), b"")
    check(r.output_of(empty) == b"", "empty input: empty result, exit 0")
    long_line = b"x" * 5000 + b" y\nshort\n"
    path = write(os.path.join(work, "long.txt"), long_line)
    check(r.output_of("--chunk-bytes", "10", path) == oracle.tsv(oracle.word_counts(long_line)),
          "a line longer than a partition")
    code, _, stderr = r.run("--progress", path)
    check(code == 0 and "\rmapreduce: map" in stderr, "--progress draws a progress line on stderr")
    code, _, stderr = r.run(path)
    check(code == 0 and "\r" not in stderr, "no progress output when stderr is not a terminal")
    one = write(os.path.join(work, "one.txt"), b"single line only")
    check(r.output_of("--chunk-bytes", "1", one) == oracle.tsv(oracle.word_counts(b"single line only")),
          "more ranks than lines")


def expect_error(r, work, what, pattern, *options, stdin=None, code_wanted=1):
    out = os.path.join(work, "err-out.tsv")
    before = set(os.listdir(work))
    code, _, stderr = r.run("--output", out, *options, stdin=stdin)
    errors = [line for line in stderr.splitlines() if line.startswith("mapreduce: error:")]
    check(code == code_wanted, "%s: exit %d (got %d)" % (what, code_wanted, code))
    check(len(errors) == 1 and re.search(pattern, errors[0]) is not None,
          "%s: one error line matching %r (got %r)" % (what, pattern, errors))
    check(not os.path.exists(out) and set(os.listdir(work)) == before, "%s: no output file left" % what)


def test_errors(r, work):
    bad = os.path.join(work, "bad")
    good_lines = b"".join(b"w%03d\t%d\t%d\t1\n" % (i // 10, 1900 + i % 10, i) for i in range(500))
    write(os.path.join(bad, "few.tsv"), good_lines + b"oops\t1999\n")
    write(os.path.join(bad, "nan.tsv"), good_lines[:200] + b"w\t1999\tmany\t3\n" + good_lines)
    write(os.path.join(bad, "big.tsv"), b"w\t1999\t99999999999999999999\t3\n")
    write(os.path.join(bad, "nul.tsv"), good_lines + b"w\x00x\t1999\t1\t1\n")
    os.makedirs(os.path.join(work, "emptydir", "inner"), exist_ok=True)
    expect_error(r, work, "missing file", r"missing\.txt: no such file or directory", "missing.txt")
    expect_error(r, work, "empty directory", r"emptydir: directory contains no files", "emptydir")
    expect_error(r, work, "too few fields", r"few\.tsv:501: malformed ngram line: expected 4 tab-separated fields",
                 "--job", "ngram", "--chunk-bytes", "100", os.path.join(bad, "few.tsv"))
    nan_line = good_lines[:200].count(b"\n") + 1
    expect_error(r, work, "non-numeric count", r"nan\.tsv:%d: malformed ngram line: match_count is not" % nan_line,
                 "--job", "ngram", "--chunk-bytes", "64", os.path.join(bad, "nan.tsv"))
    expect_error(r, work, "overflowing count", r"big\.tsv:1: .*match_count does not fit in 64 bits",
                 "--job", "ngram", os.path.join(bad, "big.tsv"))
    expect_error(r, work, "binary data in ngram", r"nul\.tsv:501: malformed ngram line: NUL byte",
                 "--job", "ngram", "--chunk-bytes", "300", os.path.join(bad, "nul.tsv"))
    expect_error(r, work, "malformed line on stdin", r"-:501: malformed ngram line",
                 "--job", "ngram", "-", stdin=good_lines + b"oops\n")
    expect_error(r, work, "unknown option", r"unknown option '--frobnicate'", "--frobnicate", "x", code_wanted=2)
    expect_error(r, work, "no input", r"no input given", code_wanted=2)
    corrupt = write(os.path.join(work, "corrupt.gz"), gzip.compress(b"hello world\n" * 1000)[:-30])
    expect_error(r, work, "corrupt gzip", r"corrupt\.gz", corrupt)
    code, _, stderr = r.run("--output", os.path.join(work, "no", "such", "dir", "out.tsv"), os.path.join(bad, "few.tsv"))
    check(code == 1 and "cannot create output" in stderr, "unwritable output path fails cleanly")
    if os.geteuid() != 0:
        locked = write(os.path.join(work, "locked.txt"), b"secret\n")
        os.chmod(locked, 0)
        expect_error(r, work, "unreadable file", r"locked\.txt: cannot open: Permission denied", locked)


def test_gzip_shards(r, work):
    """Compressed shards are inflated by the ranks they are assigned to (whole files, largest
    first onto the least-loaded rank): more shards than ranks, fewer, an empty one, mixed with
    a plain file and stdin; a corrupt shard and a bad line inside one are named."""
    d = os.path.join(work, "shards")
    os.makedirs(d, exist_ok=True)
    lines = [b"w%d\t%d\t%d\t1" % (i % 97, 1900 + i % 50, i % 13 + 1) for i in range(6000)]
    lines.sort()  # the published files are sorted by ngram
    parts = [b"\n".join(lines[i::5]) + b"\n" for i in range(5)]
    for i, part in enumerate(parts):
        write(os.path.join(d, "part-%d.tsv.gz" % i), gzip.compress(part))
    write(os.path.join(d, "empty.tsv.gz"), gzip.compress(b""))
    plain = write(os.path.join(work, "plain.tsv"), b"zebra\t1999\t5\t1\nzebra\t2000\t7\t2\n")
    stdin = b"Aardvark\t1990\t3\t1\n"
    expected = oracle.tsv(oracle.ngram_counts(parts + [b"zebra\t1999\t5\t1\nzebra\t2000\t7\t2\n", stdin]))
    check(r.output_of("--job", "ngram", d, plain, "-", stdin=stdin) == expected,
          "6 .gz shards (one empty) + a plain file + stdin == oracle")
    one = write(os.path.join(work, "one.tsv.gz"), gzip.compress(parts[0]))
    check(r.output_of("--job", "ngram", one) == oracle.tsv(oracle.ngram_counts([parts[0]])),
          "one .gz shard (fewer shards than ranks) == oracle")
    bad = os.path.join(work, "badshards")
    os.makedirs(bad, exist_ok=True)
    write(os.path.join(bad, "a.tsv.gz"), gzip.compress(parts[1]))
    write(os.path.join(bad, "b.tsv.gz"), gzip.compress(parts[2])[:-40])  # truncated stream
    expect_error(r, work, "corrupt .gz shard", r"b\.tsv\.gz: ", "--job", "ngram", bad)
    broken = parts[3].split(b"\n")
    broken.insert(700, b"not an ngram line")
    write(os.path.join(bad, "b.tsv.gz"), gzip.compress(b"\n".join(broken)))
    expect_error(r, work, "bad line in a .gz shard", r"b\.tsv\.gz:701: malformed ngram line", "--job", "ngram", bad)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mapreduce", required=True)
    parser.add_argument("--example", required=True)
    parser.add_argument("--mpiexec", default="mpirun")
    parser.add_argument("--np", type=int, default=2)
    parser.add_argument("--tcp", action="store_true", help="use the TCP transport only")
    parser.add_argument("--quick", action="store_true", help="results only, fewer variants")
    args = parser.parse_args()
    args.mapreduce = os.path.abspath(args.mapreduce)
    args.example = os.path.abspath(args.example)
    work = tempfile.mkdtemp(prefix="mr_e2e_")
    try:
        r = Runner(args, work)
        test_results(r, work, args.quick)
        test_example(r, work)
        test_gzip_shards(r, work)
        if not args.quick:
            test_edge_cases(r, work)
            test_errors(r, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return exit_status("np=%d%s" % (args.np, ", tcp" if args.tcp else ""))


if __name__ == "__main__":
    sys.exit(main())
