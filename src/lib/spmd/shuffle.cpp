#include "mr/detail/shuffle.hpp"

#include <algorithm>

#include "mr/detail/mpi_check.hpp"

namespace mr::detail {
namespace {

std::uint64_t chunk_of(std::uint64_t size, std::uint64_t round, std::uint64_t per_round) {
  const std::uint64_t done = round * per_round;
  return size > done ? std::min(per_round, size - done) : 0;
}

/// A buffer of `bytes` bytes whose pages are mapped in at once (prefault), to be overwritten.
Bytes sized_buffer(std::size_t bytes) {
  Bytes buffer;
  buffer.reserve(bytes);
  prefault(buffer.data(), buffer.capacity());
  buffer.resize(bytes);
  return buffer;
}

}  // namespace

std::vector<Bytes> alltoallv_bytes(MPI_Comm comm, const std::vector<Bytes>& send, std::uint64_t limit) {
  int ranks = 0, rank = 0;
  MR_MPI_CALL(MPI_Comm_size, comm, &ranks);
  MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
  if (static_cast<int>(send.size()) != ranks) throw UsageError("alltoallv_bytes: need one buffer per rank");
  const auto n = static_cast<std::size_t>(ranks);
  const auto self = static_cast<std::size_t>(rank);
  const std::uint64_t per_message = std::max<std::uint64_t>(1, std::min<std::uint64_t>(limit, INT_MAX));

  std::vector<std::uint64_t> send_sizes(n), recv_sizes(n);
  for (std::size_t r = 0; r < n; ++r) send_sizes[r] = send[r].size();
  MR_MPI_CALL(MPI_Alltoall, send_sizes.data(), 1, MPI_UINT64_T, recv_sizes.data(), 1, MPI_UINT64_T, comm);

  // Point to point, straight from each send buffer into its final receive buffer, in
  // messages of at most `per_message` bytes (MPI counts are int; messages between one pair
  // arrive in order). The MPI_Alltoallv rounds this replaced copied every byte twice more,
  // through staging buffers whose fresh pages cost more than the copies (1 M 1-gram keys at
  // -np 2: 58-78 ms for the exchange).
  std::vector<Bytes> received(n);
  std::vector<MPI_Request> requests;
  for (std::size_t r = 0; r < n; ++r) {
    if (r == self) continue;
    received[r] = sized_buffer(recv_sizes[r]);
    for (std::uint64_t at = 0; at < recv_sizes[r]; at += per_message)
      MR_MPI_CALL(MPI_Irecv, received[r].data() + at, static_cast<int>(std::min(per_message, recv_sizes[r] - at)),
                  MPI_BYTE, static_cast<int>(r), kExchangeTag, comm, &requests.emplace_back());
  }
  for (std::size_t step = 1; step < n; ++step) {  // rank + 1 first: not everyone onto rank 0 at once
    const std::size_t r = (self + step) % n;
    for (std::uint64_t at = 0; at < send_sizes[r]; at += per_message)
      MR_MPI_CALL(MPI_Isend, send[r].data() + at, static_cast<int>(std::min(per_message, send_sizes[r] - at)),
                  MPI_BYTE, static_cast<int>(r), kExchangeTag, comm, &requests.emplace_back());
  }
  received[self] = send[self];
  MR_MPI_CALL(MPI_Waitall, static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
  return received;
}

std::vector<Bytes> gatherv_bytes(MPI_Comm comm, const Bytes& send, int root, std::uint64_t limit) {
  int ranks = 0, rank = 0;
  MR_MPI_CALL(MPI_Comm_size, comm, &ranks);
  MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
  const auto n = static_cast<std::size_t>(ranks);
  const std::uint64_t per_round = std::max<std::uint64_t>(1, std::min<std::uint64_t>(limit, INT_MAX) / n);

  const std::uint64_t size = send.size();
  std::vector<std::uint64_t> sizes(n);
  MR_MPI_CALL(MPI_Gather, &size, 1, MPI_UINT64_T, sizes.data(), 1, MPI_UINT64_T, root, comm);
  const std::uint64_t local_rounds = rounds_for(size, per_round);
  std::uint64_t rounds = 0;
  MR_MPI_CALL(MPI_Allreduce, &local_rounds, &rounds, 1, MPI_UINT64_T, MPI_MAX, comm);

  std::vector<Bytes> received(rank == root ? n : 0);
  for (std::size_t r = 0; r < received.size(); ++r) received[r].reserve(sizes[r]);
  std::vector<int> counts(n), displs(n);
  Bytes stage;
  for (std::uint64_t round = 0; round < rounds; ++round) {
    const auto count = static_cast<int>(chunk_of(size, round, per_round));
    if (rank == root) {
      std::uint64_t total = 0;
      for (std::size_t r = 0; r < n; ++r) {
        counts[r] = static_cast<int>(chunk_of(sizes[r], round, per_round));
        displs[r] = static_cast<int>(total);
        total += static_cast<std::uint64_t>(counts[r]);
      }
      stage.resize(total);
    }
    MR_MPI_CALL(MPI_Gatherv, send.data() + std::min(size, round * per_round), count, MPI_BYTE,
                stage.data(), counts.data(), displs.data(), MPI_BYTE, root, comm);
    if (rank == root)
      for (std::size_t r = 0; r < n; ++r)
        received[r].insert(received[r].end(), stage.data() + displs[r], stage.data() + displs[r] + counts[r]);
  }
  return received;
}

}  // namespace mr::detail
