#pragma once
/// \file input.hpp
/// Reading inputs: regular files read at offsets (pread), and a bounded-block reader for
/// streams (stdin, `.gz`).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace mr::detail {

/// A regular file opened for reading at offsets (pread). It remembers which file it opened,
/// so that a file truncated, rewritten or renamed over while it is read can be detected.
class ReadOnlyFile {
 public:
  /// Opens `path`; throws InputError naming the file when it cannot be opened.
  explicit ReadOnlyFile(const std::string& path);
  ~ReadOnlyFile();
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;

  /// The size when it was opened.
  std::uint64_t size() const noexcept { return size_; }
  /// Reads up to `bytes` at `offset` into `out`; fewer only at the end of the file. Throws
  /// InputError naming the file on a read error.
  std::size_t read_at(char* out, std::size_t bytes, std::uint64_t offset) const;
  /// Tells the kernel [begin, end) will be read once, in order (read-ahead for files not in
  /// the page cache).
  void will_read(std::uint64_t begin, std::uint64_t end) const noexcept;
  /// True while `path` still names the file that was opened, at least `size` bytes long and
  /// unmodified since (a file truncated, rewritten or renamed over while it was read is not).
  bool unchanged(const std::string& path, std::uint64_t size) const noexcept;

 private:
  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::uint64_t device_ = 0, inode_ = 0;
  std::int64_t mtime_ns_ = 0;
};

/// Reads a stream (stdin or a gzip file) in blocks that end on a line boundary.
class LineBlockReader {
 public:
  /// `path` "-" reads stdin; otherwise a gzip file (plain files are read as-is by zlib too).
  explicit LineBlockReader(const std::string& path);
  ~LineBlockReader();
  LineBlockReader(const LineBlockReader&) = delete;
  LineBlockReader& operator=(const LineBlockReader&) = delete;

  /// Replaces `block` with the next whole lines, about `target_bytes` of them (more when
  /// one line is longer). The last block may end without '\n'. Returns false at the end.
  /// Throws InputError naming the input on a read or decompression error.
  bool next(std::string& block, std::size_t target_bytes);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mr::detail
