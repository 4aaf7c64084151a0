#pragma once
/// \file signals.hpp
/// What SIGINT, SIGTERM and SIGHUP do to a process that uses mr: remove the temporary
/// files it registered, SIGKILL the child processes it registered, then end the process by
/// the same signal (so mpirun, shells and Slurm see "killed by SIGINT", not an exit code).
///
/// Under mpirun, Ctrl-C or `scancel` reaches mpirun, which sends SIGTERM to every rank;
/// each rank cleans up here and dies, and mpirun kills the spawned pool workers it
/// started. Without mpirun (a singleton program with a pool) the registered worker pids
/// are killed here, and workers also exit by themselves when their parent disappears.
///
/// Hooks:
///   - a file written to a temporary name and renamed into place:
///         TempFileGuard guard(temp_path);   // before creating it; destroyed after rename
///   - a child process (pool worker) this process must not leave behind:
///         ChildProcessGuard guard(pid);     // destroyed once the child was reaped
/// The handlers are installed by the first guard, so a process that registers nothing
/// keeps the default actions.

#include <sys/types.h>

#include <cstddef>
#include <string_view>

namespace mr::detail {

/// Installs the handlers for SIGINT, SIGTERM and SIGHUP (once; thread-safe). A signal
/// that is ignored when this is first called (SIG_IGN, e.g. under nohup) stays ignored.
void install_signal_handlers();

/// The signal that started the handler's cleanup, or 0. Only useful to code that runs
/// between the handler and the end of the process (other threads).
int interrupted_by() noexcept;

/// While alive, `path` is unlinked if SIGINT/SIGTERM/SIGHUP ends the process.
/// At most kMaxTempFiles paths are registered at once; beyond that (or for a path longer
/// than PATH_MAX) registration is skipped and armed() is false.
class TempFileGuard {
 public:
  static constexpr std::size_t kMaxTempFiles = 64;
  explicit TempFileGuard(std::string_view path);
  ~TempFileGuard();
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  /// True if the path is registered for cleanup.
  bool armed() const noexcept { return slot_ >= 0; }

 private:
  int slot_ = -1;
};

/// While alive, `pid` is sent SIGKILL if SIGINT/SIGTERM/SIGHUP ends the process.
/// At most kMaxChildren pids at once; beyond that armed() is false.
class ChildProcessGuard {
 public:
  static constexpr std::size_t kMaxChildren = 1024;
  explicit ChildProcessGuard(pid_t pid);
  ~ChildProcessGuard();
  ChildProcessGuard(ChildProcessGuard&& other) noexcept : slot_(other.slot_) { other.slot_ = -1; }
  ChildProcessGuard& operator=(ChildProcessGuard&& other) noexcept;
  ChildProcessGuard(const ChildProcessGuard&) = delete;
  ChildProcessGuard& operator=(const ChildProcessGuard&) = delete;
  bool armed() const noexcept { return slot_ >= 0; }

 private:
  int slot_ = -1;
};

}  // namespace mr::detail
