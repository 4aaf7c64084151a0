#include "mr/detail/parallel_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/backoff.hpp"
#include "mr/detail/atomic_file.hpp"
#include "mr/detail/collective_error.hpp"
#include "mr/detail/mpi_check.hpp"
#include "mr/error.hpp"

namespace mr::detail {
namespace {

constexpr int kPartTag = 7302;

std::string broadcast_string(MPI_Comm comm, std::string text) {
  std::uint64_t size = text.size();
  MR_MPI_CALL(MPI_Bcast, &size, 1, MPI_UINT64_T, 0, comm);
  text.resize(size);
  MR_MPI_CALL(MPI_Bcast, text.data(), static_cast<int>(size), MPI_CHAR, 0, comm);
  return text;
}

using PieceWriter = std::function<void(std::string_view)>;

/// A producer that made more or fewer bytes than its rank declared (the offsets of the ranks
/// after it came from the declared size).
std::exception_ptr size_mismatch(std::uint64_t declared, const std::string& produced) {
  return std::make_exception_ptr(std::logic_error("write_in_rank_order: a part declared as " + std::to_string(declared) +
                                                  " bytes produced " + produced));
}

/// Runs the producer to its end even after a failure (other ranks' messages may depend on
/// it), keeping the first error.
void run_producer(const PartProducer& produce, const PieceWriter& write, std::exception_ptr& error) {
  try {
    produce(write);
  } catch (...) {
    if (!error) error = std::current_exception();
  }
}

/// Every rank writes its part at its offset through its own descriptor of the file.
void write_every_rank(MPI_Comm comm, const std::string& path, int fd, std::uint64_t size, const PartProducer& produce,
                      std::uint64_t chunk_limit) {
  std::uint64_t offset = 0;
  MR_MPI_CALL(MPI_Exscan, &size, &offset, 1, MPI_UINT64_T, MPI_SUM, comm);
  int rank = 0;
  MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
  if (rank == 0) offset = 0;  // MPI_Exscan leaves rank 0's result undefined
  std::exception_ptr error;
  std::uint64_t done = 0;
  run_producer(produce, [&](std::string_view piece) {
    while (!error && !piece.empty()) {
      // Never past the declared size: the bytes beyond it belong to the next rank.
      if (piece.size() > size - done) {
        error = size_mismatch(size, "at least " + std::to_string(done + piece.size()));
        return;
      }
      const auto count = static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), chunk_limit));
      const ssize_t written = ::pwrite(fd, piece.data(), count, static_cast<off_t>(offset + done));
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) {
        error = std::make_exception_ptr(InputError(path + ": write failed: " + std::strerror(errno)));
        return;
      }
      done += static_cast<std::uint64_t>(written);
      piece.remove_prefix(static_cast<std::size_t>(written));
    }
  }, error);
  if (!error && done != size) error = size_mismatch(size, std::to_string(done));
  if (::close(fd) != 0 && !error)
    error = std::make_exception_ptr(InputError(path + ": write failed: " + std::strerror(errno)));
  agree_on_error(comm, error);
}

/// Ranks 1.. send their parts to rank 0 in order, one chunk at a time; rank 0 appends them.
void write_through_root(MPI_Comm comm, AtomicFile* file, std::uint64_t size, const PartProducer& produce,
                        std::uint64_t chunk_limit) {
  int rank = 0, ranks = 1;
  MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
  MR_MPI_CALL(MPI_Comm_size, comm, &ranks);
  const std::uint64_t chunk = std::max<std::uint64_t>(1, std::min<std::uint64_t>(chunk_limit, INT_MAX));
  std::exception_ptr error;
  std::uint64_t done = 0;
  if (rank != 0) {
    // Chunks, then an empty one for the end (sent even after a failure: rank 0 waits for it).
    auto send = [&](std::string_view bytes) {
      MPI_Request request = MPI_REQUEST_NULL;
      MR_MPI_CALL(MPI_Isend, bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, 0, kPartTag, comm, &request);
      wait_sleeping(request);  // rank 0 is writing other parts meanwhile: do not spin
    };
    run_producer(produce, [&](std::string_view piece) {
      done += piece.size();
      for (; !piece.empty(); piece.remove_prefix(std::min<std::uint64_t>(chunk, piece.size())))
        send(piece.substr(0, std::min<std::uint64_t>(chunk, piece.size())));
    }, error);
    send({});
  } else {
    auto write = [&](std::string_view piece) {
      if (error) return;
      try {
        file->write(piece);
      } catch (...) {
        error = std::current_exception();
      }
    };
    run_producer(produce, [&](std::string_view piece) {
      done += piece.size();
      write(piece);
    }, error);
    std::string part;
    for (int source = 1; source < ranks; ++source)
      for (;;) {
        MPI_Status status;
        MR_MPI_CALL(MPI_Probe, source, kPartTag, comm, &status);
        int count = 0;
        MR_MPI_CALL(MPI_Get_count, &status, MPI_BYTE, &count);
        part.resize(static_cast<std::size_t>(count));
        MR_MPI_CALL(MPI_Recv, part.data(), count, MPI_BYTE, source, kPartTag, comm, MPI_STATUS_IGNORE);
        if (count == 0) break;
        write(part);
      }
  }
  if (!error && done != size) error = size_mismatch(size, std::to_string(done));
  agree_on_error(comm, error);
}

}  // namespace

ParallelWrite write_in_rank_order(MPI_Comm comm, const std::string& path, std::string_view bytes,
                                  const ParallelWriteOptions& options) {
  return write_in_rank_order(comm, path, bytes.size(), [bytes](const PieceWriter& write) { write(bytes); }, options);
}

ParallelWrite write_in_rank_order(MPI_Comm comm, const std::string& path, std::uint64_t size,
                                  const PartProducer& produce, const ParallelWriteOptions& options) {
  int rank = 0;
  MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
  std::unique_ptr<AtomicFile> file;  // rank 0's: creates the temporary file, renames it at the end
  agree_on_error(comm, [&] {
    if (rank == 0) file = std::make_unique<AtomicFile>(path);
  });
  const std::string temp = broadcast_string(comm, rank == 0 ? file->temp_path() : std::string());
  // Every rank opens the file rank 0 created: a rank on another node sees it only if the
  // directory is shared. One rank writes through rank 0's own stream.
  int ranks = 1;
  MR_MPI_CALL(MPI_Comm_size, comm, &ranks);
  // Stdout, a device or a FIFO (no temporary file) take the parts in order through rank 0.
  const bool try_every_rank = ranks > 1 && options.route == ParallelWrite::every_rank && !temp.empty();
  const int fd = try_every_rank ? ::open(temp.c_str(), O_WRONLY | O_CLOEXEC) : -1;
  int opened = fd >= 0 ? 1 : 0, everywhere = 0;
  MR_MPI_CALL(MPI_Allreduce, &opened, &everywhere, 1, MPI_INT, MPI_MIN, comm);
  const ParallelWrite how = everywhere == 1 ? ParallelWrite::every_rank : ParallelWrite::through_root;
  const std::uint64_t chunk_limit = std::max<std::uint64_t>(1, options.chunk_limit);
  if (how == ParallelWrite::every_rank) {
    write_every_rank(comm, path, fd, size, produce, chunk_limit);
  } else {
    if (fd >= 0) ::close(fd);
    write_through_root(comm, file.get(), size, produce, chunk_limit);
  }
  agree_on_error(comm, [&] {
    if (rank == 0) file->commit();
  });
  return how;
}

}  // namespace mr::detail
