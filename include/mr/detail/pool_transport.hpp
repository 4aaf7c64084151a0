#pragma once
/// Point-to-point messaging on a pool's intercommunicator, used by the parent's progress
/// thread and by workers. Sends are non-blocking (a progress loop must never block on a peer
/// that may itself be blocked sending); receives take only messages already matched by
/// MPI_Improbe. Messages over the MPI int count limit travel as a head plus parts.

#include <mpi.h>

#include <cstddef>
#include <memory>
#include <vector>

#include "mr/detail/wire.hpp"

namespace mr::detail {

/// Largest single MPI message (bytes); bigger ones are split. Below INT_MAX by design.
inline constexpr std::size_t kMaxMessagePart = std::size_t{1} << 30;

struct Message {
  int source = -1;
  Tag tag = Tag::stop;
  Bytes data;
};

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
  /// Sends still in progress to `dest`.
  std::size_t pending_to(int dest) const;
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

}  // namespace mr::detail
