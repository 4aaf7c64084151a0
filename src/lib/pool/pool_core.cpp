// The pool core's progress thread (the one thread that makes the pool's MPI calls), its
// callback thread, and the public accessors. The other parts of PoolCore::Impl are in the
// files listed in pool_impl.hpp.
#include <algorithm>
#include <cstdio>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/backoff.hpp"
#include "pool/pool_impl.hpp"

namespace mr::detail {
namespace {

/// The progress thread spins this long after any activity before it sleeps on its doorbell:
/// enough to catch a worker's answer to an apply (about 10 µs) without a futex wake-up, short
/// enough that submissions or results arriving milliseconds apart (the pool engine's map
/// tasks) do not keep it spinning on a core the workers need (a 2 ms window cost the engine
/// 0.15 s of CPU per 200 MB on 2 cores).
constexpr auto kProgressSpinWindow = std::chrono::microseconds(100);

/// An idle progress thread wakes this often to check worker liveness.
constexpr auto kIdleNap = std::chrono::milliseconds(200);
}  // namespace

void PoolCore::Impl::post_callbacks(Callbacks callbacks) {
  if (callbacks.empty()) return;
  {
    std::lock_guard lock(callback_mutex);
    callback_queue.push_back(std::move(callbacks));
  }
  callback_wake.notify_one();
}

void PoolCore::Impl::callback_loop() {
  for (;;) {
    Callbacks batch;
    {
      std::unique_lock lock(callback_mutex);
      callback_wake.wait(lock, [&] { return callbacks_stop || !callback_queue.empty(); });
      if (callback_queue.empty()) return;
      batch = std::move(callback_queue.front());
      callback_queue.pop_front();
    }
    run_callbacks(batch);
  }
}

void PoolCore::Impl::run(std::promise<void>& started) {
  try {
    spawn();
  } catch (const std::exception&) {
    if (segment) segment->unlink();  // before the exception can end the program
    bool gave_up = false;
    {
      std::lock_guard lock(mutex);
      gave_up = abandoned;
    }
    if (inter != MPI_COMM_NULL) kill_workers();
    if (!gave_up) started.set_exception(std::current_exception());
    finish();
    return;
  }
  started.set_value();
  try {
    loop();
    stop_workers();
  } catch (const std::exception& e) {
    const bool terminated = [&] {
      std::lock_guard lock(mutex);
      return terminate_requested;
    }();
    const std::string reason = terminated ? "mr: the pool was terminated before the task finished" : e.what();
    if (terminated) {
      std::lock_guard lock(mutex);
      closed = true;
    } else {
      mark_broken(reason);
      std::fprintf(stderr, "%s\n", reason.c_str());
    }
    fail_everything(std::make_exception_ptr(BrokenPool(reason)));
    if (!terminated && !spawned()) release_live_ranks();
    if (terminated && !spawned()) {
      // Ranks of a running job cannot be killed (that ends the job): they finish the batches
      // they hold, whose results are dropped, and go back to serving.
      try {
        stop_workers();
      } catch (const std::exception& stop_error) {
        std::fprintf(stderr, "mr: stopping the pool's ranks: %s\n", stop_error.what());
      }
    } else {
      kill_workers();
    }
  }
  finish();
}

void PoolCore::Impl::loop() {
  Backoff backoff(BackoffConfig{.spin_window = kProgressSpinWindow});
  auto last_check = Clock::now();
  Message message;
  for (; !early.empty(); early.pop_front()) handle(early.front());
  for (;;) {
    // Taken before looking for work: a ring after this point cuts the next sleep short.
    const std::uint32_t seen = bell->snapshot();
    bool activity = false;
    bool drained = false;
    {
      std::unique_lock lock(mutex);
      if (terminate_requested) throw BrokenPool("terminated");
      if (!incoming.empty()) {
        for (auto& job : incoming) (job.worker < 0 ? pending : pinned).push_back(std::move(job));
        incoming.clear();
        activity = true;
      }
      if (cancel_pending) {
        cancel_pending = false;
        lock.unlock();
        for (auto* jobs : {&pending, &pinned}) {
          for (Job& job : *jobs) post_callbacks(job.completion->cancel());
          jobs->clear();
        }
        lock.lock();
      }
      drained = closed && pending.empty() && pinned.empty() && in_flight_total == 0;
    }
    if (drained && transport->empty()) return;

    while (transport->receive(message)) {
      handle(message);
      activity = true;
    }
    if (dispatch()) activity = true;
    if (transport->progress()) activity = true;

    const auto now = Clock::now();
    if (now - last_check > options.liveness_interval) {
      last_check = now;
      check_liveness();
    }
    if (activity) {
      backoff.reset();
      continue;
    }
    const bool idle = in_flight_total == 0 && pending.empty() && pinned.empty() && transport->empty();
    // Shared-memory peers and submitters ring the bell, so a long nap is only cut short by
    // liveness checks; MPI peers ring nothing, so those are polled with growing naps.
    backoff.pause([&](std::chrono::microseconds nap) {
      if (idle) nap = kIdleNap;
      else if (!transport->uses_mpi()) nap = options.liveness_interval;
      bell->wait(seen, nap);
    });
  }
}

void PoolCore::Impl::join_threads() {
  std::call_once(join_once, [&] {
    if (progress_thread.joinable()) progress_thread.join();
    if (callback_thread.joinable()) callback_thread.join();
  });
}

bool PoolCore::closed() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->closed;
}

int PoolCore::processes() const { return impl_->size; }

std::vector<int> PoolCore::worker_pids() const {
  std::lock_guard lock(impl_->mutex);
  return {impl_->pids.begin(), impl_->pids.end()};
}

}  // namespace mr::detail
