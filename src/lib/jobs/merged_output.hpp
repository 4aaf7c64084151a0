#pragma once
/// \file merged_output.hpp
/// Writing the result file of a distributed result without gathering it on rank 0.

#include <mpi.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "jobs/output.hpp"
#include "mr/detail/hash_table.hpp"

namespace mr::detail {

/// Collective: every rank sorts the keys it owns (`owned`) in output order (result_before),
/// and
/// rank 0 k-way merges the sorted runs as a stream into `path` (temporary file + rename), with
/// one chunk per rank in memory. Returns on rank 0 the first `top` entries (as
/// Distributed::top does). Throws on every rank when the file cannot be written (no partial file).
std::vector<std::pair<std::string, std::int64_t>> write_merged_output(MPI_Comm comm, const CountTable& owned,
                                                                     const std::string& path, std::uint64_t top);

}  // namespace mr::detail
