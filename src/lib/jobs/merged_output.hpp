#pragma once
/// \file merged_output.hpp
/// Writing the result file of a distributed result without gathering it on rank 0.

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "jobs/output.hpp"
#include "mr/detail/hash_table.hpp"

namespace mr::detail {

/// Collective: every rank sorts the keys it owns (`owned`) in output order (count
/// descending, key ascending; comparisons on a precomputed 8-byte key prefix first), and
/// rank 0 k-way merges the sorted runs as a stream into `path` (temporary file + rename), with
/// one chunk per rank in memory. Returns on rank 0 the first `top` entries, whose keys live in
/// `top_keys`. Throws on every rank when the file cannot be written (no partial file).
std::vector<ResultEntry> write_merged_output(MPI_Comm comm, const CountTable& owned, const std::string& path,
                                             std::uint64_t top, std::vector<std::string>& top_keys);

}  // namespace mr::detail
