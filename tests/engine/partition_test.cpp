// Partitioning and record alignment: every line lands in exactly one range, for any
// split, rank count and file layout.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "engine/partition.hpp"
#include "mr/detail/local_blocks.hpp"
#include "mr/detail/records.hpp"
#include "mr/error.hpp"

using namespace mr::detail;

namespace {

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    out.emplace_back(text.substr(0, nl == std::string_view::npos ? text.size() : nl + 1));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  }
  return out;
}

std::vector<InputFile> files_of(std::initializer_list<std::uint64_t> sizes) {
  std::vector<InputFile> files;
  int i = 0;
  for (auto size : sizes) files.push_back({"f" + std::to_string(i++), size, InputKind::File});
  return files;
}

}  // namespace

TEST(Alignment, FirstLineStart) {
  const std::string text = "ab\ncd\n\nef";
  EXPECT_EQ(first_line_start(text, 0), 0u);
  EXPECT_EQ(first_line_start(text, 1), 3u);
  EXPECT_EQ(first_line_start(text, 3), 3u);  // byte 2 is '\n': a line starts at 3
  EXPECT_EQ(first_line_start(text, 4), 6u);
  EXPECT_EQ(first_line_start(text, 6), 6u);
  EXPECT_EQ(first_line_start(text, 7), 7u);
  EXPECT_EQ(first_line_start(text, 8), 9u);  // no final newline: end of text
  EXPECT_EQ(first_line_start(text, 100), 9u);
}

TEST(Alignment, EveryLineExactlyOnceForEverySplit) {
  for (const std::string text : {"a\nbb\nccc\n\ndddd\n", "no newline at all", "x\r\ny\r\nz", "\n\n\n", "long line here\nq"}) {
    for (std::uint64_t piece = 1; piece <= text.size() + 1; ++piece) {
      std::string joined;
      std::vector<std::string> seen;
      for (std::uint64_t b = 0; b < text.size(); b += piece) {
        const auto lines = aligned_lines(text, b, std::min<std::uint64_t>(text.size(), b + piece));
        joined += lines;
      }
      EXPECT_EQ(joined, text) << "piece " << piece;
      EXPECT_EQ(lines_of(joined), lines_of(text));
    }
  }
}

TEST(Alignment, LineLongerThanRangeGoesToTheRangeHoldingItsStart) {
  const std::string text = "short\n" + std::string(100, 'x') + "\nend\n";
  EXPECT_EQ(aligned_lines(text, 0, 10), "short\n" + std::string(100, 'x') + "\n");
  EXPECT_EQ(aligned_lines(text, 10, 20), "");  // inside the long line: owns nothing
  EXPECT_EQ(aligned_lines(text, 20, text.size()), "end\n");
}

TEST(Plan, CoversEveryByteOnceInOrder) {
  for (int ranks : {1, 2, 3, 4, 7}) {
    for (std::uint64_t piece : std::initializer_list<std::uint64_t>{1, 3, 10, 1000}) {
      const auto files = files_of({10, 0, 25, 1, 7});
      PartitionOptions options;
      options.range_bytes = piece;
      const auto plan = plan_ranges(files, ranks, options);
      ASSERT_EQ(plan.size(), static_cast<std::size_t>(ranks));
      std::vector<std::uint64_t> next(files.size(), 0);
      std::uint32_t last_file = 0;
      for (const auto& ranges : plan) {
        for (const auto& range : ranges) {
          ASSERT_GE(range.file, last_file);
          last_file = range.file;
          EXPECT_EQ(range.begin, next[range.file]);
          EXPECT_LT(range.begin, range.end);
          next[range.file] = range.end;
        }
      }
      for (std::size_t f = 0; f < files.size(); ++f) EXPECT_EQ(next[f], files[f].size);
    }
  }
}

TEST(Plan, BalancesBytesAcrossRanksWithUnevenFiles) {
  const auto files = files_of({1000000, 10, 3000000, 500});
  const auto plan = plan_ranges(files, 4, PartitionOptions{4, 1, 0});
  std::uint64_t total = 0;
  for (const auto& f : files) total += f.size;
  for (const auto& ranges : plan) {
    std::uint64_t bytes = 0;
    for (const auto& r : ranges) bytes += r.end - r.begin;
    EXPECT_NEAR(static_cast<double>(bytes), static_cast<double>(total) / 4, static_cast<double>(total) / 16 + 1);
    EXPECT_GE(ranges.size(), 4u);  // several ranges per rank
  }
}

TEST(Plan, EmptyInputAndMoreRanksThanBytes) {
  EXPECT_TRUE(plan_ranges(files_of({0, 0}), 3)[0].empty());
  const auto plan = plan_ranges(files_of({2}), 4, PartitionOptions{4, 1, 0});
  std::uint64_t covered = 0;
  for (const auto& ranges : plan)
    for (const auto& r : ranges) covered += r.end - r.begin;
  EXPECT_EQ(covered, 2u);
}

