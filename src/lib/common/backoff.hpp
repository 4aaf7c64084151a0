#pragma once
/// Idle strategy of every polling loop in the pool: spin (yielding the core) for a short
/// window after the last activity so a busy pool answers in microseconds, then sleep with
/// exponentially growing naps up to ~1 ms, and after a longer quiet spell up to 5 ms, so an
/// idle pool costs well under 1% of a core while a lull between bursts stays cheap to leave.
/// wait_sleeping() is the same mechanism for one MPI request, with no spinning at all.

#include <mpi.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace mr::detail {

struct BackoffConfig {
  std::chrono::microseconds spin_window{2000};
  std::chrono::microseconds first_sleep{20};
  std::chrono::microseconds max_sleep{1000};
  std::chrono::milliseconds long_idle_after{100};
  std::chrono::microseconds long_idle_sleep{5000};
};

class Backoff {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Backoff(BackoffConfig config = {}) : config_(config) { reset(); }

  /// Something happened: spin again.
  void reset() {
    last_activity_ = Clock::now();
    sleep_ = config_.first_sleep;
  }
  /// Nothing happened this round: yield or nap.
  void pause() {
    pause([](std::chrono::microseconds nap) { std::this_thread::sleep_for(nap); });
  }
  /// The same, napping through `nap(duration)` (e.g. a doorbell wait that a peer can cut short).
  template <class Nap>
  void pause(Nap&& nap) {
    if (Clock::now() - last_activity_ < config_.spin_window) {
      sched_yield();
      return;
    }
    nap(sleep_);
    const auto cap = idle_for() > config_.long_idle_after ? config_.long_idle_sleep : config_.max_sleep;
    sleep_ = std::min(sleep_ * 2, cap);
  }

 private:
  Clock::duration idle_for() const { return Clock::now() - last_activity_; }

  BackoffConfig config_;
  Clock::time_point last_activity_;
  std::chrono::microseconds sleep_;
};

/// Completes `request`, polling with a growing sleep (20 us .. 2 ms) and never spinning: for
/// waits that may be long (another rank reading or writing) on oversubscribed cores, where a
/// blocking MPI_Wait would spin and take the core from the rank being waited for.
void wait_sleeping(MPI_Request& request);

}  // namespace mr::detail
