#include "jobs/job_mapper.hpp"

#include <algorithm>
#include <cstring>

#include "mr/detail/local_blocks.hpp"
#include "jobs/ngram.hpp"
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
    PrefetchingAdder<CountTable> adder(table_, block.data() + block.size());
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
  map_ngram_block(block, origin);
}

namespace {

/// Reads decimal digits at p (bounded by end); nullptr when there are none or more than 18
/// (which could overflow: the careful parser decides those).
inline const char* fast_digits(const char* p, const char* end, std::int64_t& value) noexcept {
  const char* start = p;
  // Unsigned, so a run of more than 18 digits wraps harmlessly before it is rejected.
  std::uint64_t v = 0;
  while (p != end && static_cast<unsigned char>(*p - '0') < 10) {
    v = v * 10 + static_cast<std::uint64_t>(*p - '0');
    ++p;
  }
  value = static_cast<std::int64_t>(v);
  return (p == start || p - start > 18) ? nullptr : p;
}

}  // namespace

void JobMapper::map_ngram_block(std::string_view block, const BlockOrigin& origin) {
  const char* p = block.data();
  const char* const end = p + block.size();
  std::uint64_t records = 0;
  while (p != end) {
    const char* const line = p;
    // Fast path, one pass over the line: the common shape is "ngram\tyear\tcount\tvolumes\n"
    // with the same ngram as the previous line. Anything unusual goes to the careful parser.
    bool same_key = false;
    const char* key_end = nullptr;
    const std::size_t pending_size = pending_key_.size();
    if (has_pending_ && static_cast<std::size_t>(end - p) > pending_size && p[pending_size] == '\t' &&
        bytes_equal(p, pending_key_.data(), pending_size)) {
      key_end = p + pending_size;
      same_key = true;
    } else {
      const char* q = p;
      while (q != end && *q != '\t' && *q != '\n') ++q;
      if (q != end && *q == '\t' && q != p) key_end = q;
    }
    std::int64_t year = 0, count = 0, volumes = 0;
    const char* q = key_end ? fast_digits(key_end + 1, end, year) : nullptr;
    if (q && q != end && *q == '\t') q = fast_digits(q + 1, end, count);
    else q = nullptr;
    if (q && q != end && *q == '\t') q = fast_digits(q + 1, end, volumes);
    else q = nullptr;
    if (q && q != end && *q == '\r') ++q;
    if (q && (q == end || *q == '\n')) {
      p = q == end ? end : q + 1;
    } else {
      // Careful path: exact error, or a valid line the fast path does not take.
      const auto* nl = static_cast<const char*>(std::memchr(line, '\n', static_cast<std::size_t>(end - line)));
      const char* line_end = nl ? nl : end;
      NgramRecord record;
      const NgramError error = parse_ngram_line(std::string_view(line, static_cast<std::size_t>(line_end - line)), record);
      if (error != NgramError::None) fail(block, line, origin, describe(error));
      key_end = record.ngram.data() + record.ngram.size();
      same_key = has_pending_ && record.ngram == std::string_view(pending_key_);
      count = record.match_count;
      p = nl ? nl + 1 : end;
    }
    // Input sorted by ngram: most lines continue the current ngram; sum them locally.
    if (same_key) {
      if (__builtin_add_overflow(pending_sum_, count, &pending_sum_))
        fail(block, line, origin, "the sum of match_count for this ngram does not fit in 64 bits");
    } else {
      const std::string_view ngram(line, static_cast<std::size_t>(key_end - line));
      if (has_nul(ngram)) fail(block, line, origin, describe(NgramError::NulByte));
      flush_pending();
      pending_key_.assign(ngram);
      pending_sum_ = count;
      has_pending_ = true;
    }
    ++records;
  }
  stats_.records += records;
}

void map_file_range(JobMapper& mapper, const std::string& path, std::uint64_t begin, std::uint64_t end) {
  for_each_block_in_range(path, begin, end,
                          [&](std::string_view lines, const BlockOrigin& origin) { mapper.map_block(lines, origin); });
}

}  // namespace mr::detail
