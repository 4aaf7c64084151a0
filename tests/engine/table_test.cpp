// Combiner table, flat exchange buffers, result ordering, output file, job options.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "mr/detail/atomic_file.hpp"
#include "mr/detail/hash_table.hpp"
#include "jobs/job_config.hpp"
#include "jobs/builtin_maps.hpp"
#include "jobs/output.hpp"
#include "mr/detail/shuffle.hpp"
#include "mr/emitter.hpp"
#include "mr/error.hpp"

using namespace mr::detail;

namespace {

std::map<std::string, std::int64_t> as_map(const CountTable& table) {
  std::map<std::string, std::int64_t> out;
  table.for_each([&](std::string_view k, std::uint64_t h, std::int64_t v) {
    EXPECT_EQ(h, hash_bytes(k));
    EXPECT_TRUE(out.emplace(std::string(k), v).second) << "duplicate key " << k;
  });
  return out;
}

}  // namespace

/// The oracle of FlatTable::key_bytes(): the sizes of the keys summed.
template <class Map>
std::size_t summed_key_sizes(const Map& map) {
  std::size_t bytes = 0;
  for (const auto& entry : map) bytes += entry.first.size();
  return bytes;
}

TEST(Hash, BytesEqualAndHashAgreeOnEverySize) {
  std::string a(40, 'x'), b(40, 'x');
  for (std::size_t n = 0; n <= 40; ++n) {
    EXPECT_TRUE(bytes_equal(a.data(), b.data(), n));
    EXPECT_EQ(hash_bytes(a.data(), n), hash_bytes(b.data(), n));
    if (n > 0) {
      b[n - 1] = 'y';
      EXPECT_FALSE(bytes_equal(a.data(), b.data(), n)) << n;
      EXPECT_NE(hash_bytes(a.data(), n), hash_bytes(b.data(), n)) << n;
      b[n - 1] = 'x';
    }
  }
}

// The hash's three uses each take different bits: the slot index the low ones, the tag bits
// 32-38, the owner rank the high ones. Keys that differ only in a few digit bytes (ids, years,
// numbers as text) must spread over all three: chi-square per degree of freedom near 1 for a
// uniform spread. A cheaper mix tried for speed (two products added, high half folded down)
// gave 15-84 for the tag bits of these keys and 12-14 for 2^16 slots.
TEST(Hash, DigitKeysSpreadOverSlotsTagsAndOwners) {
  auto chi_square_per_df = [](const std::vector<std::uint64_t>& hashes, std::size_t buckets, auto bucket_of) {
    std::vector<double> count(buckets);
    for (std::uint64_t h : hashes) count[bucket_of(h)] += 1;
    const double expected = static_cast<double>(hashes.size()) / static_cast<double>(buckets);
    double sum = 0;
    for (double c : count) sum += (c - expected) * (c - expected) / expected;
    return sum / static_cast<double>(buckets - 1);
  };
  for (const std::string prefix : {"", "w", "id-"}) {
    std::vector<std::uint64_t> hashes;
    for (int i = 0; i < 1'000'000; ++i) hashes.push_back(hash_bytes(prefix + std::to_string(i * 7 + 3)));
    EXPECT_LT(chi_square_per_df(hashes, 1 << 16, [](std::uint64_t h) { return h & 0xFFFF; }), 1.5) << prefix;
    EXPECT_LT(chi_square_per_df(hashes, 128, [](std::uint64_t h) { return (h >> 32) & 0x7F; }), 2.0) << prefix;
    EXPECT_LT(chi_square_per_df(hashes, 7, [](std::uint64_t h) { return static_cast<std::size_t>(owner_of(h, 7)); }), 4.0)
        << prefix;
  }
}

TEST(Table, GrowableBlockKeepsBytesAndAlignsLargeBlocks) {
  // Doubling from the first small mapping to 16 MiB: what was written survives each growth,
  // the new bytes are zero, and from 2 MiB on the block starts on a huge-page boundary (the
  // crossing copies the small block into an aligned one; later growth extends or moves it).
  constexpr std::size_t huge = std::size_t{2} << 20;
  mr::detail::HugeArray<std::uint64_t> array(1);
  std::size_t written = 0;
  for (std::size_t count = 1; count <= (std::size_t{16} << 20) / sizeof(std::uint64_t); count *= 2) {
    array.grow(count);
    for (std::size_t i = 0; i < written; ++i) ASSERT_EQ(array[i], i * 7 + 1) << "element " << i << " of " << count;
    for (std::size_t i = written; i < count; ++i) ASSERT_EQ(array[i], 0u) << "element " << i << " of " << count;
    for (std::size_t i = written; i < count; ++i) array[i] = i * 7 + 1;
    written = count;
    if (count * sizeof(std::uint64_t) >= huge) EXPECT_EQ(reinterpret_cast<std::uintptr_t>(array.begin()) % huge, 0u) << count;
  }
}

