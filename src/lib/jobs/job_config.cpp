#include "jobs/job_config.hpp"

#include <charconv>
#include <optional>

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

}  // namespace

const char* job_usage() {
  return "usage: mapreduce [--job wordcount|ngram] [--words whitespace|alnum] [--top K]\n"
         "                 [--query WORD]... [--output FILE] [--json] [--timings] [--progress]\n"
         "                 [--workers N] [--chunk-bytes N] INPUT...\n"
         "\n"
         "Counts words (wordcount) or sums Google Books 1-gram match counts (ngram).\n"
         "INPUT: files, directories (recursively), .gz files, - for stdin.\n"
         "  --job J          wordcount (default) or ngram\n"
         "  --words M        whitespace (default; Python's bytes.split()) or alnum\n"
         "                   ([A-Za-z0-9] and bytes >= 0x80, ASCII lower-cased)\n"
         "  --top K          print the K most frequent `key TAB count` lines\n"
         "  --query W        print `W TAB count` (0 when absent); repeatable\n"
         "  --output FILE    write every `key TAB count` line, count desc then key\n"
         "  --json           print the run summary as JSON on stdout\n"
         "  --timings        print the time of each phase (slowest rank) on stderr\n"
         "  --progress       show progress on stderr (default: only on a terminal)\n"
         "  --workers N      run on a pool of N worker processes instead of mpirun ranks\n"
         "  --chunk-bytes N  bytes per input partition, on ranks and pool workers alike\n"
         "                   (default: about 4 per process, at least 1 MiB)\n";
}

const char* to_string(JobKind job) { return job == JobKind::Ngram ? "ngram" : "wordcount"; }
const char* to_string(WordMode words) { return words == WordMode::Alnum ? "alnum" : "whitespace"; }

JobConfig parse_job_args(const std::vector<std::string>& args) {
  JobConfig config;
  bool words_given = false;
  bool options_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options_done || arg == "-" || arg.rfind("--", 0) != 0) {
      if (!options_done && arg.size() > 1 && arg[0] == '-' && arg != "-")
        throw UsageError("unknown option '" + arg + "' (see --help)");
      config.inputs.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    std::string name = arg;
    std::optional<std::string> inline_value;
    if (const auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    auto value = [&]() -> std::string {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) throw UsageError(name + ": missing value (see --help)");
      return args[++i];
    };
    auto flag = [&] {
      if (inline_value) throw UsageError(name + " takes no value");
    };
    if (name == "--job") {
      const std::string v = value();
      if (v == "wordcount") config.job = JobKind::WordCount;
      else if (v == "ngram") config.job = JobKind::Ngram;
      else throw UsageError("--job: expected wordcount or ngram, got '" + v + "'");
    } else if (name == "--words") {
      const std::string v = value();
      if (v == "whitespace") config.words = WordMode::Whitespace;
      else if (v == "alnum") config.words = WordMode::Alnum;
      else throw UsageError("--words: expected whitespace or alnum, got '" + v + "'");
      words_given = true;
    } else if (name == "--top") {
      config.top = parse_count(name, value(), 1);
    } else if (name == "--query") {
      config.queries.push_back(value());
    } else if (name == "--output") {
      config.output = value();
      if (config.output.empty()) throw UsageError("--output: expected a file name");
    } else if (name == "--json") {
      flag();
      config.json = true;
    } else if (name == "--timings") {
      flag();
      config.timings = true;
    } else if (name == "--progress") {
      flag();
      config.progress = true;
    } else if (name == "--help") {
      flag();
      config.help = true;
    } else if (name == "--workers") {
      const std::uint64_t n = parse_count(name, value(), 1);
      if (n > 4096) throw UsageError("--workers: at most 4096 workers, got " + std::to_string(n));
      config.workers = static_cast<int>(n);
    } else if (name == "--chunk-bytes") {
      config.chunk_bytes = parse_count(name, value(), 1);
    } else {
      throw UsageError("unknown option '" + name + "' (see --help)");
    }
  }
  if (config.help) return config;
  if (words_given && config.job != JobKind::WordCount)
    throw UsageError("--words applies to --job wordcount only");
  if (config.inputs.empty()) throw UsageError("no input given: name files, directories or - (see --help)");
  return config;
}

}  // namespace mr::detail
