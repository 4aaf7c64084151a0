#pragma once
// Registered tasks and helpers shared by the process-pool and executor tests (one definition
// each). Include it from exactly one source file per test program: it registers the tasks.
#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "mr/task.hpp"

namespace mr_test {

inline long square(long x) { return x * x; }
MR_TASK(square);

inline long sleep_ms(long ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
MR_TASK(sleep_ms);

inline long fail_on_three(long x) {
  if (x == 3) throw std::invalid_argument("three is not allowed");
  return x;
}
MR_TASK(fail_on_three);

inline long pid_of_worker(long) { return static_cast<long>(getpid()); }
MR_TASK(pid_of_worker);

/// Processes running this program whose parent is ours: under mpirun (whose daemon starts the
/// ranks and anything they spawn) the job's ranks plus its spawned workers.
inline int processes_of_this_job() {
  char self[4096] = {};
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return -1;
  int count = 0;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return -1;
  while (dirent* entry = readdir(proc)) {
    const std::string pid = entry->d_name;
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    char exe[4096] = {};
    if (readlink(("/proc/" + pid + "/exe").c_str(), exe, sizeof(exe) - 1) != n || std::strcmp(exe, self) != 0) continue;
    std::ifstream stat("/proc/" + pid + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    char state = 0;
    int ppid = 0;
    if (close != std::string::npos && std::sscanf(line.c_str() + close + 2, "%c %d", &state, &ppid) == 2 &&
        ppid == getppid())
      ++count;
  }
  closedir(proc);
  return count;
}

}  // namespace mr_test
