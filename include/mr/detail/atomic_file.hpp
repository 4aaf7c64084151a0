#pragma once
/// \file atomic_file.hpp
/// An output file that appears whole or not at all: written to a temporary name in the
/// same directory and renamed into place by commit(). Destroyed uncommitted (an error, or
/// SIGINT/SIGTERM), it leaves nothing behind.

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
  /// The temporary file's path, for writers other than write() (other ranks, via MPI-IO)
  /// before commit().
  std::string temp_path() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// The whole of `text` as the file `path`, atomically.
void write_file_atomically(const std::string& path, std::string_view text);

}  // namespace mr::detail
