#pragma once
/// \file error.hpp
/// The exception types every part of mr throws. All derive from mr::Error, so one
/// `catch (const mr::Error&)` handles anything the library reports.

#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>

namespace mr {

/// Which of the classes below an error is, as a value: what crosses a process boundary
/// with a RemoteError (RemoteError::code()), so a caller can tell kinds of failure apart
/// without matching type names. Values travel in pool messages: append, never renumber.
enum class ErrorCode : std::uint8_t {
  generic = 0,      ///< mr::Error itself, or an exception that is not an mr::Error
  mpi = 1,          ///< MpiError
  input = 2,        ///< InputError
  usage = 3,        ///< UsageError
  broken_pool = 4,  ///< BrokenPool
  timeout = 5,      ///< TimeoutError
  cancelled = 6,    ///< CancelledError
  state = 7,        ///< StateError
};

/// Base of every exception mr throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// An MPI routine returned an error code (or a peer sent something it should not have).
class MpiError : public Error {
 public:
  MpiError(std::string routine, int code);
  const std::string& routine() const noexcept { return routine_; }
  int code() const noexcept { return code_; }
  /// MPI_Error_class of code().
  int error_class() const noexcept { return error_class_; }

 private:
  std::string routine_;
  int code_;
  int error_class_;
};

/// Input that cannot be processed: a missing file, a malformed line. The message names
/// the file (and line where there is one).
class InputError : public Error {
 public:
  using Error::Error;
};

/// Thrown by a map function for a record it cannot use ("expected 4 fields"). The engine
/// reports it as an InputError naming the input and line: "books.tsv:17: expected 4 fields".
/// A map function over a block of lines (mr::Lines) passes `where`, a pointer into the
/// block on the offending line.
class RecordError : public InputError {
 public:
  explicit RecordError(const std::string& message, const char* where = nullptr)
      : InputError(message), where_(where) {}
  const char* where() const noexcept { return where_; }

 private:
  const char* where_;
};

/// An argument that violates a precondition; the message says what to do instead.
class UsageError : public Error {
 public:
  using Error::Error;
};

/// A task raised an exception in another process. type_name() is the original
/// exception's type (for people: a demangled name), remote_message() its what(), code()
/// its mr class (for programs).
class RemoteError : public Error {
 public:
  RemoteError(std::string type_name, std::string remote_message, ErrorCode code = ErrorCode::generic);
  const std::string& type_name() const noexcept { return type_name_; }
  const std::string& remote_message() const noexcept { return remote_message_; }
  ErrorCode code() const noexcept { return code_; }

 private:
  std::string type_name_;
  std::string remote_message_;
  ErrorCode code_;
};

/// A worker process died (abort, signal, exit) or could not be started; the pool can no
/// longer run work. Python: concurrent.futures.process.BrokenProcessPool.
class BrokenPool : public Error {
 public:
  using Error::Error;
};

/// A wait with a timeout expired before the result was ready.
class TimeoutError : public Error {
 public:
  using Error::Error;
};

/// The result was cancelled before it ran.
class CancelledError : public Error {
 public:
  using Error::Error;
};

/// The pool or executor was used after close()/shutdown()/terminate().
class StateError : public Error {
 public:
  using Error::Error;
};

/// The code of `error`'s class; for a RemoteError, the code of the original remote error.
ErrorCode error_code_of(const std::exception& error) noexcept;

/// Rethrows a task's remote error as the local exception a caller would expect from the
/// same work done in this process, where that is meaningful: an input error (code input)
/// describes the data, wherever it was read, and becomes mr::InputError with the remote
/// message. Every other code describes the remote process's own state (its pool, its MPI)
/// and is rethrown as is, a RemoteError.
[[noreturn]] void rethrow_as_local(const RemoteError& error);

}  // namespace mr