TEST(Table, MatchesStdMapUnderRandomLoad) {
  std::mt19937_64 rng(7);
  CountTable table(16);
  std::map<std::string, std::int64_t> oracle;
  PrefetchingAdder<CountTable> adder(table);
  std::vector<std::string> keys;
  for (int i = 0; i < 20000; ++i) {
    const std::size_t len = rng() % 30;  // inline (<= 12) and arena keys
    std::string key(len, '\0');
    for (auto& c : key) c = static_cast<char>(rng() % 4 + 'a');
    keys.push_back(key);
  }
  for (const auto& key : keys) {
    const auto value = static_cast<std::int64_t>(rng() % 100);
    adder.add(key, value);  // keys outlive flush()
    oracle[key] += value;
  }
  adder.flush();
  EXPECT_EQ(as_map(table), oracle);
  EXPECT_EQ(table.size(), oracle.size());
  EXPECT_EQ(table.key_bytes(), summed_key_sizes(oracle));
  for (const auto& [k, v] : oracle) ASSERT_EQ(*table.find(k), v);
  EXPECT_EQ(table.find("not-there-at-all"), nullptr);
  EXPECT_GT(table.memory_bytes(), 0u);
}

TEST(Table, LongKeysGrowthAndOutOfEntryValues) {
  // Entry headers of 1 byte (< 255) and 5 bytes (>= 255), growth from the smallest table
  // (the slots are rebuilt from the arena), and values that live beside the entries.
  CountTable counts(1);
  FlatTable<std::string, decltype([](const std::string& a, const std::string& b) { return a + b; })> strings(1);
  std::map<std::string, std::int64_t> oracle;
  std::map<std::string, std::string> string_oracle;
  for (int i = 0; i < 3000; ++i) {
    const std::size_t len = i % 3 == 0 ? 254 + static_cast<std::size_t>(i % 7) : static_cast<std::size_t>(i % 17);
    std::string key(len, static_cast<char>('a' + i % 5));
    if (!key.empty()) key[0] = static_cast<char>('0' + i % 10);
    counts.add(key, i);
    oracle[key] += i;
    strings.add(key, std::string(1, static_cast<char>('A' + i % 26)));
    string_oracle[key] += std::string(1, static_cast<char>('A' + i % 26));
  }
  counts.add(std::string(70000, 'k'), 5);
  oracle[std::string(70000, 'k')] += 5;
  EXPECT_EQ(as_map(counts), oracle);
  EXPECT_EQ(counts.key_bytes(), summed_key_sizes(oracle));  // sizes of 255 and more included
  for (const auto& [k, v] : string_oracle) ASSERT_EQ(*strings.find(k), v) << k.size();
  for (int i = 0; i < 5000; ++i) counts.add("grow" + std::to_string(i), 1);  // several growths
  EXPECT_EQ(*counts.find(std::string(70000, 'k')), 5);
  EXPECT_EQ(counts.size(), oracle.size() + 5000);
  counts.clear();
  EXPECT_EQ(counts.size(), 0u);
  EXPECT_EQ(counts.key_bytes(), 0u);
  EXPECT_EQ(counts.find("grow1"), nullptr);
  counts.add("again", 1);
  EXPECT_EQ(*counts.find("again"), 1);
}

TEST(Table, GrowsInPlaceKeepingRunsThatWrapPastTheLastSlot) {
  // Doubling re-places keys inside the same slots. The hard cases are runs of occupied slots
  // that wrap from the last slot to the first: keys whose home is the last slot of the doubled
  // table (probe would wrap into slots not yet walked) and keys pushed past the old end.
  const auto keys_with_home = [](std::size_t home, std::size_t mask, int count, const std::string& prefix) {
    std::vector<std::string> keys;
    for (int i = 0; static_cast<int>(keys.size()) < count; ++i) {
      std::string key = prefix + std::to_string(i);
      if ((hash_bytes(key) & mask) == home) keys.push_back(key);
    }
    return keys;
  };
  CountTable table(1);  // 16 slots; it doubles on the 13th key
  std::map<std::string, std::int64_t> oracle;
  std::vector<std::string> first = keys_with_home(14, 31, 3, "low");  // home 14 before and after
  for (auto& key : keys_with_home(31, 31, 4, "end")) first.push_back(key);  // home 15, then 31
  for (auto& key : keys_with_home(0, 15, 6, "zero")) first.push_back(key);  // slot 0 onwards
  for (std::size_t i = 0; i < first.size(); ++i) {
    table.add(first[i], static_cast<std::int64_t>(i + 1));
    oracle[first[i]] += static_cast<std::int64_t>(i + 1);
  }
  EXPECT_EQ(as_map(table), oracle);
  for (const auto& [k, v] : oracle) ASSERT_NE(table.find(k), nullptr) << k;
  std::mt19937_64 rng(11);
  for (int i = 0; i < 300000; ++i) {  // many more doublings, with 1-30 byte keys
    std::string key = std::to_string(rng() % 200000) + std::string(rng() % 20, 'x');
    table.add(key, 1);
    oracle[key] += 1;
  }
  EXPECT_EQ(table.size(), oracle.size());
  EXPECT_EQ(as_map(table), oracle);
  for (const auto& [k, v] : oracle) ASSERT_EQ(*table.find(k), v) << k;
}

