#pragma once
/// \file pool_engine_tasks.hpp
/// The registered tasks the pool engine runs in its workers. Each returns a combiner table
/// as a flat buffer in the shuffle format (shuffle.hpp); map results end with a 16-byte
/// trailer {u64 bytes, u64 records}. Workers are stateless: the job travels with each task.

#include <cstdint>
#include <string>
#include <vector>

#include "mr/detail/job_config.hpp"

namespace mr::detail {

/// A combiner table as entries `u32 key_size, key, i64 value` (see shuffle.hpp).
using PartialTable = std::vector<char>;

/// Maps the lines of [begin, end) of `path` (both on line starts); the worker reads the file.
PartialTable pool_map_file_chunk(JobKind job, WordMode words, std::string path, std::uint64_t begin,
                                 std::uint64_t end);

/// Maps `lines` shipped by the parent (stdin, .gz); `line_base` lines of `name` precede them.
PartialTable pool_map_data_chunk(JobKind job, WordMode words, std::string name, std::uint64_t line_base,
                                 std::string lines);

/// Merges concatenated table buffers (equal keys summed) into one table buffer.
PartialTable pool_merge_tables(PartialTable tables);

}  // namespace mr::detail
