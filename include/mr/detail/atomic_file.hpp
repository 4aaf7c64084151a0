#pragma once
/// \file atomic_file.hpp
/// An output file that appears whole or not at all: written to a temporary name in the
/// same directory and renamed into place by commit(). Destroyed uncommitted (an error, or
/// SIGINT/SIGTERM), it leaves nothing behind. What is already there is respected:
///   - `-` is stdout;
///   - a symlink is followed (to the end of a chain): the temporary file lies next to the
///     target and is renamed onto it, so the link stays;
///   - a character device or FIFO is written in place, never replaced;
///   - a regular file being replaced keeps its permission bits; a new one gets 0666 & ~umask.

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace mr::detail {

class AtomicFile {
 public:
  /// Creates the temporary file; InputError naming `path` when it cannot.
  explicit AtomicFile(std::string path);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  /// Appends bytes (buffered); InputError naming the path on a failed write.
  void write(std::string_view bytes);
  /// Flushes, closes and renames the file into place.
  void commit();
  /// The temporary file's path, for writers other than write() (other ranks) before
  /// commit(); empty when the output is written in place (stdout, a device, a FIFO).
  std::string temp_path() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// The whole of `text` as the file `path`, atomically.
void write_file_atomically(const std::string& path, std::string_view text);

}  // namespace mr::detail
