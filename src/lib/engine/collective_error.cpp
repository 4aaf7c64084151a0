#include "engine/collective_error.hpp"

#include <string>

#include "common/backoff.hpp"
#include "mr/detail/mpi_check.hpp"
#include "mr/error.hpp"

namespace mr::detail {
namespace {

enum class ErrorKind : int { Input = 1, Usage = 2, Other = 3 };

}  // namespace

void agree_on_error(MPI_Comm comm, std::exception_ptr local_error) {
  int rank = 0, size = 1;
  MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
  MR_MPI_CALL(MPI_Comm_size, comm, &size);
  ErrorKind kind = ErrorKind::Other;
  std::string message;
  if (local_error) {
    try {
      std::rethrow_exception(local_error);
    } catch (const InputError& e) {
      kind = ErrorKind::Input;
      message = e.what();
    } catch (const UsageError& e) {
      kind = ErrorKind::Usage;
      message = e.what();
    } catch (const std::exception& e) {
      message = e.what();
    } catch (...) {
      message = "unknown error";
    }
  }
  // Ranks reach this point at different times (rank 0 alone discovers inputs and writes
  // the output; ranks finish mapping unevenly). Wait sleeping, not spinning in a blocking
  // collective, so a waiting rank does not take a core from one still working.
  const int mine = local_error ? rank : size;
  int lowest = size;
  MPI_Request request = MPI_REQUEST_NULL;
  MR_MPI_CALL(MPI_Iallreduce, &mine, &lowest, 1, MPI_INT, MPI_MIN, comm, &request);
  wait_sleeping(request);
  if (lowest == size) return;
  int header[2] = {static_cast<int>(kind), static_cast<int>(message.size())};
  MR_MPI_CALL(MPI_Bcast, header, 2, MPI_INT, lowest, comm);
  message.resize(static_cast<std::size_t>(header[1]));
  MR_MPI_CALL(MPI_Bcast, message.data(), header[1], MPI_CHAR, lowest, comm);
  if (rank == lowest) std::rethrow_exception(local_error);
  switch (static_cast<ErrorKind>(header[0])) {
    case ErrorKind::Input: throw InputError(message);
    case ErrorKind::Usage: throw UsageError(message);
    case ErrorKind::Other: break;
  }
  throw Error(message);
}

void agree_on_error(MPI_Comm comm, const std::function<void()>& phase) {
  std::exception_ptr error;
  try {
    phase();
  } catch (...) {
    error = std::current_exception();
  }
  agree_on_error(comm, error);
}

}  // namespace mr::detail
