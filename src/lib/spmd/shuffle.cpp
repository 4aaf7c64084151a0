#include "mr/detail/shuffle.hpp"

#include <algorithm>

#include "mr/detail/mpi_check.hpp"

namespace mr::detail {
namespace {

std::uint64_t chunk_of(std::uint64_t size, std::uint64_t round, std::uint64_t per_round) {
  const std::uint64_t done = round * per_round;
  return size > done ? std::min(per_round, size - done) : 0;
}

}  // namespace

std::vector<Bytes> alltoallv_bytes(MPI_Comm comm, const std::vector<Bytes>& send, std::uint64_t limit) {
  int ranks = 0;
  MR_MPI_CALL(MPI_Comm_size, comm, &ranks);
  if (static_cast<int>(send.size()) != ranks) throw UsageError("alltoallv_bytes: need one buffer per rank");
  const auto n = static_cast<std::size_t>(ranks);
  // Each round moves at most per_round bytes between any pair, so every count and
  // displacement (a sum of at most `ranks` counts) stays within the limit.
  const std::uint64_t per_round = std::max<std::uint64_t>(1, std::min<std::uint64_t>(limit, INT_MAX) / n);

  std::vector<std::uint64_t> send_sizes(n), recv_sizes(n);
  std::uint64_t local_rounds = 1;
  for (std::size_t r = 0; r < n; ++r) {
    send_sizes[r] = send[r].size();
    local_rounds = std::max(local_rounds, rounds_for(send_sizes[r], per_round));
  }
  MR_MPI_CALL(MPI_Alltoall, send_sizes.data(), 1, MPI_UINT64_T, recv_sizes.data(), 1, MPI_UINT64_T, comm);
  std::uint64_t rounds = 0;
  MR_MPI_CALL(MPI_Allreduce, &local_rounds, &rounds, 1, MPI_UINT64_T, MPI_MAX, comm);

  std::vector<Bytes> received(n);
  for (std::size_t r = 0; r < n; ++r) received[r].reserve(recv_sizes[r]);
  std::vector<int> send_counts(n), send_displs(n), recv_counts(n), recv_displs(n);
  Bytes send_stage, recv_stage;
  for (std::uint64_t round = 0; round < rounds; ++round) {
    std::uint64_t send_total = 0, recv_total = 0;
    for (std::size_t r = 0; r < n; ++r) {
      send_counts[r] = static_cast<int>(chunk_of(send_sizes[r], round, per_round));
      send_displs[r] = static_cast<int>(send_total);
      send_total += static_cast<std::uint64_t>(send_counts[r]);
      recv_counts[r] = static_cast<int>(chunk_of(recv_sizes[r], round, per_round));
      recv_displs[r] = static_cast<int>(recv_total);
      recv_total += static_cast<std::uint64_t>(recv_counts[r]);
    }
    send_stage.resize(send_total);
    for (std::size_t r = 0; r < n; ++r)
      if (send_counts[r] > 0)
        std::memcpy(send_stage.data() + send_displs[r], send[r].data() + round * per_round,
                    static_cast<std::size_t>(send_counts[r]));
    recv_stage.resize(recv_total);
    MR_MPI_CALL(MPI_Alltoallv, send_stage.data(), send_counts.data(), send_displs.data(), MPI_BYTE,
                recv_stage.data(), recv_counts.data(), recv_displs.data(), MPI_BYTE, comm);
    for (std::size_t r = 0; r < n; ++r)
      received[r].insert(received[r].end(), recv_stage.data() + recv_displs[r],
                         recv_stage.data() + recv_displs[r] + recv_counts[r]);
  }
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
