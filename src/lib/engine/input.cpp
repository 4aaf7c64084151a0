#include "engine/input.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <isa-l/igzip_lib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "mr/error.hpp"

namespace mr::detail {

ReadOnlyFile::ReadOnlyFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw InputError(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int err = errno;
    ::close(fd_);
    throw InputError(path + ": cannot stat: " + std::strerror(err));
  }
  size_ = static_cast<std::uint64_t>(st.st_size);
  device_ = st.st_dev;
  inode_ = st.st_ino;
  mtime_ns_ = st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
}

ReadOnlyFile::~ReadOnlyFile() { ::close(fd_); }

std::size_t ReadOnlyFile::read_at(char* out, std::size_t bytes, std::uint64_t offset) const {
  std::size_t done = 0;
  while (done < bytes) {
    // One call moves at most 2 GiB on Linux; a short count before the end is a partial read.
    const ssize_t n = ::pread(fd_, out + done, std::min<std::size_t>(bytes - done, std::size_t{1} << 30),
                              static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw InputError(path_ + ": read error: " + std::strerror(errno));
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

void ReadOnlyFile::will_read(std::uint64_t begin, std::uint64_t end) const noexcept {
  if (end > begin)
    ::posix_fadvise(fd_, static_cast<off_t>(begin), static_cast<off_t>(end - begin), POSIX_FADV_SEQUENTIAL);
}

bool ReadOnlyFile::unchanged(const std::string& path, std::uint64_t size) const noexcept {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && st.st_dev == device_ && st.st_ino == inode_ &&
         static_cast<std::uint64_t>(st.st_size) >= size && size_ >= size &&
         st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec == mtime_ns_;
}

namespace {

/// Reads a file descriptor as a stream of bytes, inflating it with ISA-L when it starts with
/// the gzip magic (several gzip members in a row are one stream, as with gzip -d), and
/// passing anything else through as it is (plain text on stdin). A corrupt or truncated
/// gzip stream throws InputError naming the input.
class InflatingReader {
 public:
  InflatingReader(int fd, std::string name) : fd_(fd), name_(std::move(name)), in_(kInputBytes) {
    isal_inflate_init(&state_);
    state_.crc_flag = ISAL_GZIP;
  }
  ~InflatingReader() { ::close(fd_); }
  InflatingReader(const InflatingReader&) = delete;
  InflatingReader& operator=(const InflatingReader&) = delete;

  /// Fills up to `size` bytes at `out`; returns how many (0 only at the end of the stream).
  std::size_t read(char* out, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
      if (state_.avail_in == 0 && !refill()) {
        if (mode_ == Mode::Gzip && !between_members_) fail("truncated gzip stream (unexpected end of file)");
        break;
      }
      if (mode_ == Mode::Unknown) mode_ = starts_with_gzip_magic() ? Mode::Gzip : Mode::Plain;
      if (mode_ == Mode::Plain) {
        const std::size_t n = std::min<std::size_t>(size - done, state_.avail_in);
        std::memcpy(out + done, state_.next_in, n);
        state_.next_in += n;
        state_.avail_in -= static_cast<std::uint32_t>(n);
        done += n;
        continue;
      }
      if (between_members_) {
        if (!starts_with_gzip_magic()) {  // trailing bytes after the last member: ignored, as gzip does
          state_.avail_in = 0;
          eof_ = true;
          continue;
        }
        const auto* next = state_.next_in;
        const auto left = state_.avail_in;
        isal_inflate_reset(&state_);
        state_.crc_flag = ISAL_GZIP;
        state_.next_in = const_cast<std::uint8_t*>(next);
        state_.avail_in = left;
        between_members_ = false;
      }
      const std::size_t want = std::min<std::size_t>(size - done, UINT32_MAX);
      state_.next_out = reinterpret_cast<std::uint8_t*>(out + done);
      state_.avail_out = static_cast<std::uint32_t>(want);
      const int rc = isal_inflate(&state_);
      if (rc != ISAL_DECOMP_OK) fail(describe(rc));
      done += want - state_.avail_out;
      if (state_.block_state == ISAL_BLOCK_FINISH) between_members_ = true;
    }
    return done;
  }

 private:
  enum class Mode { Unknown, Gzip, Plain };
  static constexpr std::size_t kInputBytes = std::size_t{1} << 20;

  /// Reads more input when all of it was consumed; false at the end of the file.
  bool refill() {
    if (eof_) return false;
    // A member header can straddle two reads: keep the bytes not yet consumed.
    ssize_t n;
    do {
      n = ::read(fd_, in_.data(), in_.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw InputError(name_ + ": read error: " + std::strerror(errno));
    if (n == 0) {
      eof_ = true;
      return false;
    }
    state_.next_in = reinterpret_cast<std::uint8_t*>(in_.data());
    state_.avail_in = static_cast<std::uint32_t>(n);
    return true;
  }
  bool starts_with_gzip_magic() const {
    // A read may end between the two magic bytes; gzip files are far larger than that.
    return state_.avail_in >= 2 && state_.next_in[0] == 0x1f && state_.next_in[1] == 0x8b;
  }
  static const char* describe(int rc) {
    switch (rc) {
      case ISAL_INCORRECT_CHECKSUM: return "corrupt gzip stream (checksum mismatch)";
      case ISAL_INVALID_BLOCK: return "corrupt gzip stream (invalid deflate block)";
      case ISAL_INVALID_SYMBOL: return "corrupt gzip stream (invalid deflate symbol)";
      case ISAL_INVALID_LOOKBACK: return "corrupt gzip stream (invalid distance)";
      case ISAL_INVALID_WRAPPER: return "corrupt gzip stream (invalid gzip header)";
      case ISAL_UNSUPPORTED_METHOD: return "corrupt gzip stream (unsupported compression method)";
      default: return "corrupt gzip stream";
    }
  }
  [[noreturn]] void fail(const char* what) const { throw InputError(name_ + ": read error: " + what); }

  int fd_;
  std::string name_;
  std::vector<char> in_;
  inflate_state state_{};
  Mode mode_ = Mode::Unknown;
  bool between_members_ = false;
  bool eof_ = false;
};

}  // namespace

struct LineBlockReader::Impl {
  std::unique_ptr<InflatingReader> reader;
  std::string carry;  // a partial line left over from the previous read
  bool eof = false;
};

LineBlockReader::LineBlockReader(const std::string& path) : impl_(std::make_unique<Impl>()) {
  const int fd = path == "-" ? ::dup(STDIN_FILENO) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(path + ": cannot open: " + std::strerror(errno));
  impl_->reader = std::make_unique<InflatingReader>(fd, path);
}

LineBlockReader::~LineBlockReader() = default;

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
      const std::size_t n = impl_->reader->read(block.data() + have + got, want - got);
      if (n == 0) {
        impl_->eof = true;
        break;
      }
      got += n;
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