TEST(Plan, StreamsAreNotPlanned) {
  std::vector<InputFile> files{{"-", 0, InputKind::Stdin}, {"a.gz", 100, InputKind::Gzip}, {"b", 5, InputKind::File}};
  const auto plan = plan_ranges(files, 2);
  std::size_t ranges = 0;
  for (const auto& r : plan)
    for (const auto& range : r) {
      EXPECT_EQ(range.file, 2u);
      ++ranges;
    }
  EXPECT_EQ(ranges, 1u);
}

TEST(SplitLines, CutsOnLineStarts) {
  const std::string text = "aaaa\nbb\ncccccc\nd\n";
  for (int parts : {1, 2, 3, 5, 30}) {
    const auto cuts = split_lines(text, parts);
    ASSERT_EQ(cuts.size(), static_cast<std::size_t>(parts) + 1);
    EXPECT_EQ(cuts.front(), 0u);
    EXPECT_EQ(cuts.back(), text.size());
    for (std::size_t i = 1; i < cuts.size(); ++i) {
      EXPECT_GE(cuts[i], cuts[i - 1]);
      EXPECT_TRUE(cuts[i] == text.size() || cuts[i] == 0 || text[cuts[i] - 1] == '\n');
    }
  }
}

class DiscoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("mr_discover_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "sub" / "deeper");
    std::filesystem::create_directories(dir_ / "empty");
    std::ofstream(dir_ / "b.txt") << "b\n";
    std::ofstream(dir_ / "a.txt") << "aa\n";
    std::ofstream(dir_ / "sub" / "deeper" / "c.gz") << "x";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(DiscoverTest, DirectoriesRecursiveAndSorted) {
  const auto files = discover_inputs({dir_.string() + "/sub", dir_.string() + "/b.txt", dir_.string() + "/a.txt", "-"});
  ASSERT_EQ(files.size(), 4u);
  EXPECT_EQ(files[0].path, "-");
  EXPECT_EQ(files[0].kind, InputKind::Stdin);
  EXPECT_EQ(files[1].path, (dir_ / "a.txt").string());
  EXPECT_EQ(files[1].size, 3u);
  EXPECT_EQ(files[2].path, (dir_ / "b.txt").string());
  EXPECT_EQ(files[3].kind, InputKind::Gzip);
}

TEST_F(DiscoverTest, ArgumentOrderDoesNotMatter) {
  const auto one = discover_inputs({(dir_ / "a.txt").string(), (dir_ / "b.txt").string()});
  const auto two = discover_inputs({(dir_ / "b.txt").string(), (dir_ / "a.txt").string()});
  ASSERT_EQ(one.size(), two.size());
  for (std::size_t i = 0; i < one.size(); ++i) EXPECT_EQ(one[i].path, two[i].path);
}

TEST_F(DiscoverTest, Errors) {
  try {
    discover_inputs({(dir_ / "missing.txt").string()});
    FAIL();
  } catch (const mr::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.txt: no such file"), std::string::npos) << e.what();
  }
  try {
    discover_inputs({(dir_ / "empty").string()});
    FAIL();
  } catch (const mr::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("contains no files"), std::string::npos) << e.what();
  }
  EXPECT_THROW(discover_inputs({"-", "-"}), mr::UsageError);
  if (::geteuid() != 0) {  // root reads anything
    std::filesystem::permissions(dir_ / "a.txt", std::filesystem::perms::none);
    EXPECT_THROW(discover_inputs({(dir_ / "a.txt").string()}), mr::InputError);
  }
}

TEST(AssignWholeFiles, LargestFirstOntoTheLeastLoadedRankInInputOrder) {
  using mr::detail::InputFile;
  using mr::detail::InputKind;
  const std::vector<InputFile> inputs{
      {"a.gz", 10, InputKind::Gzip}, {"b.txt", 999, InputKind::File}, {"c.gz", 50, InputKind::Gzip},
      {"d.gz", 40, InputKind::Gzip}, {"e.gz", 30, InputKind::Gzip},   {"f.gz", 0, InputKind::Gzip},
      {"-", 0, InputKind::Stdin}};
  // c (50) -> r0; d (40) -> r1; e (30) -> r1 (40 < 50); a (10) -> r0 (50 < 70);
  // f (empty, counted as 1 byte so empty files spread) -> r0 (60 < 70).
  const auto two = mr::detail::assign_whole_files(inputs, 2);
  EXPECT_EQ(two, (std::vector<std::vector<std::uint32_t>>{{0, 2, 5}, {3, 4}}));
  // More ranks than files: some ranks get none, none gets two.
  const auto eight = mr::detail::assign_whole_files(inputs, 8);
  std::size_t assigned = 0;
  for (const auto& files : eight) {
    EXPECT_LE(files.size(), 1u);
    assigned += files.size();
  }
  EXPECT_EQ(assigned, 5u);
  // Plain files and stdin are never assigned whole; one rank takes everything.
  EXPECT_EQ(mr::detail::assign_whole_files(inputs, 1), (std::vector<std::vector<std::uint32_t>>{{0, 2, 3, 4, 5}}));
}