TEST(Table, AddCopyAndCustomReduce) {
  FlatTable<std::int64_t, decltype([](std::int64_t a, std::int64_t b) { return std::max(a, b); })> table;
  table.add("k", 3);
  table.add("k", 9);
  table.add("k", 4);
  EXPECT_EQ(*table.find("k"), 9);
  CountTable counts;
  {
    PrefetchingAdder<CountTable> adder(counts);
    std::string scratch;
    for (int i = 0; i < 50; ++i) {
      scratch = "word" + std::to_string(i % 7);
      adder.add_copy(scratch, 1);
    }
    adder.flush();
  }
  EXPECT_EQ(counts.size(), 7u);
  EXPECT_EQ(*counts.find("word0"), 8);
}

TEST(Table, InPlaceAndCopiedKeysOfEverySizeMeetInOneEntry) {
  // A key read in place (two word loads past its end, masked) and the same key copied (read
  // byte-exactly) must give the same words and hash, for every size of a short key; the
  // bytes after each key differ from run to run, so a mask that keeps one byte too many
  // splits the key in two. 37 keys a round: the adder's batches end mid-round.
  for (std::size_t size = 0; size <= short_key_bytes; ++size) {
    EXPECT_EQ(short_key_overread("abcdefghijklmnopqrstuvwxyz0123456789", size).lo,
              short_key("abcdefghijklmnopqrstuvwxyz0123456789", size).lo) << size;
    EXPECT_EQ(short_key_overread("abcdefghijklmnopqrstuvwxyz0123456789", size).hi,
              short_key("abcdefghijklmnopqrstuvwxyz0123456789", size).hi) << size;
  }
  std::string text;
  std::vector<std::pair<std::size_t, std::size_t>> keys;  // (offset, size) into text
  std::mt19937 random(5);
  for (int round = 0; round < 37; ++round)
    for (std::size_t size = 0; size <= short_key_bytes + 2; ++size) {
      keys.emplace_back(text.size(), size);
      text.append(std::string(size, 'k'));
      text.push_back(static_cast<char>('a' + random() % 26));  // differs after every key
    }
  text.append(32, '\0');  // readable past the last key
  CountTable table;
  {
    PrefetchingAdder<CountTable> adder(table, text.data() + text.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const std::string_view key(text.data() + keys[i].first, keys[i].second);
      if (i % 3 == 0) adder.add_copy(key, 1);
      else adder.add(key, 1);
    }
    adder.flush();
  }
  EXPECT_EQ(table.size(), short_key_bytes + 3);
  for (std::size_t size = 0; size <= short_key_bytes + 2; ++size) EXPECT_EQ(*table.find(std::string(size, 'k')), 37) << size;
}

TEST(Buffers, SerializeMergeRoundTripAndKeepOwnKeys) {
  const auto make = [] {
    CountTable a;
    a.add("alpha", 2);
    a.add(std::string(100, 'z'), 5);
    a.add("", 1);  // an empty key survives
    for (int i = 0; i < 50; ++i) a.add("key" + std::to_string(i), i);
    return a;
  };
  const CountTable a = make();
  CountTable b;
  b.add("alpha", 3);
  const auto buffer = serialize_table(a);
  merge_buffer(std::string_view(buffer.data(), buffer.size()), b);
  auto expected = as_map(a);
  expected["alpha"] += 3;
  EXPECT_EQ(as_map(b), expected);
  for (int ranks : {1, 2, 3, 5}) {
    // Each rank's view: its own keys stay in the table, the others' go to their buffers.
    CountTable joined;
    for (int rank = 0; rank < ranks; ++rank) {
      CountTable mine = make();
      const auto parts = keep_own_keys(mine, rank, ranks);
      ASSERT_EQ(parts.size(), static_cast<std::size_t>(ranks));
      EXPECT_TRUE(parts[static_cast<std::size_t>(rank)].empty());
      mine.for_each([&](std::string_view key, std::int64_t value) {
        EXPECT_EQ(owner_of(hash_bytes(key), ranks), rank);
        joined.add(key, value);
      });
      for (int r = 0; r < ranks; ++r)
        for_each_entry<std::int64_t>(parts[static_cast<std::size_t>(r)], [&](std::string_view key, std::int64_t) {
          EXPECT_EQ(owner_of(hash_bytes(key), ranks), r);
        });
    }
    EXPECT_EQ(as_map(joined), as_map(a));  // every key kept by exactly its owner
  }
  // The buffers are reserved from the table's key bytes once: for a large table, none has
  // to grow (its data would move), at any rank count.
  CountTable large;
  std::mt19937_64 rng(11);
  for (int i = 0; i < 200000; ++i) large.add(std::to_string(rng()).substr(0, 1 + rng() % 20), 1);
  for (int ranks : {2, 3, 16}) {
    CountTable copy;
    large.for_each([&](std::string_view key, std::int64_t value) { copy.add(key, value); });
    const std::size_t total = serialize_table(copy).size();
    const auto parts = keep_own_keys(copy, 0, ranks);
    std::size_t sent = 0;
    for (const Bytes& part : parts) {
      sent += part.size();
      if (!part.empty()) EXPECT_LE(part.capacity(), total / static_cast<std::size_t>(ranks) * 11 / 10) << ranks;
    }
    EXPECT_EQ(sent + serialize_table(copy).size(), total) << ranks;
  }
  // A few long keys: sized exactly, not from their mean (which would reserve each buffer at
  // many times the whole table).
  CountTable skewed;
  skewed.add("a", 1);
  skewed.add("b", 1);
  skewed.add(std::string(std::size_t{4} << 20, 'k'), 1);
  const std::size_t skewed_total = serialize_table(skewed).size();
  const auto sizes = owner_bytes(skewed, 2);
  EXPECT_EQ(sizes[0] + sizes[1], skewed_total);
  const auto parts = keep_own_keys(skewed, 0, 2);
  EXPECT_LE(parts[1].capacity(), skewed_total + 64);
  EXPECT_THROW(for_each_entry<std::int64_t>(std::string_view(buffer.data(), buffer.size() - 1), [](auto, auto) {}), mr::Error);
}

