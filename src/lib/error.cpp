#include "mr/error.hpp"

#include <mpi.h>

namespace mr {
namespace {

std::string describe_mpi_error(const std::string& routine, int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized || MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  std::string message = routine + " failed";
  if (length > 0) message += ": " + std::string(text, static_cast<std::size_t>(length));
  return message + " (code " + std::to_string(code) + ")";
}

int error_class_of(int code) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  int error_class = code;
  if (initialized) MPI_Error_class(code, &error_class);
  return error_class;
}

}  // namespace

MpiError::MpiError(std::string routine, int code)
    : Error(describe_mpi_error(routine, code)),
      routine_(std::move(routine)),
      code_(code),
      error_class_(error_class_of(code)) {}

RemoteError::RemoteError(std::string type_name, std::string remote_message, ErrorCode code)
    : Error(type_name + ": " + remote_message),
      type_name_(std::move(type_name)),
      remote_message_(std::move(remote_message)),
      code_(code) {}

ErrorCode error_code_of(const std::exception& error) noexcept {
  if (const auto* remote = dynamic_cast<const RemoteError*>(&error)) return remote->code();
  if (dynamic_cast<const MpiError*>(&error) != nullptr) return ErrorCode::mpi;
  if (dynamic_cast<const InputError*>(&error) != nullptr) return ErrorCode::input;
  if (dynamic_cast<const UsageError*>(&error) != nullptr) return ErrorCode::usage;
  if (dynamic_cast<const BrokenPool*>(&error) != nullptr) return ErrorCode::broken_pool;
  if (dynamic_cast<const TimeoutError*>(&error) != nullptr) return ErrorCode::timeout;
  if (dynamic_cast<const CancelledError*>(&error) != nullptr) return ErrorCode::cancelled;
  if (dynamic_cast<const StateError*>(&error) != nullptr) return ErrorCode::state;
  return ErrorCode::generic;
}

void rethrow_as_local(const RemoteError& error) {
  if (error.code() == ErrorCode::input) throw InputError(error.remote_message());
  throw error;
}

}  // namespace mr
