#include "mr/detail/parallel_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>
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

/// Every rank writes its part at its offset through its own descriptor of the file.
void write_every_rank(MPI_Comm comm, const std::string& path, int fd, std::string_view bytes,
                      std::uint64_t chunk_limit) {
  std::uint64_t size = bytes.size(), offset = 0;
  MR_MPI_CALL(MPI_Exscan, &size, &offset, 1, MPI_UINT64_T, MPI_SUM, comm);
  int rank = 0;
  MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
  if (rank == 0) offset = 0;  // MPI_Exscan leaves rank 0's result undefined
  std::exception_ptr error;
  for (std::uint64_t done = 0; done < size;) {
    const auto count = static_cast<std::size_t>(std::min(size - done, chunk_limit));
    const ssize_t written = ::pwrite(fd, bytes.data() + done, count, static_cast<off_t>(offset + done));
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      error = std::make_exception_ptr(InputError(path + ": write failed: " + std::strerror(errno)));
      break;
    }
    done += static_cast<std::uint64_t>(written);
  }
  if (::close(fd) != 0 && !error)
    error = std::make_exception_ptr(InputError(path + ": write failed: " + std::strerror(errno)));
  agree_on_error(comm, error);
}

/// Ranks 1.. send their parts to rank 0 in order, one chunk at a time; rank 0 appends them.
void write_through_root(MPI_Comm comm, AtomicFile* file, std::string_view bytes, std::uint64_t chunk_limit) {
  int rank = 0, size = 1;
  MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
  MR_MPI_CALL(MPI_Comm_size, comm, &size);
  const std::uint64_t chunk = std::max<std::uint64_t>(1, std::min<std::uint64_t>(chunk_limit, INT_MAX));
  std::exception_ptr error;
  if (rank != 0) {
    // Chunks, then an empty one for the end; rank 0 reads everything even after a failed write.
    for (std::uint64_t done = 0;; done += chunk) {
      const auto count = static_cast<int>(std::min<std::uint64_t>(chunk, bytes.size() - std::min<std::uint64_t>(done, bytes.size())));
      MPI_Request request = MPI_REQUEST_NULL;
      MR_MPI_CALL(MPI_Isend, bytes.data() + std::min<std::uint64_t>(done, bytes.size()), count, MPI_BYTE, 0, kPartTag,
                  comm, &request);
      wait_sleeping(request);  // rank 0 is writing other parts meanwhile: do not spin
      if (count == 0) break;
    }
  } else {
    auto write = [&](std::string_view part) {
      if (error) return;
      try {
        file->write(part);
      } catch (...) {
        error = std::current_exception();
      }
    };
    write(bytes);
    std::string part;
    for (int source = 1; source < size; ++source)
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
  agree_on_error(comm, error);
}

}  // namespace

ParallelWrite write_in_rank_order(MPI_Comm comm, const std::string& path, std::string_view bytes,
                                  const ParallelWriteOptions& options) {
  int rank = 0;
  MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
  std::unique_ptr<AtomicFile> file;  // rank 0's: creates the temporary file, renames it at the end
  agree_on_error(comm, [&] {
    if (rank == 0) file = std::make_unique<AtomicFile>(path);
  });
  const std::string temp = broadcast_string(comm, rank == 0 ? file->temp_path() : std::string());
  // Every rank opens the file rank 0 created: a rank on another node sees it only if the
  // directory is shared. One rank writes through rank 0's own stream.
  int size = 1;
  MR_MPI_CALL(MPI_Comm_size, comm, &size);
  // Stdout, a device or a FIFO (no temporary file) take the parts in order through rank 0.
  const bool try_every_rank = size > 1 && options.route == ParallelWrite::every_rank && !temp.empty();
  const int fd = try_every_rank ? ::open(temp.c_str(), O_WRONLY | O_CLOEXEC) : -1;
  int opened = fd >= 0 ? 1 : 0, everywhere = 0;
  MR_MPI_CALL(MPI_Allreduce, &opened, &everywhere, 1, MPI_INT, MPI_MIN, comm);
  const ParallelWrite how = everywhere == 1 ? ParallelWrite::every_rank : ParallelWrite::through_root;
  if (how == ParallelWrite::every_rank) {
    write_every_rank(comm, path, fd, bytes, std::max<std::uint64_t>(1, options.chunk_limit));
  } else {
    if (fd >= 0) ::close(fd);
    write_through_root(comm, file.get(), bytes, options.chunk_limit);
  }
  agree_on_error(comm, [&] {
    if (rank == 0) file->commit();
  });
  return how;
}

}  // namespace mr::detail
