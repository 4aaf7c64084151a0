#!/usr/bin/env python3
"""Independent oracle for the mapreduce program: the same command line (a subset), computed
the obvious way in Python. The tests compare the real program's output with this one's.
Under mpirun only rank 0 writes, so it can also stand in for the program in a job script.

  oracle.py [--job wordcount|ngram] [--words whitespace|alnum] [--top K] [--query W]...
            [--output FILE] INPUT...
"""
import argparse
import collections
import gzip
import os
import re
import sys


def records(paths):
    for path in paths:
        if os.path.isdir(path):
            files = sorted(os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs)
        else:
            files = [path]
        for name in files:
            opener = gzip.open if name.endswith(".gz") else open
            with opener(name, "rb") as f:
                yield from f


def count(args):
    counts = collections.Counter()
    if args.job == "ngram":
        for line in records(args.inputs):
            fields = line.rstrip(b"\r\n").split(b"\t")
            counts[fields[0]] += int(fields[2])
    elif args.words == "alnum":
        for line in records(args.inputs):
            counts.update(re.findall(rb"[a-z0-9\x80-\xff]+", line.lower()))
    else:
        for line in records(args.inputs):
            counts.update(line.split())
    return counts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--job", default="wordcount", choices=["wordcount", "ngram"])
    parser.add_argument("--words", default="whitespace", choices=["whitespace", "alnum"])
    parser.add_argument("--top", type=int, default=0)
    parser.add_argument("--query", action="append", default=[])
    parser.add_argument("--output")
    # Tuning options of the real program that do not change the result.
    parser.add_argument("--chunk-bytes", "--chunk-lines", "--workers", dest="ignored", action="append")
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args()
    if os.environ.get("OMPI_COMM_WORLD_RANK", "0") != "0":
        return
    counts = count(args)
    lines = [k + b"\t" + str(v).encode() + b"\n"
             for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    out = sys.stdout.buffer
    out.writelines(lines[:args.top])
    for word in args.query:
        out.write(word.encode() + b"\t" + str(counts.get(word.encode(), 0)).encode() + b"\n")
    if args.output:
        with open(args.output + ".tmp", "wb") as f:
            f.writelines(lines)
        os.replace(args.output + ".tmp", args.output)


if __name__ == "__main__":
    main()
