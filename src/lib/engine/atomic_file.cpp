#include "mr/detail/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "common/signals.hpp"
#include "mr/error.hpp"

namespace mr::detail {
namespace fs = std::filesystem;

namespace {
constexpr std::size_t kBufferBytes = std::size_t{1} << 20;

/// Where the bytes for `path` go: the file a chain of symlinks ends at (the links are kept),
/// and whether that is something to write in place (stdout, a device, a FIFO) rather than
/// to replace by renaming a temporary file onto it.
struct Destination {
  fs::path target;
  bool in_place = false;
  std::optional<mode_t> mode;  ///< the permission bits of a regular file being replaced
};

Destination destination_of(const std::string& path) {
  Destination d{path};
  if (path == "-") {
    d.in_place = true;
    return d;
  }
  for (int links = 0; links < 40; ++links) {  // follow symlinks, even dangling ones, as open() would
    std::error_code ec;
    if (!fs::is_symlink(fs::symlink_status(d.target, ec))) break;
    const fs::path next = fs::read_symlink(d.target, ec);
    if (ec) break;
    d.target = next.is_absolute() ? next : d.target.parent_path() / next;
  }
  struct stat st {};
  if (::stat(d.target.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) d.in_place = true;
    else d.mode = st.st_mode & 07777;
  }
  return d;
}

fs::path temp_name_for(const fs::path& target) {
  return target.parent_path() / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()));
}
}  // namespace

struct AtomicFile::State {
  std::string path;  // as the user named it (messages)
  Destination destination;
  fs::path temp;     // empty when written in place
  std::optional<TempFileGuard> guard;  // a SIGINT/SIGTERM while writing must not leave the temp file behind
  std::FILE* out = nullptr;
  std::string buffer;

  [[noreturn]] void fail(const char* what) const {
    throw InputError(path + ": " + what + ": " + std::strerror(errno));
  }
  void drain() {
    if (!buffer.empty() && std::fwrite(buffer.data(), 1, buffer.size(), out) != buffer.size()) fail("write failed");
    buffer.clear();
  }
};

AtomicFile::AtomicFile(std::string path) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.path = std::move(path);
  s.destination = destination_of(s.path);
  if (s.destination.in_place) {
    // stdout, a character device or a FIFO: written as it is, never replaced by a file.
    const int fd = s.path == "-" ? ::dup(STDOUT_FILENO) : ::open(s.destination.target.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) s.fail("cannot open output");
    s.out = ::fdopen(fd, "wb");
    if (!s.out) {
      ::close(fd);
      s.fail("cannot open output");
    }
  } else {
    s.temp = temp_name_for(s.destination.target);
    s.guard.emplace(s.temp.string());
    s.out = std::fopen(s.temp.c_str(), "wb");  // a new file: 0666 & ~umask
    if (!s.out) s.fail("cannot create output");
    // A file being replaced keeps its permission bits.
    if (s.destination.mode && ::fchmod(::fileno(s.out), *s.destination.mode) != 0) s.fail("cannot set mode of output");
  }
  s.buffer.reserve(kBufferBytes);
}

AtomicFile::~AtomicFile() {
  if (!state_) return;
  if (state_->out) std::fclose(state_->out);
  if (state_->temp.empty()) return;
  std::error_code ignored;
  fs::remove(state_->temp, ignored);
}

void AtomicFile::write(std::string_view bytes) {
  State& s = *state_;
  if (s.buffer.size() + bytes.size() < kBufferBytes) {
    s.buffer.append(bytes);
    return;
  }
  // A large part (a rank's slice of the result) goes straight out rather than through the buffer.
  s.drain();
  if (std::fwrite(bytes.data(), 1, bytes.size(), s.out) != bytes.size()) s.fail("write failed");
}

void AtomicFile::commit() {
  state_->drain();
  if (std::fflush(state_->out) != 0) state_->fail("write failed");
  const int closed = std::fclose(state_->out);
  state_->out = nullptr;
  if (closed != 0) state_->fail("write failed");
  if (!state_->temp.empty()) {
    std::error_code ec;
    fs::rename(state_->temp, state_->destination.target, ec);
    if (ec) throw InputError(state_->path + ": cannot rename output into place: " + ec.message());
  }
  state_.reset();
}

std::string AtomicFile::temp_path() const { return state_->temp.string(); }

void write_file_atomically(const std::string& path, std::string_view text) {
  AtomicFile file(path);
  file.write(text);
  file.commit();
}

}  // namespace mr::detail
