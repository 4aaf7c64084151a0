// The command line of `mapreduce`, declared once with CLI11: the parser, its validation and
// the --help text all come from the same declarations. Values are taken as text and checked
// here, so every bad value gets the same kind of message (and exit 2 in main).
#include "jobs/job_config.hpp"

#include <CLI/CLI.hpp>
#include <charconv>
#include <memory>

#include "mr/error.hpp"

namespace mr::detail {
namespace {

std::uint64_t parse_count(const std::string& option, const std::string& text, std::uint64_t min) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min)
    throw UsageError(option + ": expected an integer >= " + std::to_string(min) + ", got '" + text + "'");
  return value;
}

/// The raw option values, as CLI11 fills them.
struct RawArgs {
  std::string job, words, top, output, workers, chunk_bytes, years, count, min_count;
  std::vector<std::string> queries, inputs;
  bool json = false, timings = false, progress = false, skip_tagged = false;
};

std::unique_ptr<CLI::App> make_app(RawArgs& raw) {
  auto app = std::make_unique<CLI::App>(
      "Counts words (wordcount) or sums Google Books 1-gram counts (ngram: the v1 2009, v2 2012 and\n"
      "v3 2020 layouts, detected per file from its first line).\n"
      "INPUT: files, directories (recursively), .gz files, - or any stream (/dev/stdin, a FIFO, <(...)).\n"
      "Exit status: 0 ok, 1 failed (one `mapreduce: error:` line), 2 usage error.",
      "mapreduce");
  app->set_help_flag("-h,--help", "print this help and exit");
  app->allow_extras();  // unknown options are reported below, in this program's words
  app->add_option("--job", raw.job, "wordcount (default) or ngram")->type_name("J");
  app->add_option("--words", raw.words,
                  "whitespace (default; Python's bytes.split()) or alnum ([A-Za-z0-9] and bytes >= 0x80, "
                  "ASCII lower-cased); wordcount only")
      ->type_name("M");
  app->add_option("--top", raw.top, "print the K most frequent `key TAB count` lines")->type_name("K");
  app->add_option("--query", raw.queries, "print `W TAB count` (0 when absent); repeatable")
      ->type_name("W")
      ->allow_extra_args(false);  // one word per --query: the next arguments are inputs
  app->add_option("--output", raw.output,
                  "write every `key TAB count` line, count desc then key; - for stdout. A symlink is followed, "
                  "a device or FIFO written in place, a regular file replaced atomically keeping its mode")
      ->type_name("FILE");
  app->add_option("--min-count", raw.min_count, "drop keys whose total is below N")->type_name("N");
  app->add_option("--years", raw.years, "ngram: only records of years FROM..TO (inclusive; 1900- or -1950 open)")
      ->type_name("FROM-TO");
  app->add_option("--count", raw.count, "ngram: sum match (default) or volume counts")->type_name("match|volume");
  app->add_flag("--skip-tagged", raw.skip_tagged,
                "ngram: drop part-of-speech tagged ngrams (word_NOUN, ..., :_.) and tag tokens (_NOUN_)");
  app->add_flag("--json", raw.json, "print the run summary as JSON on stdout");
  app->add_flag("--timings", raw.timings, "print the time of each phase (the slowest rank's) on stderr");
  app->add_flag("--progress", raw.progress, "show progress on stderr (default: only on a terminal)");
  app->add_option("--workers", raw.workers, "run on a pool of N worker processes instead of mpirun ranks")
      ->type_name("N");
  app->add_option("--chunk-bytes", raw.chunk_bytes,
                  "bytes per input partition, on ranks and pool workers alike (default: about 4 per process, "
                  "at least 1 MiB)")
      ->type_name("N");
  app->add_option("INPUT", raw.inputs, "files, directories, .gz files, - or streams");
  return app;
}

bool given(const std::string& value) { return !value.empty(); }

}  // namespace

std::string job_usage() {
  RawArgs raw;
  return make_app(raw)->help();
}

const char* to_string(JobKind job) { return job == JobKind::Ngram ? "ngram" : "wordcount"; }
const char* to_string(WordMode words) { return words == WordMode::Alnum ? "alnum" : "whitespace"; }

