#pragma once
/// \file collective_error.hpp
/// Making every rank agree on failure: a phase that may throw on some ranks is run with
/// agree_on_error(), after which either no rank throws or every rank throws the same
/// error (the one of the lowest failing rank, same type), so all exit together.

#include <mpi.h>

#include <exception>
#include <functional>

namespace mr::detail {

/// Runs `phase` (which must not itself call collectives that a throwing rank would skip),
/// then agrees with every rank of `comm`: if any rank failed, rethrows on all ranks the
/// failure of the lowest failing rank as an exception of the same mr type
/// (InputError, UsageError, or Error for anything else). Collective; ranks that arrive
/// early wait sleeping (non-blocking allreduce and wait_sleeping()), not spinning.
void agree_on_error(MPI_Comm comm, const std::function<void()>& phase);

/// As agree_on_error() for an error this rank already caught (null: no error).
void agree_on_error(MPI_Comm comm, std::exception_ptr local_error);

}  // namespace mr::detail
