#pragma once
/// \file job_config.hpp
/// The `mapreduce` program's job description and its command-line parser. Shared by the
/// SPMD engine (mpirun) and the process-pool engine (`--workers N`).

#include <cstdint>
#include <string>
#include <vector>

namespace mr::detail {

/// What the job computes from each record.
enum class JobKind { WordCount, Ngram };

/// How `wordcount` splits a line into words.
enum class WordMode {
  Whitespace,  ///< Python's bytes.split(): runs of bytes other than " \t\n\v\f\r".
  Alnum,       ///< Runs of [A-Za-z0-9] or bytes >= 0x80, ASCII letters lower-cased.
};

/// Everything one `mapreduce` run needs; filled by parse_job_args().
struct JobConfig {
  JobKind job = JobKind::WordCount;
  WordMode words = WordMode::Whitespace;
  std::vector<std::string> inputs;   ///< files, directories, `.gz` files, `-` for stdin
  std::string output;                ///< --output FILE; empty: no file
  std::vector<std::string> queries;  ///< --query W, in command-line order
  std::uint64_t top = 0;             ///< --top K; 0: print nothing
  bool json = false;                 ///< --json: summary as one JSON object on stdout
  bool progress = false;             ///< --progress given explicitly
  bool timings = false;              ///< --timings: the phase times on stderr
  bool help = false;                 ///< --help: print usage and exit 0
  int workers = 0;                   ///< --workers N: pool engine with N processes; 0: SPMD
  std::uint64_t chunk_bytes = 0;     ///< --chunk-bytes N: partition size; 0: automatic
};

/// Parses `mapreduce`'s arguments (argv[0] excluded). Throws mr::UsageError with a message
/// that says what to do on an unknown option, a missing or malformed value, or no input.
JobConfig parse_job_args(const std::vector<std::string>& args);

/// The `--help` text.
const char* job_usage();

/// Name of a job kind as written on the command line ("wordcount", "ngram").
const char* to_string(JobKind job);
/// Name of a word mode as written on the command line ("whitespace", "alnum").
const char* to_string(WordMode words);

}  // namespace mr::detail
