#pragma once
/// Shared-memory channels between a pool's parent and its workers on the same host.
///
/// Why: Open MPI's shared-memory transport cannot reach a spawned job, so MPI messages between
/// a parent and its spawned workers go over loopback TCP: tens of microseconds per message,
/// a poll() system call per progress check, and two kernel copies per byte. A channel is a
/// pair of single-producer single-consumer byte rings in one POSIX shared-memory segment
/// that the parent creates before spawning; a worker on the same host maps it and from then
/// on exchanges every message through it. Messages of any size are streamed through the
/// ring (the writer fills what is free, the reader drains), so a ring bounds memory, not
/// message size.
///
/// Waiting is a futex "doorbell" per receiving side: a writer rings the reader's bell after
/// writing, a reader rings the writer's bell after freeing space the writer was waiting for.
/// Ringing costs a system call only when the other side is actually asleep.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "mr/detail/wire.hpp"

namespace mr::detail {

/// A futex word pair in (possibly shared) memory. `seq` changes on every ring; a waiter
/// sleeps only while it still has the value it saw before looking for work, so a ring
/// between "nothing to do" and "sleep" is never lost.
struct alignas(64) Doorbell {
  std::atomic<std::uint32_t> seq{0};
  std::atomic<std::uint32_t> waiters{0};

  std::uint32_t snapshot() const { return seq.load(std::memory_order_seq_cst); }
  /// Wakes every sleeper (a system call only if someone sleeps).
  void ring();
  /// Sleeps until the bell rings after `seen` was taken, or `timeout` passes.
  void wait(std::uint32_t seen, std::chrono::microseconds timeout);
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free && std::atomic<std::uint32_t>::is_always_lock_free,
              "shared-memory rings need lock-free atomics");

/// Control block of one ring; positions count bytes since the start and never wrap.
struct alignas(64) RingControl {
  alignas(64) std::atomic<std::uint64_t> head{0};  ///< written by the producer
  alignas(64) std::atomic<std::uint64_t> tail{0};  ///< written by the consumer
  alignas(64) std::atomic<std::uint32_t> writer_blocked{0};
};

/// A received message (same shape as the MPI transport's).
struct Message {
  int source = -1;
  Tag tag = Tag::stop;
  Bytes data;
};

/// One side of a channel: sends into one ring, receives from the other. Not thread-safe
/// (each side is used by one thread: the parent's progress thread, a worker's main loop).
class ShmEndpoint {
 public:
  struct Side {
    RingControl* control = nullptr;
    char* data = nullptr;
  };
  /// `own_bell` is rung by the peer when it writes to `in` or frees space in `out`.
  ShmEndpoint(Side out, Side in, std::uint64_t ring_bytes, Doorbell* own_bell, Doorbell* peer_bell);

  /// Queues a message; as much as fits is written now, the rest by flush().
  void send(Tag tag, Bytes data);
  /// Writes what it can of the queued messages. True if anything was written.
  bool flush();
  bool idle() const { return queue_.empty(); }
  /// Receives one whole message if it has fully arrived (earlier calls may have read parts).
  bool receive(Message& out);

 private:
  struct Outgoing {
    std::shared_ptr<const Bytes> body;
    char header[16];
    std::uint64_t written = 0;  ///< of header + body
  };
  std::size_t write_some(const char* data, std::size_t size);
  std::size_t read_some(char* data, std::size_t size);

  Side out_, in_;
  std::uint64_t capacity_;
  Doorbell* own_bell_;
  Doorbell* peer_bell_;
  std::deque<Outgoing> queue_;
  // The message being received.
  char header_[16] = {};
  std::uint64_t header_have_ = 0;
  std::uint64_t body_have_ = 0;
  Message incoming_;
};

/// The shared-memory segment of one pool: the parent's doorbell and one channel per worker.
/// The parent creates it (named, so spawned workers can open it) and removes the name once
/// every worker has attached or given up; the mapping lives until both sides unmap it.
class ShmSegment {
 public:
  /// Creates a segment for `workers` channels. Returns null if shared memory is unavailable
  /// (no /dev/shm, out of space): the pool then uses MPI for everything.
  static std::unique_ptr<ShmSegment> create(int workers, std::uint64_t ring_bytes);
  /// Maps a segment created by the parent; null if it cannot (already removed, other host).
  static std::unique_ptr<ShmSegment> open(const std::string& name);
  ~ShmSegment();
  ShmSegment(const ShmSegment&) = delete;
  ShmSegment& operator=(const ShmSegment&) = delete;

  const std::string& name() const { return name_; }
  int workers() const;
  std::uint64_t ring_bytes() const;
  /// Removes the name (idempotent); existing mappings stay valid.
  void unlink();

  Doorbell& parent_bell();
  Doorbell& worker_bell(int worker);
  ShmEndpoint parent_endpoint(int worker);
  ShmEndpoint worker_endpoint(int worker);

 private:
  ShmSegment(std::string name, void* base, std::size_t size, bool owner);
  struct Layout;
  std::string name_;
  void* base_;
  std::size_t size_;
  std::atomic<bool> linked_;  ///< unlink() may race between the progress thread and a giving-up constructor
};

}  // namespace mr::detail
