// The read path of the map phase (README, "The read path"): the memory map in 32 MiB windows
// that the engine used until 2026-12-06 (MADV_WILLNEED ahead, MADV_DONTNEED behind) against
// pread into one reused buffer of 256 KiB to 32 MiB, each followed by the same pass over the
// bytes (newline count). Fresh process state per round is not needed: neither path keeps
// anything between rounds but the pread buffer, which the engine keeps too. Interleaved
// rounds, medians.
//   bench_read FILE [ROUNDS]
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {
constexpr std::size_t kWindow = std::size_t{32} << 20;

std::size_t count_newlines(const char* p, std::size_t n) {
  return static_cast<std::size_t>(std::count(p, p + n, '\n'));
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::size_t by_mmap(const char* path) {
  const int fd = ::open(path, O_RDONLY);
  struct stat st {};
  ::fstat(fd, &st);
  const auto size = static_cast<std::size_t>(st.st_size);
  auto* data = static_cast<const char*>(::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0));
  ::close(fd);
  std::size_t lines = 0;
  for (std::size_t at = 0; at < size; at += kWindow) {
    const std::size_t n = std::min(kWindow, size - at);
    if (at + n < size) ::madvise(const_cast<char*>(data) + at + n, std::min(kWindow, size - at - n), MADV_WILLNEED);
    lines += count_newlines(data + at, n);
    ::madvise(const_cast<char*>(data) + at, n, MADV_DONTNEED);
  }
  ::munmap(const_cast<char*>(data), size);
  return lines;
}

std::size_t by_pread(const char* path, std::vector<char>& buffer) {
  const int fd = ::open(path, O_RDONLY);
  std::size_t lines = 0;
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), at);
    if (n <= 0) break;
    lines += count_newlines(buffer.data(), static_cast<std::size_t>(n));
    at += n;
  }
  ::close(fd);
  return lines;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_read FILE [ROUNDS]\n");
    return 2;
  }
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 7;
  struct stat st {};
  ::stat(argv[1], &st);
  const std::vector<std::size_t> blocks = {std::size_t{256} << 10, std::size_t{1} << 20, std::size_t{4} << 20, kWindow};
  std::vector<std::vector<char>> buffers;
  for (const std::size_t bytes : blocks) buffers.emplace_back(bytes, '\0');
  std::vector<double> mapped;
  std::vector<std::vector<double>> preads(blocks.size());
  const std::size_t lines = by_pread(argv[1], buffers[0]);  // page cache warm
  for (int i = 0; i < rounds; ++i) {
    auto t = std::chrono::steady_clock::now();
    if (by_mmap(argv[1]) != lines) return 1;
    mapped.push_back(seconds_since(t));
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      t = std::chrono::steady_clock::now();
      if (by_pread(argv[1], buffers[b]) != lines) return 1;
      preads[b].push_back(seconds_since(t));
    }
  }
  const double mb = static_cast<double>(st.st_size) / 1e6;
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf("| read path (%.0f MB in page cache, %d interleaved rounds) | median s | MB/s |\n|---|---|---|\n", mb,
              rounds);
  std::printf("| mmap in 32 MiB windows (the engine before 2026-12-06) | %.3f | %.0f |\n", median(mapped),
              mb / median(mapped));
  for (std::size_t b = 0; b < blocks.size(); ++b)
    std::printf("| pread into one reused %zu KiB buffer%s | %.3f | %.0f |\n", blocks[b] >> 10,
                blocks[b] == (std::size_t{1} << 20) ? " (the engine)" : "", median(preads[b]),
                mb / median(preads[b]));
  return 0;
}
