#include "mr/detail/atomic_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/signals.hpp"
#include "mr/error.hpp"

namespace mr::detail {

struct AtomicFile::State {
  std::string path;
  std::filesystem::path temp;
  TempFileGuard guard;  // a SIGINT/SIGTERM while writing must not leave the temp file behind
  std::FILE* out = nullptr;
  std::string buffer;

  State(std::string target, std::filesystem::path temp_path)
      : path(std::move(target)), temp(std::move(temp_path)), guard(temp.string()) {}

  [[noreturn]] void fail(const char* what) const {
    throw InputError(path + ": " + what + ": " + std::strerror(errno));
  }
  void drain() {
    if (!buffer.empty() && std::fwrite(buffer.data(), 1, buffer.size(), out) != buffer.size()) fail("write failed");
    buffer.clear();
  }
};

namespace {
constexpr std::size_t kBufferBytes = std::size_t{1} << 20;

std::filesystem::path temp_name_for(const std::string& path) {
  const std::filesystem::path target(path);
  return target.parent_path() / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()));
}
}  // namespace

AtomicFile::AtomicFile(std::string path) : state_(std::make_unique<State>(path, temp_name_for(path))) {
  state_->out = std::fopen(state_->temp.c_str(), "wb");
  if (!state_->out) state_->fail("cannot create output");
  state_->buffer.reserve(kBufferBytes);
}

AtomicFile::~AtomicFile() {
  if (!state_) return;
  if (state_->out) std::fclose(state_->out);
  std::error_code ignored;
  std::filesystem::remove(state_->temp, ignored);
}

void AtomicFile::write(std::string_view bytes) {
  state_->buffer.append(bytes);
  if (state_->buffer.size() >= kBufferBytes) state_->drain();
}

void AtomicFile::commit() {
  state_->drain();
  if (std::fflush(state_->out) != 0) state_->fail("write failed");
  const int closed = std::fclose(state_->out);
  state_->out = nullptr;
  if (closed != 0) state_->fail("write failed");
  std::error_code ec;
  std::filesystem::rename(state_->temp, state_->path, ec);
  if (ec) throw InputError(state_->path + ": cannot rename output into place: " + ec.message());
  state_.reset();
}

std::string AtomicFile::temp_path() const { return state_->temp.string(); }

void write_file_atomically(const std::string& path, std::string_view text) {
  AtomicFile file(path);
  file.write(text);
  file.commit();
}

}  // namespace mr::detail
