#!/usr/bin/env python3
"""The book's Python approach to MapReduce (Fowler, "Python Concurrency with asyncio",
ch. 6): asyncio + ProcessPoolExecutor, the input cut into 60,000-line chunks, one
run_in_executor map task per chunk, asyncio.gather, then functools.reduce merging the
dictionaries. Same jobs and output format as `mapreduce`, so the benchmark can diff them.

  py_mapreduce_baseline.py [--job wordcount|ngram] [--words whitespace|alnum]
                           [--workers N] [--chunk-lines 60000] --output FILE INPUT...

One difference from the book: chunks are submitted in windows of a few per worker (each
window gathered and reduced) instead of reading every line of the input into memory
first, so a GB input does not need tens of GB of RAM. Inputs are read as bytes.
"""
import argparse
import asyncio
import functools
import itertools
import json
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor

ALNUM = re.compile(rb"[a-z0-9\x80-\xff]+")


def map_whitespace(chunk):
    counter = {}
    for line in chunk:
        for word in line.split():
            counter[word] = counter.get(word, 0) + 1
    return counter


def map_alnum(chunk):
    counter = {}
    for line in chunk:
        for word in ALNUM.findall(line.lower()):
            counter[word] = counter.get(word, 0) + 1
    return counter


def map_frequencies(chunk):
    counter = {}
    for line in chunk:
        word, _, count, _ = line.split(b"\t")
        counter[word] = counter.get(word, 0) + int(count)
    return counter


def merge_dictionaries(first, second):
    merged = first
    for key in second:
        merged[key] = merged.get(key, 0) + second[key]
    return merged


def input_files(paths):
    files = []
    for path in paths:
        if os.path.isdir(path):
            for root, _, names in os.walk(path):
                files.extend(os.path.join(root, name) for name in names)
        else:
            files.append(path)
    return sorted(files)


def chunks(paths, chunk_lines):
    for path in input_files(paths):
        with open(path, "rb") as f:
            while True:
                chunk = list(itertools.islice(f, chunk_lines))
                if not chunk:
                    break
                yield chunk


async def run(args):
    mapper = {"ngram": map_frequencies, "whitespace": map_whitespace, "alnum": map_alnum}[
        "ngram" if args.job == "ngram" else args.words]
    loop = asyncio.get_running_loop()
    total = {}
    source = chunks(args.inputs, args.chunk_lines)
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        while True:
            window = list(itertools.islice(source, 4 * args.workers))
            if not window:
                break
            tasks = [loop.run_in_executor(pool, functools.partial(mapper, chunk)) for chunk in window]
            intermediate_results = await asyncio.gather(*tasks)
            total = functools.reduce(merge_dictionaries, intermediate_results, total)
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--job", choices=("wordcount", "ngram"), default="wordcount")
    parser.add_argument("--words", choices=("whitespace", "alnum"), default="whitespace")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--chunk-lines", type=int, default=60000)
    parser.add_argument("--output", required=True)
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args()
    start = time.perf_counter()
    counts = asyncio.run(run(args))
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    temp = args.output + ".tmp"
    with open(temp, "wb") as out:
        out.writelines(b"%s\t%d\n" % kv for kv in ordered)
    os.replace(temp, args.output)
    seconds = time.perf_counter() - start
    size = sum(os.path.getsize(p) for p in input_files(args.inputs))
    print(json.dumps({"engine": "python", "workers": args.workers, "bytes": size, "distinct_keys": len(counts),
                      "seconds": round(seconds, 6), "mb_per_s_per_worker": round(size / seconds / 1e6 / args.workers, 3)}))


if __name__ == "__main__":
    sys.exit(main())