TEST(Table, RetainIfKeepsTheRestFindableAndGrowing) {
  // Many keys of 1-40 bytes (inline and arena), string values (kept out of the slots), drop
  // a third, then keep adding: against std::map.
  const auto concat = [](const std::string& x, const std::string& y) { return x + y; };
  FlatTable<std::string, decltype(concat)> table(16, concat);
  std::map<std::string, std::string> oracle;
  std::mt19937_64 rng(5);
  for (int i = 0; i < 60000; ++i) {
    std::string key = std::to_string(rng() % 40000) + std::string(rng() % 30, 'k');
    const std::string value(1, static_cast<char>('a' + rng() % 26));
    table.add(key, value);
    oracle[key] += value;
  }
  std::size_t seen = 0;
  table.retain_if([&](std::string_view key, std::uint64_t hash, const std::string& value) {
    ++seen;
    EXPECT_EQ(hash, hash_bytes(key));
    EXPECT_EQ(value, oracle.at(std::string(key)));
    return hash % 3 != 0;
  });
  EXPECT_EQ(seen, oracle.size());
  std::erase_if(oracle, [](const auto& entry) { return hash_bytes(entry.first) % 3 == 0; });
  EXPECT_EQ(table.size(), oracle.size());
  EXPECT_EQ(table.key_bytes(), summed_key_sizes(oracle));  // dropped keys no longer counted
  for (const auto& [key, value] : oracle) ASSERT_NE(table.find(key), nullptr) << key;
  for (int i = 0; i < 60000; ++i) {  // still a table: adds combine, and it grows
    std::string key = std::to_string(rng() % 80000) + std::string(rng() % 30, 'k');
    table.add(key, "x");
    oracle[key] += "x";
  }
  std::map<std::string, std::string> got;
  table.for_each([&](std::string_view key, const std::string& value) { got.emplace(key, value); });
  EXPECT_EQ(got, oracle);
  EXPECT_EQ(table.key_bytes(), summed_key_sizes(oracle));
}

TEST(Table, IntoEntriesBuildsEveryEntryInTheSlotsMemory) {
  // Key sizes 0-300 (inline up to 14, arena 15-254, long over 254) and tables filled to every
  // load up to the maximum (the entries are 32 bytes in 24-byte slots: at 3/4 load they fill
  // the memory exactly). Every entry must come out whole, the table empty and still usable.
  for (const std::size_t keys : {std::size_t{0}, std::size_t{1}, std::size_t{11}, std::size_t{12}, std::size_t{3000},
                                 std::size_t{3072}, std::size_t{49152}}) {
    CountTable table;
    std::map<std::string, std::int64_t> oracle;
    for (std::size_t i = 0; i < keys; ++i) {
      const std::size_t size = i % 29 == 0 ? 255 + i % 46 : i % 37;
      std::string key = std::to_string(i);
      key.resize(std::max(size, key.size()), static_cast<char>('a' + i % 26));
      table.add(key, static_cast<std::int64_t>(i) - 7);
      oracle[key] = static_cast<std::int64_t>(i) - 7;
    }
    auto entries = table.into_entries<ResultEntry>([](std::string_view key, std::int64_t count) { return ResultEntry(key, count); });
    EXPECT_EQ(table.size(), 0u);
    EXPECT_EQ(table.key_bytes(), 0u);
    ASSERT_EQ(entries.size(), oracle.size()) << keys << " keys";
    EXPECT_GE(entries.capacity(), entries.size());
    std::map<std::string, std::int64_t> got;
    for (const ResultEntry& entry : entries) got.emplace(entry.key(), entry.count);
    EXPECT_EQ(got, oracle) << keys << " keys";
    // Growing past the lent memory keeps the entries, long keys still pointing into the arena.
    const std::size_t before = entries.size();
    for (int i = 0; i < 100; ++i) entries.push_back(ResultEntry("extra", i));
    got.clear();
    for (std::size_t i = 0; i < before; ++i) got.emplace(entries[i].key(), entries[i].count);
    EXPECT_EQ(got, oracle) << keys << " keys, after growing";
    table.add("again", 1);
    EXPECT_EQ(*table.find("again"), 1);
  }
}

