#include "pool/shm_channel.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <new>
#include <stdexcept>

namespace mr::detail {

// ---------------------------------------------------------------- doorbell

namespace {

long futex(std::atomic<std::uint32_t>& word, int op, std::uint32_t value, const timespec* timeout) {
  // Not FUTEX_PRIVATE: the word may live in memory shared with another process.
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), op, value, timeout, nullptr, 0);
}

}  // namespace

void Doorbell::ring() {
  seq.fetch_add(1, std::memory_order_seq_cst);
  if (waiters.load(std::memory_order_seq_cst) != 0) futex(seq, FUTEX_WAKE, INT_MAX, nullptr);
}

void Doorbell::wait(std::uint32_t seen, std::chrono::microseconds timeout) {
  const auto us = std::max<std::chrono::microseconds::rep>(timeout.count(), 1);
  const timespec relative{static_cast<time_t>(us / 1'000'000), static_cast<long>(us % 1'000'000) * 1000};
  waiters.fetch_add(1, std::memory_order_seq_cst);
  // Returns at once (EAGAIN) if the bell rang since `seen`; EINTR and timeouts just return.
  futex(seq, FUTEX_WAIT, seen, &relative);
  waiters.fetch_sub(1, std::memory_order_seq_cst);
}

// ---------------------------------------------------------------- endpoint

namespace {

constexpr std::size_t kHeaderBytes = 16;  // u32 tag, u32 reserved, u64 body size

}  // namespace

ShmEndpoint::ShmEndpoint(Side out, Side in, std::uint64_t ring_bytes, Doorbell* own_bell, Doorbell* peer_bell)
    : out_(out), in_(in), capacity_(ring_bytes), own_bell_(own_bell), peer_bell_(peer_bell) {}

std::size_t ShmEndpoint::write_some(const char* data, std::size_t size) {
  RingControl& control = *out_.control;
  const std::uint64_t head = control.head.load(std::memory_order_relaxed);  // only we write it
  const std::uint64_t tail = control.tail.load(std::memory_order_acquire);
  const std::size_t n = std::min<std::uint64_t>(size, capacity_ - (head - tail));
  if (n == 0) return 0;
  const std::size_t at = head & (capacity_ - 1);
  const std::size_t first = std::min<std::size_t>(n, capacity_ - at);
  std::memcpy(out_.data + at, data, first);
  std::memcpy(out_.data, data + first, n - first);
  control.head.store(head + n, std::memory_order_release);
  return n;
}

std::size_t ShmEndpoint::read_some(char* data, std::size_t size) {
  RingControl& control = *in_.control;
  const std::uint64_t tail = control.tail.load(std::memory_order_relaxed);  // only we write it
  const std::uint64_t head = control.head.load(std::memory_order_acquire);
  const std::size_t n = std::min<std::uint64_t>(size, head - tail);
  if (n == 0) return 0;
  const std::size_t at = tail & (capacity_ - 1);
  const std::size_t first = std::min<std::size_t>(n, capacity_ - at);
  std::memcpy(data, in_.data + at, first);
  std::memcpy(data + first, in_.data, n - first);
  // seq_cst store then load: pairs with the writer's flag-then-recheck in flush(), so either
  // it sees the freed space or we see its flag and wake it.
  control.tail.store(tail + n, std::memory_order_seq_cst);
  if (control.writer_blocked.load(std::memory_order_seq_cst) != 0 &&
      control.writer_blocked.exchange(0, std::memory_order_seq_cst) != 0)
    peer_bell_->ring();
  return n;
}

void ShmEndpoint::send(Tag tag, Bytes data) {
  Outgoing message;
  message.body = std::make_shared<const Bytes>(std::move(data));
  const auto tag_value = static_cast<std::uint32_t>(tag);
  const std::uint32_t reserved = 0;
  const std::uint64_t size = message.body->size();
  std::memcpy(message.header, &tag_value, 4);
  std::memcpy(message.header + 4, &reserved, 4);
  std::memcpy(message.header + 8, &size, 8);
  queue_.push_back(std::move(message));
  flush();
}

