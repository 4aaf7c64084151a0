#include "mr/thread_pool_executor.hpp"

#include <string>

namespace mr {
namespace detail {

ThreadWorkQueue::ThreadWorkQueue(std::size_t threads) : thread_count_(threads) {
  if (threads == 0)
    throw UsageError("ThreadPoolExecutor: max_workers must be at least 1 (got 0)");
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { serve(); });
  for (const auto& thread : threads_) thread_ids_.push_back(thread.get_id());
}

ThreadWorkQueue::~ThreadWorkQueue() { shutdown(true, false); }

void ThreadWorkQueue::push(std::unique_ptr<ThreadJob> job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) throw StateError("cannot submit to an executor after shutdown()");
    jobs_.push_back(std::move(job));
  }
  work_cv_.notify_one();
}

void ThreadWorkQueue::shutdown(bool wait, bool cancel_pending) {
  std::deque<std::unique_ptr<ThreadJob>> dropped;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (cancel_pending) dropped.swap(jobs_);
  }
  work_cv_.notify_all();
  // Cancel outside the lock: cancellation runs the futures' done-callbacks.
  for (auto& job : dropped) job->cancel();
  if (!wait) return;
  // A done-callback running on a pool thread may shut the executor down; that thread cannot
  // wait for itself (nor for a thread waiting for it), so such a shutdown does not wait.
  for (const auto& id : thread_ids_)
    if (id == std::this_thread::get_id()) return;
  std::lock_guard join_lock(join_mutex_);
  for (auto& thread : threads_)
    if (thread.joinable()) thread.join();
}

void ThreadWorkQueue::serve() {
  for (;;) {
    std::unique_ptr<ThreadJob> job;
    {
      std::unique_lock lock(mutex_);
      work_cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      // Queued work still runs after shutdown (Python does the same unless cancel_futures).
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job->run();
  }
}

}  // namespace detail

ThreadPoolExecutor::ThreadPoolExecutor(std::size_t max_workers) : queue_(max_workers) {}

ThreadPoolExecutor::~ThreadPoolExecutor() { shutdown(true, false); }

void ThreadPoolExecutor::shutdown(bool wait, bool cancel_futures) {
  queue_.shutdown(wait, cancel_futures);
}

std::size_t ThreadPoolExecutor::default_max_workers() {
  const unsigned hardware = std::thread::hardware_concurrency();
  return hardware == 0 ? 1 : hardware;
}

}  // namespace mr
