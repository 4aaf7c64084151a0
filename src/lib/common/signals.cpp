#include "common/signals.hpp"

#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <mutex>

namespace mr::detail {
namespace {

// A signal handler can only reach state with static storage, and may only touch it with
// lock-free atomics and async-signal-safe calls: hence fixed arrays, no std::string, no
// mutex. This is the one place mr keeps process-wide state besides the task registry.
enum class SlotState : int { free, claimed, armed };

struct TempSlot {
  std::atomic<SlotState> state{SlotState::free};
  char path[PATH_MAX];
};

struct CleanupRegistry {
  std::array<TempSlot, TempFileGuard::kMaxTempFiles> temp_files{};
  std::array<std::atomic<pid_t>, ChildProcessGuard::kMaxChildren> children{};
  std::atomic<int> interrupted{0};
};

CleanupRegistry registry;
static_assert(std::atomic<SlotState>::is_always_lock_free && std::atomic<pid_t>::is_always_lock_free,
              "signal-handler state must be lock-free");

constexpr std::array kHandledSignals{SIGINT, SIGTERM, SIGHUP};

extern "C" void on_terminating_signal(int sig) {
  const int saved_errno = errno;
  int expected = 0;
  registry.interrupted.compare_exchange_strong(expected, sig);
  for (auto& slot : registry.temp_files)
    if (slot.state.load() == SlotState::armed) ::unlink(slot.path);
  for (auto& child : registry.children)
    if (const pid_t pid = child.load(); pid > 0) ::kill(pid, SIGKILL);
  // End the process by the same signal: restore the default action; the re-raised signal
  // is blocked while this handler runs and is delivered as soon as it returns.
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  ::sigaction(sig, &default_action, nullptr);
  ::raise(sig);
  errno = saved_errno;
}

}  // namespace

void install_signal_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_handler = on_terminating_signal;
    sigemptyset(&action.sa_mask);
    for (int sig : kHandledSignals) sigaddset(&action.sa_mask, sig);
    action.sa_flags = SA_RESTART;
    for (int sig : kHandledSignals) {
      struct sigaction previous {};
      ::sigaction(sig, nullptr, &previous);
      if (previous.sa_handler == SIG_IGN) continue;  // nohup & co.: keep ignoring
      ::sigaction(sig, &action, nullptr);
    }
  });
}

int interrupted_by() noexcept { return registry.interrupted.load(); }

TempFileGuard::TempFileGuard(std::string_view path) {
  install_signal_handlers();
  if (path.size() >= PATH_MAX) return;
  for (std::size_t i = 0; i < registry.temp_files.size(); ++i) {
    auto& slot = registry.temp_files[i];
    auto expected = SlotState::free;
    if (!slot.state.compare_exchange_strong(expected, SlotState::claimed)) continue;
    std::memcpy(slot.path, path.data(), path.size());
    slot.path[path.size()] = '\0';
    slot.state.store(SlotState::armed);
    slot_ = static_cast<int>(i);
    return;
  }
}

TempFileGuard::~TempFileGuard() {
  if (slot_ >= 0) registry.temp_files[static_cast<std::size_t>(slot_)].state.store(SlotState::free);
}

ChildProcessGuard::ChildProcessGuard(pid_t pid) {
  install_signal_handlers();
  if (pid <= 0) return;
  for (std::size_t i = 0; i < registry.children.size(); ++i) {
    pid_t expected = 0;
    if (registry.children[i].compare_exchange_strong(expected, pid)) {
      slot_ = static_cast<int>(i);
      return;
    }
  }
}

ChildProcessGuard::~ChildProcessGuard() {
  if (slot_ >= 0) registry.children[static_cast<std::size_t>(slot_)].store(0);
}

ChildProcessGuard& ChildProcessGuard::operator=(ChildProcessGuard&& other) noexcept {
  if (this != &other) {
    if (slot_ >= 0) registry.children[static_cast<std::size_t>(slot_)].store(0);
    slot_ = other.slot_;
    other.slot_ = -1;
  }
  return *this;
}

}  // namespace mr::detail