// ---- the block reader of regular files (pread into one reused buffer) ------------------------

namespace {

/// A file of `lines` lines of pseudo-random lengths up to `longest` bytes (a few much longer
/// than the reader's 1 MiB block), optionally without a final newline.
std::string make_lines(std::size_t lines, std::size_t longest, bool final_newline, std::uint64_t seed) {
  std::string text;
  for (std::size_t i = 0; i < lines; ++i) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    std::size_t length = (seed >> 33) % longest;
    if (i % 97 == 13) length = (std::size_t{5} << 19) + i;  // 2.5 MiB: longer than a block
    text += "L" + std::to_string(i) + ":" + std::string(length, static_cast<char>('a' + i % 26));
    if (i + 1 < lines || final_newline) text += '\n';
  }
  return text;
}

std::filesystem::path write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("mr-partition-test-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

}  // namespace

TEST(BlockReader, EveryRangeGetsExactlyItsAlignedLinesInWholeLineBlocks) {
  for (const bool final_newline : {true, false}) {
    const std::string text = make_lines(400, 40000, final_newline, 7);
    ASSERT_GT(text.size(), std::size_t{8} << 20);
    const auto path = write_temp("ranges", text);
    for (const std::uint64_t piece : {std::uint64_t{1} << 20, std::uint64_t{3000001}, std::uint64_t{text.size()}}) {
      for (std::uint64_t begin = 0; begin < text.size(); begin += piece) {
        const std::uint64_t end = std::min<std::uint64_t>(text.size(), begin + piece);
        std::string got;
        for_each_block_in_range(path.string(), begin, end, [&](std::string_view block, const BlockOrigin& origin) {
          EXPECT_TRUE(block.back() == '\n' || begin + got.size() + block.size() <= text.size()) << "a block of whole lines";
          EXPECT_EQ(origin.head, first_line_of(text));
          got += block;
        });
        EXPECT_EQ(got, aligned_lines(text, begin, end)) << "range " << begin << "-" << end;
      }
    }
    std::filesystem::remove(path);
  }
}

TEST(BlockReader, ALineFarLongerThanTheRangeIsReadWholeOnce) {
  // A 96 MiB line that starts in a range of a few bytes, and ranges that start inside it: the
  // first range gets it whole, the others nothing but the line after it. (Read 4 KiB at a time
  // past the range's end, each read followed by a search of the whole buffer, a line like
  // this took minutes: a 1.1 GiB one did in large_scale_check.sh; the ctest timeout catches it.)
  const std::string text = "first\n" + std::string(std::size_t{96} << 20, 'x') + "\nlast\n";
  const auto path = write_temp("long-line", text);
  const std::uint64_t cuts[] = {0, 3, 10, std::uint64_t{40} << 20, text.size() - 3, text.size()};
  std::string all;
  for (std::size_t i = 0; i + 1 < std::size(cuts); ++i) {
    std::string got;
    std::size_t blocks = 0;
    for_each_block_in_range(path.string(), cuts[i], cuts[i + 1], [&](std::string_view block, const BlockOrigin&) {
      got += block;
      ++blocks;
    });
    EXPECT_EQ(got, aligned_lines(text, cuts[i], cuts[i + 1])) << "range " << cuts[i] << "-" << cuts[i + 1];
    EXPECT_LE(blocks, 2u) << "the long line in one block";
    all += got;
  }
  EXPECT_TRUE(all == text);
  std::filesystem::remove(path);
}

TEST(BlockReader, LocationsCountTheLinesBeforeTheBlockFromTheFile) {
  const std::string text = make_lines(300, 30000, true, 11);
  const auto path = write_temp("lines", text);
  const std::uint64_t begin = text.size() / 3, end = 2 * text.size() / 3;
  std::uint64_t checked = 0;
  for_each_block_in_range(path.string(), begin, end, [&](std::string_view block, const BlockOrigin& origin) {
    for_each_line(block, [&](std::string_view line) {
      // Line "L<i>:..." is line i + 1 of the file.
      const std::string expected = "lines:" + std::to_string(std::stoull(std::string(line.substr(1))) + 1);
      const std::string location = record_location(origin, line.data());
      EXPECT_EQ(location.substr(location.rfind('-') + 1), expected);
      ++checked;
    });
  });
  EXPECT_GT(checked, 50u);
  std::filesystem::remove(path);
}

TEST(BlockReader, AFileShorterThanPlannedIsAnError) {
  const auto path = write_temp("short", "a\nb\n");
  try {
    for_each_block_in_range(path.string(), 0, 10, [](std::string_view, const BlockOrigin&) {});
    ADD_FAILURE() << "no error";
  } catch (const mr::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("changed while being read"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}