void parse_year_range(const std::string& text, NgramOptions& options) {
  const auto fail = [&]() -> void {
    throw UsageError("--years: expected FROM-TO, FROM- or -TO with years FROM <= TO, got '" + text + "'");
  };
  const auto dash = text.find('-');
  if (dash == std::string::npos || text.size() == 1) fail();
  auto year = [&](std::string_view part, std::int64_t& out) {
    if (part.empty()) return;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), out);
    if (ec != std::errc{} || end != part.data() + part.size() || part.front() == '-' || part.front() == '+') fail();
  };
  const std::string_view all(text);
  year(all.substr(0, dash), options.first_year);
  year(all.substr(dash + 1), options.last_year);
  if (options.first_year > options.last_year) fail();
}

JobConfig parse_job_args(const std::vector<std::string>& args) {
  RawArgs raw;
  auto app = make_app(raw);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
  try {
    app->parse(reversed);
  } catch (const CLI::CallForHelp&) {
    JobConfig help;
    help.help = true;
    return help;
  } catch (const CLI::ArgumentMismatch& e) {
    const std::string what = e.what();
    throw UsageError(what.substr(0, what.find(':')) + ": missing value (see --help)");
  } catch (const CLI::ParseError& e) {
    throw UsageError(std::string(e.what()) + " (see --help)");
  }
  bool options_done = false;  // after `--` every argument is an input
  for (const auto& extra : app->remaining()) {
    if (!options_done && extra == "--") {
      options_done = true;
      continue;
    }
    if (!options_done && extra.size() > 1 && extra[0] == '-')
      throw UsageError("unknown option '" + extra.substr(0, extra.find('=')) + "' (see --help)");
    raw.inputs.push_back(extra);
  }

  JobConfig config;
  if (given(raw.job)) {
    if (raw.job == "wordcount") config.job = JobKind::WordCount;
    else if (raw.job == "ngram") config.job = JobKind::Ngram;
    else throw UsageError("--job: expected wordcount or ngram, got '" + raw.job + "'");
  }
  if (app->count("--words")) {
    if (raw.words == "whitespace") config.words = WordMode::Whitespace;
    else if (raw.words == "alnum") config.words = WordMode::Alnum;
    else throw UsageError("--words: expected whitespace or alnum, got '" + raw.words + "'");
    if (config.job != JobKind::WordCount) throw UsageError("--words applies to --job wordcount only");
  }
  if (app->count("--top")) config.top = parse_count("--top", raw.top, 1);
  if (app->count("--min-count")) config.min_count = parse_count("--min-count", raw.min_count, 0);
  if (app->count("--workers")) {
    const std::uint64_t n = parse_count("--workers", raw.workers, 1);
    if (n > 4096) throw UsageError("--workers: at most 4096 workers, got " + std::to_string(n));
    config.workers = static_cast<int>(n);
  }
  if (app->count("--chunk-bytes")) config.chunk_bytes = parse_count("--chunk-bytes", raw.chunk_bytes, 1);
  if (app->count("--output") && raw.output.empty()) throw UsageError("--output: expected a file name (or - for stdout)");
  config.output = raw.output;
  for (const char* ngram_only : {"--years", "--count", "--skip-tagged"})
    if (app->count(ngram_only) && config.job != JobKind::Ngram)
      throw UsageError(std::string(ngram_only) + " applies to --job ngram only");
  if (app->count("--years")) parse_year_range(raw.years, config.ngram);
  if (app->count("--count")) {
    if (raw.count == "match") config.ngram.value = NgramValue::Match;
    else if (raw.count == "volume") config.ngram.value = NgramValue::Volume;
    else throw UsageError("--count: expected match or volume, got '" + raw.count + "'");
  }
  config.ngram.skip_tagged = raw.skip_tagged;
  config.queries = raw.queries;
  config.inputs = raw.inputs;
  config.json = raw.json;
  config.timings = raw.timings;
  config.progress = raw.progress;
  if (config.inputs.empty()) throw UsageError("no input given: name files, directories or - (see --help)");
  return config;
}

}  // namespace mr::detail
