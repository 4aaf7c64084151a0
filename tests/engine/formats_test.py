#!/usr/bin/env python3
"""Issue 14 end to end: every published Google Books 1-gram layout (v1, v2, v3, mixed, plain
and .gz, a v3 line longer than a partition) x every ngram option, on MPI ranks or on the pool
engine, checked against the independent oracle (tests/support/oracle.py); with --io also
streams (/dev/stdin, a FIFO, <(...)), --output onto a symlink, /dev/null, a FIFO with a
reader, -, a read-only directory, and an input truncated while it is read.

  formats_test.py --mapreduce BIN --mpiexec MPIRUN (--np N | --workers N) [--io]
"""
import argparse
import gzip
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import oracle  # noqa: E402
import e2e_test  # noqa: E402  (its Runner and check)
from e2e_test import check  # noqa: E402

GEN = os.path.join(HERE, "..", "..", "scripts", "gen_data.py")


def generate(path, layout, seed, size="40K"):
    subprocess.run([sys.executable, GEN, "ngram", "--size", size, "--seed", str(seed), "--format", layout,
                    "--tagged", "-o", path], check=True)
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(data)
    return path


class Runner(e2e_test.Runner):
    """e2e_test's runner, on MPI ranks or (--workers N) on the pool engine."""

    def __init__(self, args, work):
        super().__init__(args, work)
        if args.workers:
            self.prefix = []
        self.extra = ["--workers", str(args.workers)] if args.workers else []

    def run(self, *options, stdin=None, binary=None):
        return super().run(*self.extra, *options, stdin=stdin, binary=binary)

    def command(self, *options):
        return self.prefix + [self.args.mapreduce] + self.extra + [str(o) for o in options]


# The option sets: (command-line options, oracle keyword arguments).
OPTION_SETS = [
    ([], {}),
    (["--years", "1800-1899"], {"years": (1800, 1899)}),
    (["--years", "1950-"], {"years": (1950, None)}),
    (["--years=-1700"], {"years": (None, 1700)}),
    (["--count", "volume"], {"value": "volume_count"}),
    (["--skip-tagged"], {"skip_tagged": True}),
    (["--min-count", "500"], {"min_count": 500}),
    (["--years", "1800-1899", "--skip-tagged", "--count", "volume", "--min-count", "20"],
     {"years": (1800, 1899), "skip_tagged": True, "value": "volume_count", "min_count": 20}),
]


def test_formats(r, work):
    d = os.path.join(work, "mixed")
    texts = {}
    for i, layout in enumerate(("v1", "v2", "v3")):
        texts[layout] = generate(os.path.join(d, "%s.tsv" % layout), layout, 10 + i)
        texts[layout + ".gz"] = generate(os.path.join(work, "tmp.tsv"), layout, 20 + i, "20K")
        write(os.path.join(d, "%s-shard.tsv.gz" % layout), texts[layout + ".gz"])
    # A v3 line longer than a partition (--chunk-bytes 4096): one ngram, 3000 tuples.
    long_line = b"Aardvark_long\t" + b"\t".join(b"%d,%d,%d" % (1500 + i % 520, i, 1 + i % 7) for i in range(3000)) + b"\n"
    texts["long"] = b"a\t1999,1,1\n" + long_line + b"zz\t1800,5,5\n"
    write(os.path.join(d, "v3-long.tsv"), texts["long"])
    check(len(long_line) > 4096 * 4, "the long v3 line is longer than a partition")
    everything = list(texts.values())
    for options, kwargs in OPTION_SETS:
        expected = oracle.tsv(oracle.ngram_counts(everything, **kwargs))
        got = r.output_of("--job", "ngram", "--chunk-bytes", "4096", *options, d)
        check(got == expected, "mixed v1/v2/v3 (+.gz, long v3 line) with %s == oracle" % options)
    # Each layout alone, plain and .gz, with every option at once.
    options, kwargs = OPTION_SETS[-1]
    for name, text in texts.items():
        path = write(os.path.join(work, "single", name.replace(".gz", "") + (".tsv.gz" if name.endswith(".gz") else ".tsv")), text)
        got = r.output_of("--job", "ngram", "--chunk-bytes", "2048", *options, path)
        check(got == oracle.tsv(oracle.ngram_counts([text], **kwargs)), "%s alone with %s == oracle" % (name, options))
        shutil.rmtree(os.path.join(work, "single"))
    # A v2-shaped line in a v3 file: FILE:LINE and the tuple named.
    bad = write(os.path.join(work, "bad", "v3.tsv"), texts["v3"] + b"odd\t1999\t5\t1\n")
    line = texts["v3"].count(b"\n") + 1
    code, _, stderr = r.run("--job", "ngram", "--chunk-bytes", "4096", bad)
    check(code == 1 and re.search(r"v3\.tsv:%d: malformed ngram line: .* in tuple 1 '1999'" % line, stderr),
          "a v2 line in a v3 file: exit 1, FILE:LINE and the tuple (got %d: %s)" % (code, stderr.strip()[-300:]))
    # Usage errors: exit 2.
    for options in (["--years", "1900"], ["--years", "1990-1900"], ["--count", "pages"], ["--min-count", "x"]):
        code, _, stderr = r.run("--job", "ngram", *options, bad)
        check(code == 2 and "mapreduce: error: " in stderr, "%s: usage error, exit 2 (got %d)" % (options, code))