TEST(Buffers, RoundsForLimit) {
  EXPECT_EQ(rounds_for(0, 10), 1u);
  EXPECT_EQ(rounds_for(10, 10), 1u);
  EXPECT_EQ(rounds_for(11, 10), 2u);
  EXPECT_EQ(rounds_for(5ull << 31, 1ull << 30), 10u);
  EXPECT_EQ(rounds_for((5ull << 31) + 1, 1ull << 30), 11u);
}

TEST(Output, OrderIsCountDescThenKeyBytewise) {
  CountTable table;
  table.add("b", 2);
  table.add("a", 2);
  table.add("\xc3\xa9", 2);  // bytes >= 0x80 sort after ASCII
  table.add("B", 2);
  table.add("z", 7);
  table.add("aa", 1);
  std::vector<ResultEntry> entries;
  table.for_each([&](std::string_view key, std::int64_t count) { entries.emplace_back(key, count); });
  sort_results(entries);
  std::vector<std::string> keys;
  for (const auto& e : entries) keys.emplace_back(e.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"z", "B", "a", "b", "\xc3\xa9", "aa"}));
}

TEST(Output, FileIsWrittenAtomically) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("mr_out_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    mr::detail::AtomicFile file((dir / "out.tsv").string());
    file.write("y\t4\n");
    EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);  // only the temp file
    EXPECT_FALSE(fs::exists(dir / "out.tsv"));
    file.write("x\t3\n");
    file.commit();
  }
  std::ifstream in(dir / "out.tsv");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "y\t4\nx\t3\n");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);  // no temp left
  EXPECT_THROW(mr::detail::AtomicFile((dir / "no" / "such" / "dir.tsv").string()), mr::InputError);
  {
    mr::detail::AtomicFile abandoned((dir / "abandoned.tsv").string());
    abandoned.write("partial\n");
  }  // destroyed without commit: no file, no temp
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
  fs::remove_all(dir);
}

TEST(Output, LinesAreSizedExactlyForEveryCount) {
  // result_lines_size is the buffer size format_result_lines fills: it must be exact for every
  // int64 (sign, 1 to 19 digits), against snprintf as the oracle.
  const std::vector<std::string> keys{"", "k", "a longer key", std::string("n\0l", 3)};
  std::vector<std::int64_t> counts{0, 1, -1, INT64_MAX, INT64_MIN, INT64_MIN + 1};
  for (std::int64_t power = 1; power <= INT64_MAX / 10; power *= 10)
    for (const std::int64_t c : {power * 10 - 1, power * 10, -(power * 10 - 1), -(power * 10)}) counts.push_back(c);
  std::vector<mr::detail::ResultEntry> entries;
  std::string expected;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const std::string& key = keys[i % keys.size()];
    entries.emplace_back(key, counts[i]);
    char digits[32];
    std::snprintf(digits, sizeof digits, "%" PRId64, counts[i]);
    expected += key + "\t" + digits + "\n";
  }
  const auto* first = entries.data();
  const auto* last = first + entries.size();
  ASSERT_EQ(mr::detail::result_lines_size(first, last), expected.size());
  std::string text(expected.size(), '\0');
  EXPECT_EQ(mr::detail::format_result_lines(text.data(), first, last), text.data() + text.size());
  EXPECT_EQ(text, expected);
  std::string appended = "head\n";
  mr::detail::append_result_lines(appended, first, last);
  EXPECT_EQ(appended, "head\n" + expected);
}