bool ShmEndpoint::flush() {
  bool wrote = false;
  while (!queue_.empty()) {
    Outgoing& message = queue_.front();
    const std::uint64_t total = kHeaderBytes + message.body->size();
    while (message.written < total) {
      const std::size_t n = message.written < kHeaderBytes
                                ? write_some(message.header + message.written, kHeaderBytes - message.written)
                                : write_some(message.body->data() + (message.written - kHeaderBytes),
                                             total - message.written);
      if (n == 0) break;
      message.written += n;
      wrote = true;
    }
    if (message.written < total) break;  // the ring is full
    queue_.pop_front();
  }
  if (wrote) peer_bell_->ring();
  if (!queue_.empty()) {
    // Ask the reader to ring us when it frees space; if it already did between our last
    // write and this flag, ring ourselves so the caller does not go to sleep.
    RingControl& control = *out_.control;
    control.writer_blocked.store(1, std::memory_order_seq_cst);
    const std::uint64_t used =
        control.head.load(std::memory_order_relaxed) - control.tail.load(std::memory_order_seq_cst);
    if (used < capacity_) own_bell_->ring();
  }
  return wrote;
}

bool ShmEndpoint::receive(Message& out) {
  while (header_have_ < kHeaderBytes) {
    const std::size_t n = read_some(header_ + header_have_, kHeaderBytes - header_have_);
    if (n == 0) return false;
    header_have_ += n;
    if (header_have_ == kHeaderBytes) {
      std::uint32_t tag_value = 0;
      std::uint64_t size = 0;
      std::memcpy(&tag_value, header_, 4);
      std::memcpy(&size, header_ + 8, 8);
      incoming_.tag = static_cast<Tag>(tag_value);
      incoming_.data.resize(size);
      body_have_ = 0;
    }
  }
  while (body_have_ < incoming_.data.size()) {
    const std::size_t n = read_some(incoming_.data.data() + body_have_, incoming_.data.size() - body_have_);
    if (n == 0) return false;
    body_have_ += n;
  }
  out.tag = incoming_.tag;
  out.data = std::move(incoming_.data);
  incoming_.data = Bytes();
  header_have_ = 0;
  body_have_ = 0;
  return true;
}

// ---------------------------------------------------------------- segment

namespace {

constexpr std::uint64_t kMagic = 0x6d722d706f6f6c31ULL;  // "mr-pool1"

struct SegmentHeader {
  std::uint64_t magic;
  std::uint32_t workers;
  std::uint32_t reserved;
  std::uint64_t ring_bytes;
  std::uint64_t total_bytes;
  Doorbell parent_bell;
};

struct ChannelControl {
  Doorbell worker_bell;
  RingControl to_worker;
  RingControl to_parent;
};

constexpr std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

constexpr std::size_t kPage = 4096;

std::size_t controls_offset() { return round_up(sizeof(SegmentHeader), 64); }

std::size_t data_offset(int workers) {
  return round_up(controls_offset() + sizeof(ChannelControl) * static_cast<std::size_t>(workers), kPage);
}

std::size_t segment_bytes(int workers, std::uint64_t ring_bytes) {
  return data_offset(workers) + 2 * ring_bytes * static_cast<std::size_t>(workers);
}

}  // namespace

struct ShmSegment::Layout {
  static SegmentHeader& header(void* base) { return *static_cast<SegmentHeader*>(base); }
  static ChannelControl& channel(void* base, int worker) {
    return reinterpret_cast<ChannelControl*>(static_cast<char*>(base) + controls_offset())[worker];
  }
  static char* ring_data(void* base, int worker, bool to_parent) {
    const SegmentHeader& h = header(base);
    return static_cast<char*>(base) + data_offset(static_cast<int>(h.workers)) +
           (2 * static_cast<std::size_t>(worker) + (to_parent ? 1 : 0)) * h.ring_bytes;
  }
};

