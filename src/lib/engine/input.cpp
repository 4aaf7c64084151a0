#include "engine/input.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "mr/error.hpp"

namespace mr::detail {
namespace {

/// zlib's messages may start with "PATH: "; we add the path ourselves.
std::string without_path(std::string message, const std::string& path) {
  if (message.rfind(path + ": ", 0) == 0) message.erase(0, path.size() + 2);
  return message;
}

std::uint64_t page_size() {
  static const auto size = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

}  // namespace

MappedFile::MappedFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw InputError(path + ": cannot stat: " + std::strerror(err));
  }
  size_ = static_cast<std::uint64_t>(st.st_size);
  if (size_ > 0) {
    void* map = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw InputError(path + ": cannot map: " + std::strerror(err));
    }
    data_ = static_cast<const char*>(map);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<char*>(data_), size_);
}

void MappedFile::will_need(std::uint64_t begin, std::uint64_t end) const noexcept {
  const std::uint64_t b = begin / page_size() * page_size();
  if (data_ && end > b) ::madvise(const_cast<char*>(data_) + b, end - b, MADV_WILLNEED);
}

void MappedFile::release(std::uint64_t begin, std::uint64_t end) const noexcept {
  const std::uint64_t b = (begin + page_size() - 1) / page_size() * page_size();
  const std::uint64_t e = end / page_size() * page_size();
  if (data_ && e > b) ::madvise(const_cast<char*>(data_) + b, e - b, MADV_DONTNEED);
}

struct LineBlockReader::Impl {
  std::string name;
  gzFile file = nullptr;
  std::string carry;  // a partial line left over from the previous read
  bool eof = false;
};

LineBlockReader::LineBlockReader(const std::string& path) : impl_(std::make_unique<Impl>()) {
  impl_->name = path;
  if (path == "-") {
    const int fd = ::dup(STDIN_FILENO);
    impl_->file = fd < 0 ? nullptr : ::gzdopen(fd, "rb");
  } else {
    impl_->file = ::gzopen(path.c_str(), "rb");
  }
  if (!impl_->file) throw InputError(path + ": cannot open: " + std::strerror(errno ? errno : ENOMEM));
  ::gzbuffer(impl_->file, 1 << 20);
}

LineBlockReader::~LineBlockReader() {
  if (impl_->file) ::gzclose(impl_->file);
}

bool LineBlockReader::next(std::string& block, std::size_t target_bytes) {
  block.swap(impl_->carry);
  impl_->carry.clear();
  if (target_bytes == 0) target_bytes = 1;
  for (;;) {
    if (impl_->eof) break;
    const std::size_t have = block.size();
    const std::size_t want = have < target_bytes ? target_bytes - have : target_bytes;
    block.resize(have + want);
    std::size_t got = 0;
    while (got < want) {
      const int n = ::gzread(impl_->file, block.data() + have + got,
                             static_cast<unsigned>(std::min<std::size_t>(want - got, 1u << 30)));
      if (n < 0) {
        int code = 0;
        const char* message = ::gzerror(impl_->file, &code);
        throw InputError(impl_->name + ": read error: " +
                         (code == Z_ERRNO ? std::string(std::strerror(errno)) : without_path(message, impl_->name)));
      }
      if (n == 0) {
        // A truncated gzip stream also ends in 0; zlib reports it only through gzerror().
        int code = Z_OK;
        const char* message = ::gzerror(impl_->file, &code);
        if (code != Z_OK && code != Z_STREAM_END)
          throw InputError(impl_->name + ": read error: " + without_path(message, impl_->name));
        impl_->eof = true;
        break;
      }
      got += static_cast<std::size_t>(n);
    }
    block.resize(have + got);
    // Keep the partial last line for the next block, unless the block has no newline at
    // all (a line longer than target_bytes): then keep reading.
    const auto nl = block.rfind('\n');
    if (impl_->eof) break;
    if (nl != std::string::npos) {
      impl_->carry.assign(block, nl + 1);
      block.resize(nl + 1);
      break;
    }
  }
  return !block.empty();
}

}  // namespace mr::detail
