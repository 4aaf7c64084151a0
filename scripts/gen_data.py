#!/usr/bin/env python3
"""Deterministic (seeded) test data for mapreduce, streamed so GB outputs use little memory.

  gen_data.py text  --size 500M [--seed 1] [--vocabulary 50000] -o data/text.txt
      English-like prose: Zipf-distributed words (a few real function words at the top,
      then syllable-built words), sentences with capitals and punctuation, ~70-byte lines.
  gen_data.py ngram --size 1G [--seed 1] [--format v1|v2|v3] [--tagged] [--vocabulary N] -o data/1gram.tsv
      Google Books 1-gram lines in a published layout, sorted like the published files (by
      ngram bytewise, then year), years 1500-2019, many years per ngram, Zipf-ish counts:
        v1 (2009): `ngram TAB year TAB match_count TAB page_count TAB volume_count`
        v2 (2012, default): `ngram TAB year TAB match_count TAB volume_count`
        v3 (2020): `ngram TAB year,match_count,volume_count TAB ...` (one line per ngram)
      A few ngrams carry a part-of-speech suffix (`word_NOUN`); --tagged adds, as in the
      v2/v3 releases, tagged twins of many words (`burnt_VERB` next to `burnt`), tagged
      punctuation (`:_.`) and the pure tag tokens (`_NOUN_`, `_START_`).
  gen_data.py words --distinct 10000000 [--size 79M] -o data/distinct.txt
      High cardinality: exactly `distinct` different lower-case words (3-8 letters), each
      once per pass in a different order, passes repeated until `size` (at least one pass),
      ten words a line.

The output is written to a temporary file and renamed, and it is a pure function of the
arguments.
"""
import argparse
import itertools
import os
import random
import sys

COMMON = ("the of and to a in is that it was for on as with he be by at his I not this had "
          "are but from or have an they which you were her she all their we one there been "
          "has would when who will more if no out so said what up its about into than them "
          "can only other new some could time these two may then do first any my now such "
          "like our over man me even most made after also did many before must through back "
          "years where much your way well down should because each just those people how too "
          "little state good very make world still own see men work long get here between both "
          "life being under never day same another know while last might us great old year off "
          "come since against go came right used take three").split()
ONSETS = ["", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w",
          "y", "z", "bl", "br", "ch", "cl", "cr", "dr", "fl", "fr", "gl", "gr", "pl", "pr", "sh",
          "sl", "sm", "sn", "sp", "st", "str", "th", "tr", "wh"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ee", "ie", "oa", "oo", "ou", "y"]
CODAS = ["", "", "", "n", "r", "s", "t", "l", "m", "nd", "ng", "nt", "rd", "rs", "st", "ck", "ll", "ss"]


def parse_size(text):
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().rstrip("B")
    unit = text[-1] if text and text[-1] in units else ""
    return int(float(text[: len(text) - len(unit)]) * units[unit])


def make_words(rng, count):
    """`count` distinct pronounceable lower-case words."""
    seen = set(COMMON)
    words = list(COMMON)
    while len(words) < count:
        syllables = rng.choice((1, 1, 2, 2, 2, 3))
        word = "".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(syllables))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words[:count]


def zipf_cum_weights(n, exponent):
    return list(itertools.accumulate(1.0 / (rank ** exponent) for rank in range(1, n + 1)))


def write_text(out, size, rng, vocabulary):
    words = make_words(rng, vocabulary)
    common = words[: len(COMMON)]
    rest = words[len(COMMON):]
    rng.shuffle(rest)  # popularity independent of generation order
    words = common + rest
    cum = zipf_cum_weights(len(words), 1.05)
    written = 0
    sentence_left = 0
    while written < size:
        batch = rng.choices(words, cum_weights=cum, k=60000)
        lines, line, line_len = [], [], 0
        for word in batch:
            if sentence_left == 0:
                sentence_left = rng.randint(5, 25)
                word = word[:1].upper() + word[1:]
            sentence_left -= 1
            if sentence_left == 0:
                word += "."
            elif rng.random() < 0.06:
                word += ","
            line.append(word)
            line_len += len(word) + 1
            if line_len >= 70:
                lines.append(" ".join(line))
                line, line_len = [], 0
        if line:
            lines.append(" ".join(line))
        chunk = ("\n".join(lines) + "\n").encode()
        out.write(chunk)
        written += len(chunk)


TAGS = ("NOUN", "VERB", "ADJ", "ADV", "PRON", "DET", "ADP", "NUM", "CONJ", "PRT", "X", ".")


