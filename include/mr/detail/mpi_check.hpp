#pragma once
#include <mpi.h>

#include "mr/error.hpp"

namespace mr::detail {

/// Throws MpiError naming `routine` unless `code` is MPI_SUCCESS.
inline void check_mpi(int code, const char* routine) {
  if (code != MPI_SUCCESS) throw MpiError(routine, code);
}

}  // namespace mr::detail

/// Calls an MPI routine and turns a failure into mr::MpiError carrying the routine's name.
#define MR_MPI_CALL(routine, ...) ::mr::detail::check_mpi(routine(__VA_ARGS__), #routine)
