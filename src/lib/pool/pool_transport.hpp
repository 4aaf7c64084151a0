#pragma once
/// Point-to-point messaging between a pool's parent and its workers, used by the parent's
/// progress thread and by workers. A peer on the same host talks through a shared-memory
/// channel (shm_channel.hpp) once it has attached to it; other peers, and every peer before
/// it attaches, talk MPI on the pool's intercommunicator. Sends are non-blocking (a progress
/// loop must never block on a peer that may itself be blocked sending); receives take only
/// messages that have fully arrived. MPI messages over the int count limit travel as a head
/// plus parts.

#include <mpi.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "pool/shm_channel.hpp"
#include "mr/detail/wire.hpp"

namespace mr::detail {

/// Largest single MPI message (bytes); bigger ones are split. Below INT_MAX by design.
inline constexpr std::size_t kMaxMessagePart = std::size_t{1} << 30;

class Outbox {
 public:
  explicit Outbox(MPI_Comm comm) : comm_(comm) {}
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;
  ~Outbox();

  /// Starts sending `data` to `dest`; the buffer lives here until the send completes.
  void send(int dest, Tag tag, Bytes data);
  /// Completes what it can without blocking. True if any send completed.
  bool progress();
  bool empty() const { return entries_.empty(); }
  /// Forgets sends to dead peers: frees the requests without waiting for them.
  void abandon();

 private:
  struct Entry {
    MPI_Request request = MPI_REQUEST_NULL;
    int dest = -1;
    std::shared_ptr<const Bytes> data;
  };
  void post(int dest, Tag tag, const char* data, std::size_t size, std::shared_ptr<const Bytes> owner);

  MPI_Comm comm_;
  std::vector<Entry> entries_;
};

/// Receives one message if one has arrived (from any source); false otherwise.
bool try_receive(MPI_Comm comm, Message& out);

/// All messages of one side of a pool (the parent: one peer per worker; a worker: its parent).
class Transport {
 public:
  Transport(MPI_Comm comm, int peers) : comm_(comm), outbox_(comm), shm_(static_cast<std::size_t>(peers)) {}

  /// From now on messages to and from `peer` go through `endpoint`, not MPI.
  void attach(int peer, ShmEndpoint endpoint);
  bool attached(int peer) const { return shm_.at(static_cast<std::size_t>(peer)).has_value(); }
  void send(int peer, Tag tag, Bytes data);
  /// Receives one message that has fully arrived, from any peer; false if none.
  bool receive(Message& out);
  /// Moves queued sends along. True if anything moved.
  bool progress();
  bool empty() const;
  /// True while some peer is reached through MPI: its messages ring no doorbell, so waits
  /// must be short polls.
  bool uses_mpi() const { return mpi_peers_ > 0 || !outbox_.empty(); }
  /// Gives up on queued sends (dead peers).
  void abandon();

 private:
  MPI_Comm comm_;
  Outbox outbox_;
  std::vector<std::optional<ShmEndpoint>> shm_;
  int mpi_peers_ = static_cast<int>(shm_.size());
  std::size_t next_peer_ = 0;  ///< where the next receive starts looking (fairness)
};

}  // namespace mr::detail
