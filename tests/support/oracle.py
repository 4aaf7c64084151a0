#!/usr/bin/env python3
"""The one independent oracle for the mapreduce program, shared by every Python and shell test.

Expected results are computed the obvious way in Python, never by mr itself:
  - wordcount, whitespace words: bytes.split();
  - wordcount, alnum words: runs of [A-Za-z0-9\\x80-\\xff], ASCII letters lower-cased;
  - ngram: Google Books 1-gram files of the three published layouts, told apart by each
    file's first line (split at '\\n', one trailing '\\r' ignored): v1 `ngram TAB year TAB
    match TAB pages TAB volumes`, v2 `ngram TAB year TAB match TAB volumes`, v3 `ngram TAB
    year,match,volumes TAB ...`; match_count (or volume_count) summed per ngram, optionally
    only over some years and without part-of-speech tagged ngrams.
Results are ordered by count descending, then key ascending bytewise, one `key TAB count`
line each.

As a module (tests put this directory on sys.path):
    sys.path.insert(0, os.path.join(HERE, "..", "support")); import oracle
    oracle.tsv(oracle.word_counts(data))            # the --output file's bytes
    oracle.ngram_counts(texts, years=(1990, None), value="volume_count", min_count=10, skip_tagged=True)

As a program, the same command line as mapreduce (a subset); under mpirun only rank 0
writes, so it can also stand in for the program in a job script:
    oracle.py [--job wordcount|ngram] [--words whitespace|alnum] [--top K] [--query W]...
              [--output FILE] [--years FROM-TO] [--count match|volume] [--skip-tagged]
              [--min-count N] INPUT...
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
POS_TAGS = (b"NOUN", b"VERB", b"ADJ", b"ADV", b"PRON", b"DET", b"ADP", b"NUM", b"CONJ", b"PRT", b"X", b".")
_TAG_TOKEN = re.compile(rb"_[A-Z.]+_")


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
def ngram_layout(first_line):
    """"v3" when the field after the ngram holds a comma, "v1" for 5 fields, else "v2"."""
    fields = first_line.split(b"\t")
    if len(fields) > 1 and b"," in fields[1]:
        return "v3"
    return "v1" if len(fields) == 5 else "v2"


def _number(field, line):
    if not field.isdigit():
        raise ValueError("malformed ngram line: %r" % line[:200])
    return int(field)


def ngram_records(data):
    """(ngram, year, match_count, volume_count) for each record of `data` (bytes, or an
    iterable of bytes: each one whole file, its layout from its own first line). Lines end
    at '\\n'; one trailing '\\r' is ignored; a final line without '\\n' counts. A line not
    in its file's layout raises ValueError (the program rejects it too)."""
    for text in _texts(data):
        lines = [line[:-1] if line.endswith(b"\r") else line for line in text.split(b"\n")]
        if lines[-1] == b"":
            lines.pop()  # after the final '\n' (or empty text): no line
        layout = ngram_layout(lines[0]) if lines else "v2"
        for line in lines:
            fields = line.split(b"\t")
            if layout == "v3":
                if len(fields) < 2 or fields[0] == b"":
                    raise ValueError("malformed ngram line: %r" % line[:200])
                for tuple_text in fields[1:]:
                    parts = tuple_text.split(b",")
                    if len(parts) != 3:
                        raise ValueError("malformed ngram tuple: %r" % tuple_text[:200])
                    yield (fields[0],) + tuple(_number(part, line) for part in parts)
                continue
            if len(fields) != (5 if layout == "v1" else 4) or fields[0] == b"":
                raise ValueError("malformed ngram line: %r" % line[:200])
            numbers = [_number(field, line) for field in fields[1:]]
            yield fields[0], numbers[0], numbers[1], numbers[-1]


def is_tagged(ngram):
    """A part-of-speech tagged ngram (`burnt_VERB`, `:_.`) or a pure tag token (`_NOUN_`)."""
    if _TAG_TOKEN.fullmatch(ngram):
        return True
    word, underscore, tag = ngram.rpartition(b"_")
    return underscore == b"_" and word != b"" and not word.endswith(b" ") and tag in POS_TAGS


def ngram_counts(data, *, years=None, value="match_count", min_count=None, skip_tagged=False):
    """Counter of ngram -> sum of `value` ("match_count", the default, or "volume_count")
    over the lines of `data` (see ngram_records).
    years: (first, last), inclusive, either end None for open; None (default): every year.
    min_count: keep only ngrams whose sum is at least this; None (default): keep all.
    skip_tagged: leave out tagged ngrams and tag tokens (is_tagged).
    An ngram without a record inside `years` does not appear.

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
        if skip_tagged and is_tagged(ngram):
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
    for text in file_texts(paths):
        yield from text.splitlines(keepends=True)


def file_texts(paths):
    """The whole text of every input file, one bytes object each; .gz files decompressed."""
    for name in input_files(paths):
        opener = gzip.open if name.endswith(".gz") else open
        with opener(name, "rb") as f:
            yield f.read()


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
    v1 = b"z\t1999\t5\t3\t1\nz\t2000\t7\t6\t2\n"
    v3 = b"z\t1999,5,1\t2000,7,2\nA\t1990,3,9\n"
    assert ngram_counts(v1) == c({b"z": 12}) and ngram_counts(v3) == c({b"z": 12, b"A": 3})
    assert ngram_counts([v1, v3], value="volume_count") == c({b"z": 6, b"A": 9})
    tagged = b"_NOUN_\t1999\t5\t1\nburnt\t1999\t1\t1\nburnt_VERB\t1999\t1\t1\n:_.\t2000\t1\t1\nA_B\t2000\t1\t1\n"
    assert ngram_counts(tagged, skip_tagged=True) == c({b"burnt": 1, b"A_B": 1})
    assert ngram_counts(b"a\t1999,0,1\n", years=(1999, 1999)) == c({b"a": 0})
    assert b"a" not in ngram_counts(b"a\t1999,5,1\n", years=(2000, None))
    for bad in (b"x\t1999\t5\n", b"x\t1999\t5\t1\t1\nx\t1\t1\t1\n", b"ok\t1\t1\t1\n\nok\t1\t1\t1\n",
                b"x\t1999,5,1\t2000,5\n", b"x\t1999,5,1\ny\t1999\t5\t1\n", b"x\t1999\t-5\t1\n"):
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
    parser.add_argument("--years")
    parser.add_argument("--count", default="match", choices=["match", "volume"])
    parser.add_argument("--skip-tagged", action="store_true")
    parser.add_argument("--min-count", type=int)
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
    if args.job == "ngram":
        first, _, last = (args.years or "-").partition("-")
        counts = ngram_counts(file_texts(args.inputs), years=(int(first) if first else None, int(last) if last else None),
                              value=args.count + "_count", skip_tagged=args.skip_tagged)
    else:
        counts = word_counts(records(args.inputs), args.words)
    counts = at_least(counts, args.min_count)
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