def test_streams(r, work, text, expected):
    code, out, stderr = r.run("--job", "ngram", "--output", "-", "/dev/stdin", stdin=text)
    check(code == 0 and out.startswith(expected), "/dev/stdin streamed (got %d: %s)" % (code, stderr[-300:]))
    fifo = os.path.join(work, "in.fifo")
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: open(fifo, "wb").write(text))
    writer.start()
    code, out, stderr = r.run("--job", "ngram", "--output", "-", fifo)
    writer.join()
    check(code == 0 and out.startswith(expected), "a FIFO streamed (got %d: %s)" % (code, stderr[-300:]))
    source = write(os.path.join(work, "src.tsv"), text)
    # <(...) needs the shell's descriptor: a singleton run or the pool's parent (mpirun's
    # ranks do not inherit it; there `-` is the way).
    command = " ".join(r.command() if r.args.workers else [r.args.mapreduce])
    result = subprocess.run(["bash", "-c", '%s --job ngram --output - <(cat "%s")' % (command, source)],
                            capture_output=True, timeout=120, cwd=work)
    check(result.returncode == 0 and result.stdout.startswith(expected),
          "<(...) streamed (got %d: %s)" % (result.returncode, result.stderr[-300:]))


def test_outputs(r, work, source, expected):
    target = os.path.join(work, "target.tsv")
    write(target, b"old\n")
    os.chmod(target, 0o640)
    link = os.path.join(work, "link.tsv")
    os.symlink("target.tsv", link)
    code, _, stderr = r.run("--job", "ngram", "--output", link, source)
    check(code == 0 and os.path.islink(link) and open(target, "rb").read() == expected,
          "--output onto a symlink: the link stays, the target holds the result (%s)" % stderr[-300:])
    check(stat.S_IMODE(os.stat(target).st_mode) == 0o640, "a replaced file keeps its permission bits")
    fresh = os.path.join(work, "fresh.tsv")
    old_mask = os.umask(0o027)
    os.umask(old_mask)
    r.run("--job", "ngram", "--output", fresh, source)
    check(stat.S_IMODE(os.stat(fresh).st_mode) == 0o666 & ~old_mask, "a new file gets 0666 & ~umask")
    code, _, _ = r.run("--job", "ngram", "--output", "/dev/null", source)
    check(code == 0 and stat.S_ISCHR(os.stat("/dev/null").st_mode), "--output /dev/null: still a character device")
    fifo = os.path.join(work, "out.fifo")
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
    reader.start()
    code, _, _ = r.run("--job", "ngram", "--output", fifo, source)
    reader.join(60)
    check(code == 0 and got == [expected] and stat.S_ISFIFO(os.stat(fifo).st_mode),
          "--output onto a FIFO with a reader: the reader gets the bytes")
    code, out, _ = r.run("--job", "ngram", "--output", "-", source)
    check(code == 0 and out.startswith(expected), "--output -: the result on stdout")
    if os.geteuid() == 0:
        readonly = "/proc/mr-no-such-dir"  # root may write any directory: /proc refuses new files
    else:
        readonly = os.path.join(work, "ro")
        os.makedirs(readonly)
        os.chmod(readonly, 0o555)
    code, _, stderr = r.run("--job", "ngram", "--output", os.path.join(readonly, "out.tsv"), source)
    errors = [line for line in stderr.splitlines() if line.startswith("mapreduce: error:")]
    check(code == 1 and len(errors) == 1 and "out.tsv: cannot create output" in errors[0],
          "--output into a read-only directory: one clear error, exit 1 (got %d: %s)" % (code, errors))


def test_truncation(r, work):
    part = os.path.join(work, "part.tsv")
    subprocess.run([sys.executable, GEN, "ngram", "--size", "16M", "--seed", "5", "-o", part], check=True)
    big = os.path.join(work, "big.tsv")
    with open(big, "wb") as out, open(part, "rb") as f:
        chunk = f.read()
        for _ in range(24):  # ~400 MB: the run is still mapping when the file is cut
            out.write(chunk)
    out_file = os.path.join(work, "trunc-out.tsv")
    command = r.command("--job", "ngram", "--progress", "--chunk-bytes", "4000000", "--output", out_file, big)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=work)
    stderr = b""
    while b"map " not in stderr:  # the first progress report: mapping has started
        byte = process.stderr.read(1)
        if not byte:
            break
        stderr += byte
    os.truncate(big, 1 << 20)
    stderr = (stderr + process.stderr.read()).decode(errors="replace")
    process.wait(timeout=120)
    check(process.returncode == 1 and "big.tsv: changed while being read" in stderr,
          "truncated input: exit 1 and 'changed while being read' (got %d: %s)"
          % (process.returncode, stderr.strip()[-400:]))
    # (A pool's error teardown ends its workers with SIGKILL, as for any failed run: only a
    # bus error counts there.)
    killed = re.search(r"signal 7|Bus error" if r.args.workers else r"signal|Bus error", stderr)
    check(not killed, "truncated input: no rank killed by a signal (%s)" % stderr.strip()[-400:])
    check(not os.path.exists(out_file), "truncated input: no output file")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mapreduce", required=True)
    parser.add_argument("--mpiexec", required=True)
    parser.add_argument("--np", type=int, default=1)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--io", action="store_true", help="also streams, output targets and truncation")
    parser.set_defaults(tcp=False)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="mr-formats-")
    try:
        r = Runner(args, work)
        test_formats(r, work)
        if args.io:
            text = generate(os.path.join(work, "stream.tsv"), "v3", 7, "30K")
            expected = oracle.tsv(oracle.ngram_counts([text]))
            test_streams(r, work, text, expected)
            test_outputs(r, work, os.path.join(work, "stream.tsv"), expected)
            test_truncation(r, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return e2e_test.exit_status("np=%d, workers=%d" % (args.np, args.workers))


if __name__ == "__main__":
    sys.exit(main())
