#!/usr/bin/env python3
"""The one independent oracle for the mapreduce program, shared by every Python and shell test.

Expected results are computed the obvious way in Python, never by mr itself:
  - wordcount, whitespace words: bytes.split();
  - wordcount, alnum words: runs of [A-Za-z0-9\\x80-\\xff], ASCII letters lower-cased;
  - ngram: lines `ngram TAB year TAB match_count TAB volume_count` (split at '\\n', one
    trailing '\\r' ignored), match_count summed per ngram.
Results are ordered by count descending, then key ascending bytewise, one `key TAB count`
line each.

As a module (tests put this directory on sys.path):
    sys.path.insert(0, os.path.join(HERE, "..", "support")); import oracle
    oracle.tsv(oracle.word_counts(data))            # the --output file's bytes
    oracle.ngram_counts(texts, years=(1990, None), value="volume_count", min_count=10)

As a program, the same command line as mapreduce (a subset); under mpirun only rank 0
writes, so it can also stand in for the program in a job script:
    oracle.py [--job wordcount|ngram] [--words whitespace|alnum] [--top K] [--query W]...
              [--output FILE] INPUT...
    oracle.py --self-test
"""
import argparse
import collections
import gzip
import os
import re
import sys

_ALNUM = re.compile(rb"[a-z0-9\x80-\xff]+")
NGRAM_VALUES = ("match_count", "volume_count")


def _texts(data):
    """One bytes object, or an iterable of them (files or lines: counted one by one)."""
    return [data] if isinstance(data, (bytes, bytearray)) else data


# ---------------------------------------------------------------- wordcount
def whitespace_words(text):
    """Words split at ASCII whitespace, exactly bytes.split()."""
    return text.split()


def alnum_words(text):
    """Runs of ASCII letters/digits and bytes >= 0x80, ASCII letters lower-cased."""
    return _ALNUM.findall(text.lower())


WORD_MODES = {"whitespace": whitespace_words, "alnum": alnum_words}


def word_counts(data, words="whitespace"):
    """Counter of words in `data` (bytes, or an iterable of bytes counted one by one)."""
    split = WORD_MODES[words]
    counts = collections.Counter()
    for text in _texts(data):
        counts.update(split(text))
    return counts


# ---------------------------------------------------------------- ngram
def ngram_records(data):
    """(ngram, year, match_count, volume_count) for each line of `data` (bytes, or an
    iterable of bytes: whole files or single lines). Lines end at '\\n'; one trailing '\\r'
    is ignored; a final line without '\\n' counts. A line without 4 tab-separated fields
    raises ValueError (the program rejects it too)."""
    for text in _texts(data):
        lines = text.split(b"\n")
        if lines[-1] == b"":
            lines.pop()  # after the final '\n' (or empty text): no line
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            fields = line.split(b"\t")
            if len(fields) != 4:
                raise ValueError("malformed ngram line: %r" % line[:200])
            yield fields[0], int(fields[1]), int(fields[2]), int(fields[3])


def ngram_counts(data, *, years=None, value="match_count", min_count=None):
    """Counter of ngram -> sum of `value` ("match_count", the default, or "volume_count")
    over the lines of `data` (see ngram_records).
    years: (first, last), inclusive, either end None for open; None (default): every year.
    min_count: keep only ngrams whose sum is at least this; None (default): keep all.

    >>> data = b"a\\t1990\\t5\\t1\\r\\nb\\t2000\\t7\\t2\\na\\t2001\\t3\\t4"
    >>> sorted(ngram_counts(data).items())
    [(b'a', 8), (b'b', 7)]
    >>> sorted(ngram_counts(data, years=(2000, None)).items())
    [(b'a', 3), (b'b', 7)]
    >>> sorted(ngram_counts(data, years=(None, 2000), value="volume_count").items())
    [(b'a', 1), (b'b', 2)]
    >>> sorted(ngram_counts(data, min_count=8).items())
    [(b'a', 8)]
    """
    if value not in NGRAM_VALUES:
        raise ValueError("value must be one of %s, not %r" % (NGRAM_VALUES, value))
    first, last = years if years is not None else (None, None)
    counts = collections.Counter()
    for ngram, year, match_count, volume_count in ngram_records(data):
        if (first is not None and year < first) or (last is not None and year > last):
            continue
        counts[ngram] += match_count if value == "match_count" else volume_count
    return at_least(counts, min_count)


def at_least(counts, min_count):
    """The entries of `counts` whose count is at least `min_count` (all when None)."""
    if min_count is None:
        return counts
    return collections.Counter({k: v for k, v in counts.items() if v >= min_count})


def counts_for(data, job="wordcount", words="whitespace", **ngram_options):
    """The result of a mapreduce job: word_counts for "wordcount", ngram_counts for "ngram"."""
    if job == "ngram":
        return ngram_counts(data, **ngram_options)
    if job != "wordcount":
        raise ValueError("unknown job %r" % job)
    if ngram_options:
        raise TypeError("ngram options given for a wordcount job: %s" % sorted(ngram_options))
    return word_counts(data, words)