def ngram_line(ngram, records, layout):
    """One ngram's lines in `layout` (v1, v2, v3); records: [(year, match, volume)]."""
    if layout == "v3":
        return ngram + b"".join(b"\t%d,%d,%d" % r for r in records) + b"\n"
    if layout == "v1":  # page_count lies between volume_count and match_count
        return b"".join(b"%s\t%d\t%d\t%d\t%d\n" % (ngram, y, m, (m + v) // 2, v) for y, m, v in records)
    return b"".join(b"%s\t%d\t%d\t%d\n" % (ngram, y, m, v) for y, m, v in records)


def write_ngram(out, size, rng, layout="v2", tagged=False, vocabulary=None):
    # ~1.3 KB per ngram on average: make enough sorted ngrams to reach `size`. With a
    # vocabulary, exactly that many words, each with about size/vocabulary bytes of years.
    needed = vocabulary or max(16, int(size / 1000 * 1.3))
    words = make_words(rng, needed)
    variants = []
    for word in words:
        r = rng.random()
        if r < 0.15:
            word = word.capitalize()
        elif r < 0.20:
            word += rng.choice(("_NOUN", "_VERB", "_ADJ", "_ADV"))
        elif r < 0.22:
            word = word.upper()
        variants.append(word.encode())
    variants += [b"Aardvark", b"aardvark"]  # so `--query Aardvark` has an answer, as on the real files
    if tagged:
        variants += [w.encode() + b"_" + rng.choice(TAGS).encode() for w in words if rng.random() < 0.3]
        variants += [b"_%s_" % t.encode() for t in TAGS[:-1] + ("START", "END")]
        variants += [b":_.", b"._.", b"Aardvark_NOUN"]
    variants = sorted(set(variants))
    written = 0
    for ngram in variants:
        popularity = rng.paretovariate(1.1)  # Zipf-ish: a few very frequent ngrams
        first = rng.randint(1500, 2010) if popularity < 5 else rng.randint(1500, 1800)
        if vocabulary:
            span = max(1, int(rng.uniform(0.2, 1.8) * size / len(variants) / 24))  # ~24 bytes a v2 line
            first = rng.randint(1500, max(1500, 2019 - span))
            years = list(range(first, min(2020, first + span)))
        else:
            years = [y for y in range(first, 2020) if rng.random() < min(0.95, 0.3 + popularity / 20)]
        if not years:
            years = [2019]
        base = popularity * 3
        records = []
        for year in years:
            volumes = max(1, int(base * rng.random() + 1))
            matches = volumes + int(base * 2 * rng.random())
            records.append((year, matches, volumes))
        chunk = ngram_line(ngram, records, layout)
        out.write(chunk)
        written += len(chunk)
        if written >= size and not vocabulary:
            break
    if written < size and not vocabulary:
        sys.exit("gen_data.py: vocabulary too small for the requested size")


def write_words(out, size, distinct):
    # Word x is the bijective base-26 spelling of x + 1 (unique, no leading-zero clash) and
    # two letters derived from x (removing them gives x back, so words stay distinct). Pass p
    # visits x = (i * a + p * b) mod distinct, a permutation since a is a prime > distinct.
    letters = "abcdefghijklmnopqrstuvwxyz"
    def spell(x):
        n, chars = x + 1, []
        while n:
            n, r = divmod(n - 1, 26)
            chars.append(letters[r])
        h = (x * 0x9E3779B1) & 0xFFFFFFFF
        return "".join(chars) + letters[h % 26] + letters[(h >> 8) % 26]
    a, b = 2654435761, 40503
    if distinct >= a:
        sys.exit("gen_data.py: --distinct must be below %d" % a)
    written, passes = 0, 0
    while passes == 0 or written < size:
        for start in range(0, distinct, 100000):
            words = [spell((i * a + passes * b) % distinct) for i in range(start, min(distinct, start + 100000))]
            chunk = "\n".join(" ".join(words[j:j + 10]) for j in range(0, len(words), 10)) + "\n"
            out.write(chunk.encode())
            written += len(chunk)
            if passes > 0 and written >= size:
                break
        passes += 1


def write(out, size, rng, args):
    if args.kind == "text":
        write_text(out, size, rng, args.vocabulary or 50000)
    elif args.kind == "ngram":
        write_ngram(out, size, rng, args.format, args.tagged, args.vocabulary)
    else:
        write_words(out, size if args.size_given else 0, args.distinct)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=("text", "ngram", "words"))
    parser.add_argument("--size", default=None, help="bytes, with K/M/G suffix (default 1M; words: one pass)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--format", default="v2", choices=("v1", "v2", "v3"), help="ngram layout (default v2)")
    parser.add_argument("--tagged", action="store_true", help="ngram: add POS-tagged twins and tag tokens")
    parser.add_argument("--vocabulary", type=int, default=None,
                        help="distinct words (text, default 50000), or exactly this many words to build the ngrams "
                             "from (ngram; --size is then approximate)")
    parser.add_argument("--distinct", type=int, default=1000000, help="distinct words for words (default 1000000)")
    parser.add_argument("-o", "--output", required=True, help="output file ('-' for stdout)")
    args = parser.parse_args()
    args.size_given = args.size is not None
    size = parse_size(args.size or "1M")
    rng = random.Random(args.seed)
    if args.output == "-":
        out = sys.stdout.buffer
        write(out, size, rng, args)
        return
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    temp = args.output + ".tmp"
    try:
        with open(temp, "wb", buffering=1 << 20) as out:
            write(out, size, rng, args)
        os.replace(temp, args.output)
    except BaseException:
        if os.path.exists(temp):
            os.remove(temp)
        raise


if __name__ == "__main__":
    main()
