#include "mr/detail/collective_error.hpp"

#include <string>

#include "common/backoff.hpp"
#include "mr/detail/mpi_check.hpp"
#include "mr/error.hpp"

namespace mr::detail {

void agree_on_error(MPI_Comm comm, std::exception_ptr local_error) {
  int rank = 0, size = 1;
  MR_MPI_CALL(MPI_Comm_rank, comm, &rank);
  MR_MPI_CALL(MPI_Comm_size, comm, &size);
  ErrorCode code = ErrorCode::generic;
  std::string message;
  if (local_error) {
    try {
      std::rethrow_exception(local_error);
    } catch (const std::exception& e) {
      code = error_code_of(e);
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
  int header[2] = {static_cast<int>(code), static_cast<int>(message.size())};
  MR_MPI_CALL(MPI_Bcast, header, 2, MPI_INT, lowest, comm);
  message.resize(static_cast<std::size_t>(header[1]));
  MR_MPI_CALL(MPI_Bcast, message.data(), header[1], MPI_CHAR, lowest, comm);
  if (rank == lowest) std::rethrow_exception(local_error);
  // Input and usage errors keep their class on every rank (callers and the program's exit
  // status tell them apart); anything else is an mr::Error with the failing rank's message.
  switch (static_cast<ErrorCode>(header[0])) {
    case ErrorCode::input: throw InputError(message);
    case ErrorCode::usage: throw UsageError(message);
    default: break;
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