# ---------------------------------------------------------------- order and format
def ordered(counts):
    """[(key, count)]: count descending, then key ascending bytewise (the program's order)."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def lines_of(items):
    """`key TAB count` lines for (key, count) pairs, in the order given."""
    return b"".join(b"%s\t%d\n" % (k, v) for k, v in items)


def tsv(counts, top=None):
    """The program's result file (or its first `top` lines, as --top prints them)."""
    items = ordered(counts)
    return lines_of(items if top is None else items[:top])


def query_lines(counts, words):
    """What --query W prints for each word: `W TAB count`, 0 when absent."""
    return lines_of((w, counts.get(w, 0)) for w in (x.encode() if isinstance(x, str) else x for x in words))


# ---------------------------------------------------------------- input files
def input_files(paths):
    """Files named by the program's inputs: a directory stands for every file under it,
    in sorted path order."""
    for path in paths:
        if os.path.isdir(path):
            yield from sorted(os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs)
        else:
            yield path


def records(paths):
    """The lines (with their '\\n') of every input; .gz files decompressed."""
    for name in input_files(paths):
        opener = gzip.open if name.endswith(".gz") else open
        with opener(name, "rb") as f:
            yield from f


# ---------------------------------------------------------------- self-test and program
def self_test():
    import doctest
    failed, _ = doctest.testmod()
    c = collections.Counter
    assert word_counts(b"a  b\ta\r\nB\x00 a\x0bb\x1c") == c({b"a": 3, b"b": 1, b"B\x00": 1, b"b\x1c": 1})
    assert word_counts([b"ab", b"c"]) == c({b"ab": 1, b"c": 1})
    assert word_counts(b"Don't STOP, caf\xc3\xa9 x-y \xc3\x84pfel", "alnum") == c(
        {b"don": 1, b"t": 1, b"stop": 1, b"caf\xc3\xa9": 1, b"x": 1, b"y": 1, b"\xc3\x84pfel": 1})
    data = b"z\t1999\t5\t1\r\nz\t2000\t7\t2\r\nA\t1990\t3\t9"
    assert ngram_counts(data) == c({b"z": 12, b"A": 3})
    assert ngram_counts([data, b"A\t2005\t1\t1\n"]) == c({b"z": 12, b"A": 4})
    assert ngram_counts(data, years=(2000, 2000)) == c({b"z": 7})
    assert ngram_counts(data, years=(1990, 1999), value="volume_count") == c({b"z": 1, b"A": 9})
    assert ngram_counts(data, years=(2001, None)) == c()
    assert ngram_counts(data, value="volume_count", min_count=3) == c({b"z": 3, b"A": 9})
    assert ngram_counts(data, min_count=None) == ngram_counts(data, min_count=0)
    assert counts_for(data, "ngram", years=(None, 1999)) == c({b"z": 5, b"A": 3})
    for bad in (b"x\t1999\t5\n", b"x\t1999\t5\t1\t1\n", b"ok\t1\t1\t1\n\nok\t1\t1\t1\n"):
        try:
            ngram_counts(bad)
        except ValueError:
            pass
        else:
            raise AssertionError("accepted a malformed line: %r" % bad)
    counts = c({b"b": 2, b"a": 2, b"\xff": 3, b"Z": 1})
    assert tsv(counts) == b"\xff\t3\na\t2\nb\t2\nZ\t1\n"
    assert tsv(counts, top=2) == b"\xff\t3\na\t2\n"
    assert query_lines(counts, ["a", b"nosuch"]) == b"a\t2\nnosuch\t0\n"
    if failed:
        raise AssertionError("%d doctest(s) failed" % failed)
    print("oracle self-test passed")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Independent oracle for the mapreduce program.")
    parser.add_argument("--self-test", action="store_true", help="check the oracle itself and exit")
    parser.add_argument("--job", default="wordcount", choices=["wordcount", "ngram"])
    parser.add_argument("--words", default="whitespace", choices=sorted(WORD_MODES))
    parser.add_argument("--top", type=int, default=0)
    parser.add_argument("--query", action="append", default=[])
    parser.add_argument("--output")
    # Tuning options of the real program that do not change the result.
    parser.add_argument("--chunk-bytes", "--chunk-lines", "--workers", dest="ignored", action="append")
    parser.add_argument("inputs", nargs="*")
    args = parser.parse_args(argv)
    if args.self_test:
        self_test()
        return 0
    if not args.inputs:
        parser.error("no input given")
    if os.environ.get("OMPI_COMM_WORLD_RANK", "0") != "0":
        return 0
    counts = counts_for(records(args.inputs), args.job, args.words)
    out = sys.stdout.buffer
    out.write(tsv(counts, top=args.top))
    out.write(query_lines(counts, args.query))
    if args.output:
        with open(args.output + ".tmp", "wb") as f:
            f.write(tsv(counts))
        os.replace(args.output + ".tmp", args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