std::unique_ptr<ShmSegment> ShmSegment::create(int workers, std::uint64_t ring_bytes) {
  if (workers <= 0 || ring_bytes < kPage || (ring_bytes & (ring_bytes - 1)) != 0) return nullptr;
  static std::atomic<unsigned> counter{0};
  const std::string name = "/mr-pool-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
  const int fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return nullptr;
  const std::size_t size = segment_bytes(workers, ring_bytes);
  // posix_fallocate reserves the pages now: a full /dev/shm (containers default to 64 MiB)
  // fails here, where MPI can take over, instead of SIGBUS on a later write.
  void* base = MAP_FAILED;
  if (ftruncate(fd, static_cast<off_t>(size)) == 0 && posix_fallocate(fd, 0, static_cast<off_t>(size)) == 0)
    base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (base == MAP_FAILED) {
    shm_unlink(name.c_str());
    return nullptr;
  }
  SegmentHeader& header = Layout::header(base);
  new (&header) SegmentHeader{kMagic, static_cast<std::uint32_t>(workers), 0, ring_bytes, size, {}};
  for (int w = 0; w < workers; ++w) new (&Layout::channel(base, w)) ChannelControl{};
  return std::unique_ptr<ShmSegment>(new ShmSegment(name, base, size, true));
}

std::unique_ptr<ShmSegment> ShmSegment::open(const std::string& name) {
  const int fd = shm_open(name.c_str(), O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return nullptr;
  struct stat info {};
  void* base = MAP_FAILED;
  if (fstat(fd, &info) == 0 && static_cast<std::size_t>(info.st_size) >= sizeof(SegmentHeader))
    base = mmap(nullptr, static_cast<std::size_t>(info.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (base == MAP_FAILED) return nullptr;
  const auto size = static_cast<std::size_t>(info.st_size);
  const SegmentHeader& header = Layout::header(base);
  if (header.magic != kMagic || header.total_bytes != size ||
      segment_bytes(static_cast<int>(header.workers), header.ring_bytes) != size) {
    munmap(base, size);
    return nullptr;
  }
  return std::unique_ptr<ShmSegment>(new ShmSegment(name, base, size, false));
}

ShmSegment::ShmSegment(std::string name, void* base, std::size_t size, bool owner)
    : name_(std::move(name)), base_(base), size_(size), linked_(owner) {}

ShmSegment::~ShmSegment() {
  unlink();
  munmap(base_, size_);
}

void ShmSegment::unlink() {
  if (linked_.exchange(false)) shm_unlink(name_.c_str());
}

int ShmSegment::workers() const { return static_cast<int>(Layout::header(base_).workers); }
std::uint64_t ShmSegment::ring_bytes() const { return Layout::header(base_).ring_bytes; }
Doorbell& ShmSegment::parent_bell() { return Layout::header(base_).parent_bell; }
Doorbell& ShmSegment::worker_bell(int worker) { return Layout::channel(base_, worker).worker_bell; }

ShmEndpoint ShmSegment::parent_endpoint(int worker) {
  if (worker < 0 || worker >= workers()) throw std::out_of_range("mr: no shared-memory channel for this worker");
  ChannelControl& channel = Layout::channel(base_, worker);
  return ShmEndpoint({&channel.to_worker, Layout::ring_data(base_, worker, false)},
                     {&channel.to_parent, Layout::ring_data(base_, worker, true)}, ring_bytes(), &parent_bell(),
                     &channel.worker_bell);
}

ShmEndpoint ShmSegment::worker_endpoint(int worker) {
  if (worker < 0 || worker >= workers()) throw std::out_of_range("mr: no shared-memory channel for this worker");
  ChannelControl& channel = Layout::channel(base_, worker);
  return ShmEndpoint({&channel.to_parent, Layout::ring_data(base_, worker, true)},
                     {&channel.to_worker, Layout::ring_data(base_, worker, false)}, ring_bytes(),
                     &channel.worker_bell, &parent_bell());
}

}  // namespace mr::detail