TEST(Output, SummaryLineAndJson) {
  JobSummary s;
  s.bytes = 2000000;
  s.records = 10;
  s.distinct_keys = 4;
  s.seconds = 0.5;
  s.ranks = 2;
  s.phases = mr::PhaseTimes{0.01, 0.25, 0.05, 0.02, 0.1, 0.07};
  s.peak_rss = {1048576, 2097152};
  EXPECT_DOUBLE_EQ(s.mb_per_second_per_rank(), 2.0);
  EXPECT_EQ(summary_line(s), "mapreduce: wordcount, 2000000 bytes, 10 records, 4 distinct keys, 0.500 s, 2.0 MB/s per rank (2 ranks)");
  EXPECT_EQ(summary_json(s),
            "{\"job\":\"wordcount\",\"engine\":\"spmd\",\"ranks\":2,\"bytes\":2000000,\"records\":10,"
            "\"distinct_keys\":4,\"seconds\":0.500000,\"mb_per_s_per_rank\":2.000,"
            "\"phases\":{\"read\":0.010000,\"map\":0.250000,\"shuffle\":0.050000,\"reduce\":0.020000,"
            "\"sort\":0.100000,\"write\":0.070000},\"peak_rss_bytes\":[1048576,2097152]}");
  EXPECT_EQ(phases_line(s),
            "mapreduce: phases (slowest rank each): read 0.010 s, map 0.250 s, shuffle 0.050 s, reduce 0.020 s, "
            "sort 0.100 s, write 0.070 s");
  EXPECT_GT(peak_rss_bytes(), 1u << 20);  // this test process's own VmHWM
}

