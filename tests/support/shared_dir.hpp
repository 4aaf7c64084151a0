#pragma once
// A per-run temporary directory for MPI tests: made by rank 0, its path broadcast, files
// written by rank 0 (every rank waits until they exist), removed when every rank is done.
#include <unistd.h>

#include <boost/mpi/collectives/broadcast.hpp>
#include <boost/mpi/communicator.hpp>
#include <filesystem>
#include <fstream>
#include <string>

namespace mr_test {

class SharedDir {
 public:
  explicit SharedDir(const std::string& prefix = "mr_test_") {
    std::string path;
    if (world_.rank() == 0) {
      path = (std::filesystem::temp_directory_path() / (prefix + std::to_string(::getpid()))).string();
      std::filesystem::create_directories(path);
    }
    boost::mpi::broadcast(world_, path, 0);
    path_ = path;
  }
  ~SharedDir() {
    world_.barrier();
    if (world_.rank() == 0) std::filesystem::remove_all(path_);
  }
  SharedDir(const SharedDir&) = delete;
  SharedDir& operator=(const SharedDir&) = delete;

  /// Writes `name` (on rank 0) and returns its path once every rank can read it.
  std::string write(const std::string& name, const std::string& text) const {
    const auto file = (path_ / name).string();
    if (world_.rank() == 0) std::ofstream(file, std::ios::binary) << text;
    world_.barrier();
    return file;
  }
  std::filesystem::path path() const { return path_; }

 private:
  boost::mpi::communicator world_;
  std::filesystem::path path_;
};

}  // namespace mr_test
