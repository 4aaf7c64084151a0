#pragma once
/// \file sorted_output.hpp
/// The result file of a distributed result, sorted and written by every rank at once.

#include <mpi.h>

#include <string>

#include "mr/detail/hash_table.hpp"
#include "mr/detail/records.hpp"

namespace mr::detail {

/// Collective: sorts every rank's keys (`owned`, consumed: its memory holds the entries)
/// into output order (result_before) with a distributed sample sort, then each rank formats
/// its slice of the order and writes it at its offset of `path` (temporary file + rename: no
/// partial file). Rank 0's memory stays about its own share. Adds the time of each step to
/// `phases` (sort, write). Throws on every rank when the file cannot be written.
void write_sorted_output(MPI_Comm comm, CountTable&& owned, const std::string& path, PhaseTimes& phases);

}  // namespace mr::detail
