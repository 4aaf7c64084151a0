#include "mr/detail/job_mapper.hpp"

#include <algorithm>
#include <cstring>

#include "mr/detail/local_blocks.hpp"
#include "mr/detail/ngram.hpp"
#include "mr/detail/tokenize.hpp"
#include "mr/error.hpp"

namespace mr::detail {

JobMapper::JobMapper(const JobConfig& config, CountTable& table) : config_(config), table_(table) {}

JobMapper::~JobMapper() = default;

void JobMapper::fail(std::string_view, const char* line, const BlockOrigin& origin,
                     const char* reason) const {
  std::uint64_t number = origin.line_base + 1;
  if (origin.count_from)
    number += static_cast<std::uint64_t>(std::count(origin.count_from, line, '\n'));
  throw InputError(std::string(origin.name) + ":" + std::to_string(number) + ": " + reason);
}

void JobMapper::flush_pending() {
  if (has_pending_) table_.add(pending_key_, pending_sum_);
  has_pending_ = false;
}

void JobMapper::finish() { flush_pending(); }

void JobMapper::map_block(std::string_view block, const BlockOrigin& origin) {
  stats_.bytes += block.size();
  if (config_.job == JobKind::WordCount) {
    // Views into `block` stay valid until flush(); lower-cased words live in scratch_ only
    // for the call, so those are copied.
    PrefetchingAdder<CountTable> adder(table_);
    if (config_.words == WordMode::Whitespace) {
      stats_.records += for_each_whitespace_token(block, [&](std::string_view word) { adder.add(word, 1); });
    } else {
      stats_.records += for_each_alnum_token(
          block,
          [&](std::string_view word) {
            if (word.data() == scratch_.data()) adder.add_copy(word, 1);
            else adder.add(word, 1);
          },
          scratch_);
    }
    adder.flush();
    return;
  }
  const char* p = block.data();
  const char* const end = p + block.size();
  std::uint64_t records = 0;
  while (p != end) {
    const auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const char* line_end = nl ? nl : end;
    NgramRecord record;
    const NgramError error = parse_ngram_line(std::string_view(p, static_cast<std::size_t>(line_end - p)), record);
    if (error != NgramError::None) fail(block, p, origin, describe(error));
    // Input sorted by ngram: most lines continue the current ngram; sum them locally.
    if (has_pending_ && record.ngram == std::string_view(pending_key_)) {
      if (__builtin_add_overflow(pending_sum_, record.match_count, &pending_sum_))
        fail(block, p, origin, "the sum of match_count for this ngram does not fit in 64 bits");
    } else {
      if (has_nul(record.ngram)) fail(block, p, origin, describe(NgramError::NulByte));
      flush_pending();
      pending_key_.assign(record.ngram);
      pending_sum_ = record.match_count;
      has_pending_ = true;
    }
    ++records;
    p = nl ? nl + 1 : end;
  }
  stats_.records += records;
}

void map_file_range(JobMapper& mapper, const std::string& path, std::uint64_t begin, std::uint64_t end) {
  for_each_block_in_range(path, begin, end,
                          [&](std::string_view lines, const BlockOrigin& origin) { mapper.map_block(lines, origin); });
}

}  // namespace mr::detail
