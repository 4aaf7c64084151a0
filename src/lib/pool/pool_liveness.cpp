// Liveness: a worker on this host is dead as soon as its process is; one on another host
// once its heartbeats stop. Either breaks the pool: every unfinished task fails.
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>

#include "pool/pool_impl.hpp"

namespace mr::detail {

bool process_alive(pid_t pid) {
  if (kill(pid, 0) != 0 && errno != EPERM) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;  // no procfs: trust kill()
  const auto close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return true;
  const char state = line[close + 2];
  return state != 'Z' && state != 'X';
}

void PoolCore::Impl::check_liveness() {
  const auto silence_limit = options.heartbeat_interval * options.missed_heartbeats;
  const auto now = Clock::now();
  for (const Worker& worker : workers) {
    if (worker.local) {
      if (process_alive(worker.pid)) continue;
      throw BrokenPool("mr: worker process " + std::to_string(worker.pid) +
                       " terminated abruptly (crash, abort, signal or exit); the pool is broken and its "
                       "unfinished tasks failed: create a new pool");
    }
    if (now - worker.last_heard < silence_limit) continue;
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f", silence_limit.count());
    throw BrokenPool("mr: pool worker " + std::to_string(worker.rank) + " sent no heartbeat for " + seconds +
                     " s (dead, or its host is unreachable); the pool is broken and its unfinished tasks "
                     "failed: create a new pool");
  }
}

void PoolCore::Impl::fail_everything(const std::exception_ptr& error) {
  for (Worker& worker : workers) {
    for (auto& sent : worker.in_flight)
      if (sent.completion) post_callbacks(sent.completion->fail(error));
    worker.in_flight.clear();
    worker.batches.clear();
  }
  in_flight_total = 0;
  std::deque<Job> queued;
  {
    std::lock_guard lock(mutex);
    queued.swap(incoming);
  }
  for (auto* jobs : {&pending, &pinned, &queued}) {
    for (Job& job : *jobs) post_callbacks(job.completion->fail(error));
    jobs->clear();
  }
}

void PoolCore::Impl::mark_broken(const std::string& reason) {
  std::lock_guard lock(mutex);
  if (broken_reason.empty()) broken_reason = reason;
  closed = true;
  broken = true;
}

bool PoolCore::broken() const { return impl_->broken.load(); }

std::string PoolCore::broken_reason() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->broken_reason;
}

}  // namespace mr::detail
