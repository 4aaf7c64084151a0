#pragma once
/// \file input.hpp
/// Reading inputs: read-only memory maps of regular files, and a bounded-block reader for
/// inputs that cannot be mapped (stdin, `.gz`).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace mr::detail {

/// A read-only, private memory map of a whole file. Pages are touched only where read.
class MappedFile {
 public:
  /// Maps `path`; throws InputError naming the file when it cannot be opened or mapped.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view text() const noexcept { return {data_, size_}; }
  /// True while `path` still names the file that was mapped, at least `size` bytes long and
  /// unmodified since (a file truncated, rewritten or renamed over while it was read is not).
  bool unchanged(const std::string& path, std::uint64_t size) const noexcept;
  /// Tells the kernel [begin, end) will be read sequentially soon.
  void will_need(std::uint64_t begin, std::uint64_t end) const noexcept;
  /// Drops this process's mapping of whole pages inside [begin, end) (the page cache keeps
  /// them), so resident memory does not grow with the input size.
  void release(std::uint64_t begin, std::uint64_t end) const noexcept;

 private:
  const char* data_ = nullptr;
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