TEST(JobConfig, ParsesEveryOption) {
  const auto c = parse_job_args({"--job", "ngram", "--top=5", "--query", "a", "--query", "b", "--output", "o.tsv",
                                 "--json", "--progress", "--chunk-bytes", "100", "in1", "-", "--", "--odd-name"});
  EXPECT_EQ(c.job, JobKind::Ngram);
  EXPECT_EQ(c.top, 5u);
  EXPECT_EQ(c.queries, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.output, "o.tsv");
  EXPECT_TRUE(c.json && c.progress);
  EXPECT_EQ(c.chunk_bytes, 100u);
  EXPECT_EQ(c.inputs, (std::vector<std::string>{"in1", "-", "--odd-name"}));
  const auto w = parse_job_args({"--words", "alnum", "--workers", "3", "x"});
  EXPECT_EQ(w.words, WordMode::Alnum);
  EXPECT_EQ(w.workers, 3);
  EXPECT_TRUE(parse_job_args({"--help"}).help);
  EXPECT_TRUE(parse_job_args({"-h"}).help);
  EXPECT_NE(job_usage().find("--skip-tagged"), std::string::npos);  // generated from the declarations
  const auto n = parse_job_args({"--job", "ngram", "--years", "1800-1899", "--count", "volume", "--skip-tagged",
                                 "--min-count", "5", "x"});
  EXPECT_EQ(n.ngram.first_year, 1800);
  EXPECT_EQ(n.ngram.last_year, 1899);
  EXPECT_EQ(n.ngram.value, NgramValue::Volume);
  EXPECT_TRUE(n.ngram.skip_tagged);
  EXPECT_EQ(n.min_count, 5u);
  EXPECT_EQ(parse_job_args({"--job", "ngram", "--years", "-1950", "x"}).ngram.first_year, INT64_MIN);
  EXPECT_EQ(parse_job_args({"--job", "ngram", "--years=-1950", "x"}).ngram.last_year, 1950);
  EXPECT_EQ(parse_job_args({"--job", "ngram", "--years", "1900-", "x"}).ngram.last_year, INT64_MAX);
  NgramOptions copy;
  copy.configure(n.ngram.state());
  EXPECT_EQ(copy, n.ngram);  // what pool workers receive
  EXPECT_EQ(parse_job_args({"--output", "-", "x"}).output, "-");
  const auto q = parse_job_args({"--query", "a", "in1", "in2", "--query", "b"});
  EXPECT_EQ(q.queries, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(q.inputs, (std::vector<std::string>{"in1", "in2"}));
}

TEST(JobConfig, RejectsBadArguments) {
  auto message = [](std::vector<std::string> args) {
    try {
      parse_job_args(args);
    } catch (const mr::UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message({"--frobnicate", "x"}), "unknown option '--frobnicate' (see --help)");
  EXPECT_EQ(message({"-z", "x"}), "unknown option '-z' (see --help)");
  EXPECT_EQ(message({"--job", "grep", "x"}), "--job: expected wordcount or ngram, got 'grep'");
  EXPECT_EQ(message({"--top", "0", "x"}), "--top: expected an integer >= 1, got '0'");
  EXPECT_EQ(message({"--top", "ten", "x"}), "--top: expected an integer >= 1, got 'ten'");
  EXPECT_EQ(message({"--workers", "-1", "x"}), "--workers: expected an integer >= 1, got '-1'");
  EXPECT_EQ(message({"--chunk-bytes", "0", "x"}), "--chunk-bytes: expected an integer >= 1, got '0'");
  EXPECT_EQ(message({"--chunk-lines", "10", "x"}), "unknown option '--chunk-lines' (see --help)");
  EXPECT_EQ(message({"x", "--top"}), "--top: missing value (see --help)");
  EXPECT_EQ(message({"--years", "1900", "--job", "ngram", "x"}),
            "--years: expected FROM-TO, FROM- or -TO with years FROM <= TO, got '1900'");
  EXPECT_EQ(message({"--job", "ngram", "--years", "1950-1900", "x"}),
            "--years: expected FROM-TO, FROM- or -TO with years FROM <= TO, got '1950-1900'");
  EXPECT_EQ(message({"--job", "ngram", "--years", "-", "x"}),
            "--years: expected FROM-TO, FROM- or -TO with years FROM <= TO, got '-'");
  EXPECT_EQ(message({"--job", "ngram", "--count", "pages", "x"}), "--count: expected match or volume, got 'pages'");
  EXPECT_EQ(message({"--years", "1900-", "x"}), "--years applies to --job ngram only");
  EXPECT_EQ(message({"--skip-tagged", "x"}), "--skip-tagged applies to --job ngram only");
  EXPECT_EQ(message({"--min-count", "-3", "x"}), "--min-count: expected an integer >= 0, got '-3'");
  EXPECT_EQ(message({"--job", "ngram", "--words", "alnum", "x"}), "--words applies to --job wordcount only");
  EXPECT_EQ(message({}), "no input given: name files, directories or - (see --help)");
}

/// Maps `block` with one of the built-in map functions through the record loop.
template <class Map>
mr::MapReduceStats map_with(Map map, std::string_view block, const BlockOrigin& origin, CountTable& table) {
  mr::Emitter<std::string, std::int64_t, SumReduce> emit(table);
  mr::MapReduceStats stats;
  emit.set_window(block.data(), block.data() + block.size());
  map_records(block, origin, map, emit, stats);
  emit.flush();
  return stats;
}

TEST(BuiltinMaps, NgramSumsRunsAndNamesFileAndLine) {
  CountTable table;
  const std::string block = "a\t1\t2\t0\na\t2\t3\t0\r\nb\t1\t4\t0\na\t3\t1\t0";
  const mr::MapReduceStats stats = map_with(NgramCounts{}, block, BlockOrigin{"f", block.data(), 0}, table);
  EXPECT_EQ(*table.find("a"), 6);
  EXPECT_EQ(*table.find("b"), 4);
  EXPECT_EQ(stats.records, 4u);
  EXPECT_EQ(stats.bytes, block.size());

  const std::string bad = "a\t1\t2\t0\nb\t1\tx\t0\n";
  try {
    map_with(NgramCounts{}, bad, BlockOrigin{"data/x.tsv", bad.data(), 40}, table);
    FAIL();
  } catch (const mr::InputError& e) {
    EXPECT_EQ(std::string(e.what()), "data/x.tsv:42: malformed ngram line: match_count is not a non-negative integer (v2 (2012) layout, "
              "from the file's first line)");
  }
  const std::string overflow = "c\t1\t9223372036854775807\t0\nc\t2\t1\t0\n";
  try {
    map_with(NgramCounts{}, overflow, BlockOrigin{"o.tsv", overflow.data(), 0}, table);
    FAIL();
  } catch (const mr::InputError& e) {
    EXPECT_EQ(std::string(e.what()), "o.tsv:2: the sum of counts for this ngram does not fit in 64 bits");
  }
}

TEST(BuiltinMaps, NgramLayoutsFromTheFirstLineAndOptions) {
  EXPECT_EQ(detect_ngram_format("a\t1999\t2\t1"), NgramFormat::V2);
  EXPECT_EQ(detect_ngram_format("a\t1999\t2\t2\t1\nb"), NgramFormat::V1);
  EXPECT_EQ(detect_ngram_format("a\t1999,2,1"), NgramFormat::V3);
  EXPECT_EQ(detect_ngram_format("a\t1999,2,1\t2000,1,1\t2001,1,1\t2002,1,1"), NgramFormat::V3);
  EXPECT_TRUE(is_tagged("burnt_VERB") && is_tagged(":_.") && is_tagged("_NOUN_") && is_tagged("_START_"));
  EXPECT_FALSE(is_tagged("burnt") || is_tagged("A_B") || is_tagged("_") || is_tagged("_NOUN"));

  const std::string v1 = "a\t1800\t2\t2\t1\na\t1900\t3\t1\t1\nb_NOUN\t1850\t5\t1\t1\n";
  const std::string v3 = "a\t1800,2,1\t1900,3,1\nb_NOUN\t1850,5,1\nc\t1950,1,1\n";
  for (const std::string* text : {&v1, &v3}) {
    NgramCounts map;
    map.options.first_year = 1800;
    map.options.last_year = 1899;
    CountTable table;
    map_with(map, *text, BlockOrigin{"f", text->data(), 0, first_line_of(*text)}, table);
    EXPECT_EQ(*table.find("a"), 2);
    EXPECT_EQ(*table.find("b_NOUN"), 5);
    EXPECT_EQ(table.find("c"), nullptr);  // no record inside the years: absent
    map.options.skip_tagged = true;
    map.options.value = NgramValue::Volume;
    CountTable skipped;
    map_with(map, *text, BlockOrigin{"f", text->data(), 0, first_line_of(*text)}, skipped);
    EXPECT_EQ(skipped.size(), 1u);
    EXPECT_EQ(*skipped.find("a"), 1);
  }
  // A later block of a v3 file is read as v3 (its head), and a v2-shaped line in it is an error.
  const std::string later = "d\t1999\t5\t1\n";
  try {
    CountTable table;
    map_with(NgramCounts{}, later, BlockOrigin{"v3.tsv", later.data(), 9, "a\t1800,2,1"}, table);
    FAIL();
  } catch (const mr::InputError& e) {
    EXPECT_EQ(std::string(e.what()), "v3.tsv:10: malformed ngram line: expected year,match_count,volume_count in "
                                     "tuple 1 '1999' (v3 (2020) layout, from the file's first line)");
  }
  const std::string bad_tuple = "e\t1999,5,1\t2000,x,1\n";
  try {
    CountTable table;
    map_with(NgramCounts{}, bad_tuple, BlockOrigin{"v3.tsv", bad_tuple.data(), 0, first_line_of(bad_tuple)}, table);
    FAIL();
  } catch (const mr::InputError& e) {
    EXPECT_EQ(std::string(e.what()), "v3.tsv:1: malformed ngram line: match_count is not a non-negative integer in "
                                     "tuple 2 '2000,x,1' (v3 (2020) layout, from the file's first line)");
  }
}

TEST(BuiltinMaps, WordcountModes) {
  CountTable table;
  const std::string text = "I know what I know\nI know that I know\nI don't know much\nThey don't know much\n";
  EXPECT_EQ(map_with(WhitespaceWords{}, text, {}, table).records, 4u);
  EXPECT_EQ(as_map(table), (std::map<std::string, std::int64_t>{
                               {"I", 5}, {"know", 6}, {"don't", 2}, {"much", 2}, {"what", 1}, {"that", 1}, {"They", 1}}));
  CountTable lower;
  map_with(AlnumWords{}, std::string("The THE the, tHe\nA Very Long Uppercase WORD EXCEEDING INLINE LIMITS"), {}, lower);
  EXPECT_EQ(*lower.find("the"), 4);
  EXPECT_EQ(*lower.find("exceeding"), 1);
}

TEST(Table, SumReduceReportsOverflow) {
  CountTable table;
  table.add("k", INT64_MAX);
  EXPECT_THROW(table.add("k", 1), mr::RecordError);
}

// ---- the result order's radix sort (output.cpp) against std::sort ----
TEST(ResultOrder, RadixSortOfManyShortKeysWithFewCounts) {
  // The 10 M-word case in small: hundreds of thousands of distinct short words over a small
  // alphabet (buckets recursed several levels deep), counts 1-3, and words that share their
  // first 8 bytes (ordered past the prefix by the whole key).
  std::mt19937_64 random(5);
  std::vector<std::string> keys;
  for (int i = 0; i < 200000; ++i) {
    std::string key(1 + random() % 12, 'a');
    for (char& c : key) c = static_cast<char>('a' + random() % 4);
    keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::vector<mr::detail::ResultEntry> entries;
  for (const auto& key : keys) entries.emplace_back(key, static_cast<std::int64_t>(1 + random() % 3));
  auto expected = entries;
  std::sort(expected.begin(), expected.end(), mr::detail::result_before);
  mr::detail::sort_results(entries);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    ASSERT_EQ(entries[i].key(), expected[i].key()) << "at " << i;
    ASSERT_EQ(entries[i].count, expected[i].count) << "at " << i;
  }
}


TEST(ResultOrder, RadixSortMatchesTheComparisonSort) {
  std::mt19937_64 random(42);
  std::vector<std::string> keys;
  // Keys that tie on the 8-byte prefix, short keys, a key with a NUL and 0xFF bytes, and
  // counts with many ties, large values and negatives (the order is defined for all int64).
  for (int i = 0; i < 30000; ++i) {
    std::string key = i % 3 == 0 ? "prefix__" + std::to_string(random() % 5000) : std::to_string(random());
    if (i % 101 == 0) key = std::string("a\0\xff", 3) + key;
    if (i % 7 == 0) key.resize(random() % 4);
    keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());  // result keys are distinct
  std::vector<mr::detail::ResultEntry> entries;
  for (const auto& key : keys) {
    const std::int64_t count = random() % 4 == 0 ? static_cast<std::int64_t>(random() >> 1) - (std::int64_t{1} << 61)
                                                 : static_cast<std::int64_t>(random() % 20);
    entries.emplace_back(key, count);
  }
  for (const std::size_t n : {std::size_t{0}, std::size_t{5}, std::size_t{4095}, entries.size()}) {
    std::vector<mr::detail::ResultEntry> radix(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(n));
    auto expected = radix;
    std::sort(expected.begin(), expected.end(), mr::detail::result_before);
    mr::detail::sort_results(radix);
    ASSERT_EQ(radix.size(), expected.size());
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_EQ(radix[i].key(), expected[i].key()) << "at " << i << " of " << n;
      ASSERT_EQ(radix[i].count, expected[i].count) << "at " << i << " of " << n;
    }
  }
}
