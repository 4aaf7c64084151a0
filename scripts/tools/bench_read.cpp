// Reading a file in 32 MiB windows for the map phase: a memory map guarded against SIGBUS
// (sigsetjmp per window, as for_each_block_in_range does) against pread into a buffer,
// each followed by the same pass over the bytes (newline count), interleaved rounds, medians.
//   bench_read FILE [ROUNDS]
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
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
thread_local sigjmp_buf* guard = nullptr;
void on_bus(int, siginfo_t*, void*) {
  if (guard) siglongjmp(*guard, 1);
  std::abort();
}

std::size_t count_newlines(const char* p, std::size_t n) {
  std::size_t lines = 0;
  for (const char* end = p + n; (p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p))));
       ++p)
    ++lines;
  return lines;
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
    sigjmp_buf env;
    if (sigsetjmp(env, 1) != 0) {
      guard = nullptr;
      std::fprintf(stderr, "changed while being read\n");
      std::exit(1);
    }
    guard = &env;
    const std::size_t n = std::min(kWindow, size - at);
    ::madvise(const_cast<char*>(data) + at, n, MADV_WILLNEED);
    lines += count_newlines(data + at, n);
    ::madvise(const_cast<char*>(data) + at, n, MADV_DONTNEED);
    guard = nullptr;
  }
  ::munmap(const_cast<char*>(data), size);
  return lines;
}

std::size_t by_pread(const char* path) {
  const int fd = ::open(path, O_RDONLY);
  static std::vector<char> buffer(kWindow);
  std::size_t lines = 0;
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(fd, buffer.data(), kWindow, at);
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
  struct sigaction action {};
  action.sa_sigaction = on_bus;
  action.sa_flags = SA_SIGINFO | SA_NODEFER;
  ::sigaction(SIGBUS, &action, nullptr);
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 7;
  struct stat st {};
  ::stat(argv[1], &st);
  std::vector<double> mapped, pread_times;
  std::size_t a = 0, b = 0;
  by_pread(argv[1]);  // page cache warm
  for (int i = 0; i < rounds; ++i) {
    auto t = std::chrono::steady_clock::now();
    a = by_mmap(argv[1]);
    mapped.push_back(seconds_since(t));
    t = std::chrono::steady_clock::now();
    b = by_pread(argv[1]);
    pread_times.push_back(seconds_since(t));
  }
  if (a != b) return 1;
  std::sort(mapped.begin(), mapped.end());
  std::sort(pread_times.begin(), pread_times.end());
  const double mb = static_cast<double>(st.st_size) / 1e6;
  std::printf("| read path (%.0f MB, 32 MiB windows, %d interleaved rounds) | median s | MB/s |\n|---|---|---|\n", mb,
              rounds);
  std::printf("| mmap + SIGBUS guard (sigsetjmp per window) | %.3f | %.0f |\n", mapped[mapped.size() / 2],
              mb / mapped[mapped.size() / 2]);
  std::printf("| pread into a buffer | %.3f | %.0f |\n", pread_times[pread_times.size() / 2],
              mb / pread_times[pread_times.size() / 2]);
  return 0;
}
