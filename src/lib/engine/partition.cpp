#include "engine/partition.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "mr/error.hpp"

namespace mr::detail {
namespace fs = std::filesystem;
namespace {

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

InputFile describe_file(const std::string& path) {
  // Not a regular file (FIFO, /dev/stdin, <(...), a device): a stream, opened only when it
  // is read (opening a FIFO here and closing it again could cost its writer a SIGPIPE).
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw InputError(path + ": cannot open: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return InputFile{path, 0, InputKind::Stdin};
  // open() rather than access(): it is what reading will do, and it works for root too.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(path + ": cannot open: " + std::strerror(errno));
  char byte = 0;
  // A regular file of size 0 with content (procfs, sysfs): streamed, as its size is unknown.
  const bool has_content = st.st_size == 0 && ::read(fd, &byte, 1) == 1;
  ::close(fd);
  if (has_content) return InputFile{path, 0, InputKind::Stdin};
  return InputFile{path, static_cast<std::uint64_t>(st.st_size), ends_with(path, ".gz") ? InputKind::Gzip : InputKind::File};
}

}  // namespace

std::vector<InputFile> discover_inputs(const std::vector<std::string>& arguments) {
  std::vector<InputFile> files;
  bool stdin_seen = false;
  for (const auto& argument : arguments) {
    if (argument == "-") {
      if (stdin_seen) throw UsageError("'-' (stdin) given more than once");
      stdin_seen = true;
      files.push_back(InputFile{"-", 0, InputKind::Stdin});
      continue;
    }
    std::error_code ec;
    const auto status = fs::status(argument, ec);
    if (ec || !fs::exists(status)) {
      throw InputError(argument + ": no such file or directory");
    }
    if (fs::is_directory(status)) {
      std::vector<std::string> found;
      fs::recursive_directory_iterator it(argument, fs::directory_options::none, ec), end;
      if (ec) throw InputError(argument + ": cannot read directory: " + ec.message());
      for (; it != end; it.increment(ec)) {
        if (ec) throw InputError(argument + ": cannot read directory: " + ec.message());
        if (it->is_regular_file(ec)) found.push_back(it->path().string());
      }
      if (ec) throw InputError(argument + ": cannot read directory: " + ec.message());
      if (found.empty()) throw InputError(argument + ": directory contains no files");
      for (const auto& path : found) files.push_back(describe_file(path));
    } else {
      files.push_back(describe_file(argument));
    }
  }
  // Sorted by path so the result cannot depend on argument order; a file named twice is
  // counted twice (like `cat a a`).
  std::stable_sort(files.begin(), files.end(),
                   [](const InputFile& a, const InputFile& b) { return a.path < b.path; });
  return files;
}

std::vector<std::vector<ByteRange>> plan_ranges(const std::vector<InputFile>& inputs, int ranks,
                                                const PartitionOptions& options) {
  if (ranks < 1) throw UsageError("plan_ranges: need at least one rank");
  std::vector<std::vector<ByteRange>> plan(static_cast<std::size_t>(ranks));
  std::uint64_t total = 0;
  for (const auto& input : inputs)
    if (input.kind == InputKind::File) total += input.size;
  if (total == 0) return plan;
  const std::uint64_t wanted = static_cast<std::uint64_t>(ranks) * std::max<std::uint64_t>(1, options.ranges_per_rank);
  const std::uint64_t piece = options.range_bytes > 0
                                  ? options.range_bytes
                                  : std::max<std::uint64_t>({1, options.min_range_bytes, (total + wanted - 1) / wanted});
  const std::uint64_t pieces = (total + piece - 1) / piece;
  // Piece i covers global bytes [i*piece, (i+1)*piece) and goes to rank i*ranks/pieces:
  // contiguous runs, as equal as the piece count allows.
  std::uint64_t global = 0;  // global offset of the current file's first byte
  for (std::uint32_t f = 0; f < inputs.size(); ++f) {
    const auto& input = inputs[f];
    if (input.kind != InputKind::File || input.size == 0) continue;
    std::uint64_t at = 0;
    while (at < input.size) {
      const std::uint64_t index = (global + at) / piece;
      const std::uint64_t piece_end = (index + 1) * piece;
      const std::uint64_t end = std::min(input.size, piece_end - global);
      const auto rank = static_cast<std::size_t>(index * static_cast<std::uint64_t>(ranks) / pieces);
      plan[rank].push_back(ByteRange{f, at, end});
      at = end;
    }
    global += input.size;
  }
  return plan;
}

std::vector<std::uint64_t> split_lines(std::string_view text, int parts) {
  std::vector<std::uint64_t> cuts(static_cast<std::size_t>(parts) + 1);
  cuts[0] = 0;
  for (int p = 1; p < parts; ++p) {
    const std::uint64_t target = text.size() * static_cast<std::uint64_t>(p) / static_cast<std::uint64_t>(parts);
    cuts[static_cast<std::size_t>(p)] = std::max(cuts[static_cast<std::size_t>(p) - 1], first_line_start(text, target));
  }
  cuts[static_cast<std::size_t>(parts)] = text.size();
  return cuts;
}

std::vector<std::vector<std::uint32_t>> assign_whole_files(const std::vector<InputFile>& inputs, int ranks) {
  const auto n = static_cast<std::size_t>(std::max(ranks, 1));
  std::vector<std::uint32_t> files;
  for (std::uint32_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].kind == InputKind::Gzip) files.push_back(i);
  // Largest first (ties: input order), each onto the least-loaded rank (ties: the lower rank).
  std::stable_sort(files.begin(), files.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return inputs[a].size > inputs[b].size; });
  std::vector<std::uint64_t> load(n, 0);
  std::vector<std::vector<std::uint32_t>> out(n);
  for (const std::uint32_t file : files) {
    const auto rank = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    load[rank] += std::max<std::uint64_t>(inputs[file].size, 1);  // empty files still spread
    out[rank].push_back(file);
  }
  for (auto& list : out) std::sort(list.begin(), list.end());
  return out;
}

}  // namespace mr::detail
