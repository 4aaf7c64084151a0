#pragma once
/// \file pool_engine_tasks.hpp
/// The registered tasks the pool engine runs in its workers. A map task adds its chunk to the
/// table its worker keeps for the job (the in-mapper combiner: one table per worker, not one
/// per chunk) and returns the chunk's statistics; a drain task, pinned to one worker, hands
/// that table over as a flat buffer in the shuffle format (shuffle.hpp) and forgets it; merge
/// tasks sum such buffers.

#include <cstdint>
#include <string>
#include <vector>

#include "jobs/job_config.hpp"

namespace mr::detail {

/// A combiner table as entries `u32 key_size, key, i64 value` (see shuffle.hpp).
using PartialTable = std::vector<char>;

/// Identifies one run of the engine, so two jobs on one pool never share a worker's table.
using PoolJobId = std::uint64_t;

/// What a map task reports: the bytes and records of its chunk.
struct ChunkStats {
  std::uint64_t bytes = 0;
  std::uint64_t records = 0;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & bytes & records;
  }
};

/// Maps the lines of [begin, end) of `path` (both on line starts) into this worker's table of
/// `job`; the worker reads the file.
ChunkStats pool_map_file_chunk(PoolJobId job, JobKind kind, WordMode words, std::string path,
                               std::uint64_t begin, std::uint64_t end);

/// Maps `lines` shipped by the parent (stdin, .gz); `line_base` lines of `name` precede them.
ChunkStats pool_map_data_chunk(PoolJobId job, JobKind kind, WordMode words, std::string name,
                               std::uint64_t line_base, std::string lines);

/// This worker's table of `job` (empty if it mapped no chunk of it), which it then forgets.
PartialTable pool_drain_worker(PoolJobId job);

/// Merges concatenated table buffers (equal keys summed) into one table buffer.
PartialTable pool_merge_tables(PartialTable tables);

}  // namespace mr::detail
