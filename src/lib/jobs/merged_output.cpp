// The result file without the funnel: every rank sorts the keys it owns, rank 0 k-way merges
// the ranks' sorted runs as a stream (bounded memory: one chunk per rank in flight) and writes
// the file through a temporary name. Rank 0 never holds the other ranks' keys.
#include "jobs/merged_output.hpp"

#include <algorithm>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "common/backoff.hpp"
#include "mr/detail/atomic_file.hpp"
#include "mr/detail/collective_error.hpp"
#include "mr/detail/mpi_check.hpp"
#include "mr/detail/shuffle.hpp"

namespace mr::detail {
namespace {

/// Bytes of sorted entries a rank sends at a time (the merge holds one chunk per rank).
constexpr std::size_t kChunkBytes = std::size_t{4} << 20;
constexpr int kChunkTag = 7301;
/// Formatted lines rank 0 collects before each write.
constexpr std::size_t kWriteBytes = std::size_t{1} << 20;

/// This rank's keys in output order.
std::vector<ResultEntry> sorted_run(const CountTable& table) {
  std::vector<ResultEntry> run;
  run.reserve(table.size());
  table.for_each([&](std::string_view key, std::uint64_t, std::int64_t count) { run.emplace_back(key, count); });
  std::sort(run.begin(), run.end(), result_before);
  return run;
}

/// A rank's sorted run as rank 0 reads it: chunks of entries in the shuffle format.
class RunReader {
 public:
  RunReader(MPI_Comm comm, int source) : comm_(comm), source_(source) { receive(); }
  bool done() const noexcept { return done_; }
  const ResultEntry& head() const noexcept { return head_; }
  void pop() {
    if (at_ == chunk_.size()) receive();
    else decode();
  }

 private:
  void receive() {
    MPI_Status status;
    MR_MPI_CALL(MPI_Probe, source_, kChunkTag, comm_, &status);
    int count = 0;
    MR_MPI_CALL(MPI_Get_count, &status, MPI_BYTE, &count);
    chunk_.resize(static_cast<std::size_t>(count));
    MR_MPI_CALL(MPI_Recv, chunk_.data(), count, MPI_BYTE, source_, kChunkTag, comm_, MPI_STATUS_IGNORE);
    at_ = 0;
    if (count == 0) done_ = true;  // the end of the run
    else decode();
  }
  void decode() {
    // The shuffle's entry format, read with the checked decoder one entry at a time.
    Decoder in(std::string_view(chunk_).substr(at_));
    const auto size = in.raw<std::uint32_t>();
    const std::string_view key = in.take(size);
    const auto count = in.raw<std::int64_t>();
    at_ = chunk_.size() - in.remaining();
    head_ = ResultEntry(key, count);
  }

  MPI_Comm comm_;
  int source_;
  Bytes chunk_;
  std::size_t at_ = 0;
  ResultEntry head_;
  bool done_ = false;
};

/// A non-root rank: sends its run in chunks (then an empty one), waiting sleeping.
void send_run(MPI_Comm comm, const std::vector<ResultEntry>& run) {
  Bytes chunk;
  auto send = [&] {
    MPI_Request request = MPI_REQUEST_NULL;
    MR_MPI_CALL(MPI_Isend, chunk.data(), static_cast<int>(chunk.size()), MPI_BYTE, 0, kChunkTag, comm, &request);
    wait_sleeping(request);  // rank 0 may be busy writing: do not spin a core meanwhile
    chunk.clear();
  };
  for (const ResultEntry& entry : run) {
    append_entry(chunk, entry.key, entry.count);
    if (chunk.size() >= kChunkBytes) send();
  }
  if (!chunk.empty()) send();
  send();  // empty: the end
}

}  // namespace

std::vector<std::pair<std::string, std::int64_t>> write_merged_output(MPI_Comm comm, const CountTable& owned,
                                                                     const std::string& path, std::uint64_t top) {
  int rank = 0, size = 1;
  MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
  MR_MPI_CALL(MPI_Comm_size, comm, &size);
  const std::vector<ResultEntry> run = sorted_run(owned);
  std::exception_ptr error;
  std::vector<std::pair<std::string, std::int64_t>> first;
  if (rank != 0) {
    send_run(comm, run);
  } else {
    // Rank 0 reads every run to its end even after a failed write, so no sender is left waiting.
    std::vector<RunReader> others;
    others.reserve(static_cast<std::size_t>(size));
    for (int source = 1; source < size; ++source) others.emplace_back(comm, source);
    std::size_t mine = 0;
    std::unique_ptr<AtomicFile> file;
    try {
      file = std::make_unique<AtomicFile>(path);
    } catch (...) {
      error = std::current_exception();
    }
    std::string buffer;
    for (;;) {
      // The next entry in output order among this rank's run and the others' heads.
      const ResultEntry* best = mine < run.size() ? &run[mine] : nullptr;
      RunReader* from = nullptr;
      for (auto& reader : others)
        if (!reader.done() && (!best || result_before(reader.head(), *best))) {
          best = &reader.head();
          from = &reader;
        }
      if (!best) break;
      if (first.size() < top) first.emplace_back(best->key, best->count);
      if (file && !error) {
        append_result_line(buffer, best->key, best->count);
        if (buffer.size() >= kWriteBytes) {
          try {
            file->write(buffer);
          } catch (...) {
            error = std::current_exception();
          }
          buffer.clear();
        }
      }
      if (from) from->pop();
      else ++mine;
    }
    if (file && !error) {
      try {
        file->write(buffer);
        file->commit();
      } catch (...) {
        error = std::current_exception();
      }
    }
  }
  agree_on_error(comm, error);
  return first;
}

}  // namespace mr::detail
