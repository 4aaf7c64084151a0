#pragma once
/// \file job_mapper.hpp
/// The map step of the built-in jobs: a buffer of whole lines -> a local CountTable.
/// Used by the SPMD engine for each byte range and stream block, and reusable by any
/// other engine (the process pool maps chunks of lines with it).

#include <cstdint>
#include <string>
#include <string_view>

#include "mr/detail/hash_table.hpp"
#include "jobs/job_config.hpp"
#include "mr/detail/local_blocks.hpp"

namespace mr::detail {

/// Byte and record totals of what a mapper has seen.
struct MapStats {
  std::uint64_t bytes = 0;
  std::uint64_t records = 0;
};

/// Maps blocks of whole lines into a CountTable according to a JobConfig.
/// For ngram input (sorted by ngram, many years per ngram) it keeps a running sum for
/// the current ngram and touches the table only when the ngram changes.
class JobMapper {
 public:
  JobMapper(const JobConfig& config, CountTable& table);
  ~JobMapper();
  JobMapper(const JobMapper&) = delete;
  JobMapper& operator=(const JobMapper&) = delete;

  /// Maps every line of `block` (whole lines; the last may lack '\n'). Throws InputError
  /// "FILE:LINE: reason" for a malformed ngram line.
  void map_block(std::string_view block, const BlockOrigin& origin);
  /// Flushes pending state into the table; call once after the last block.
  void finish();
  const MapStats& stats() const noexcept { return stats_; }

 private:
  void map_ngram_block(std::string_view block, const BlockOrigin& origin);
  void flush_pending();
  [[noreturn]] void fail(std::string_view block, const char* line, const BlockOrigin& origin,
                         const char* reason) const;

  JobConfig config_;
  CountTable& table_;
  MapStats stats_;
  std::string scratch_;
  std::string pending_key_;  ///< ngram whose sum is being accumulated
  std::int64_t pending_sum_ = 0;
  bool has_pending_ = false;
};

/// Maps the lines that byte range [begin, end) of `path` owns (see partition.hpp) into
/// the mapper's table (convenience over for_each_block_in_range in local_blocks.hpp).
void map_file_range(JobMapper& mapper, const std::string& path, std::uint64_t begin, std::uint64_t end);

}  // namespace mr::detail
