#include "pool/pool_transport.hpp"

#include <algorithm>

#include "mr/detail/mpi_check.hpp"

namespace mr::detail {

Outbox::~Outbox() { abandon(); }

void Outbox::post(int dest, Tag tag, const char* data, std::size_t size, std::shared_ptr<const Bytes> owner) {
  Entry entry;
  entry.dest = dest;
  entry.data = std::move(owner);
  MR_MPI_CALL(MPI_Isend, data, static_cast<int>(size), MPI_BYTE, dest, static_cast<int>(tag), comm_,
              &entry.request);
  entries_.push_back(std::move(entry));
}

void Outbox::send(int dest, Tag tag, Bytes data) {
  auto owner = std::make_shared<const Bytes>(std::move(data));
  if (owner->size() <= kMaxMessagePart) {
    post(dest, tag, owner->data(), owner->size(), owner);
    return;
  }
  Bytes head;
  Encoder encoder(head);
  encoder.u64(owner->size());
  encoder.raw(static_cast<std::int32_t>(tag));
  auto head_owner = std::make_shared<const Bytes>(std::move(head));
  post(dest, Tag::large_head, head_owner->data(), head_owner->size(), head_owner);
  for (std::size_t at = 0; at < owner->size(); at += kMaxMessagePart)
    post(dest, Tag::large_part, owner->data() + at, std::min(kMaxMessagePart, owner->size() - at), owner);
}

bool Outbox::progress() {
  bool any = false;
  for (std::size_t i = 0; i < entries_.size();) {
    int done = 0;
    MR_MPI_CALL(MPI_Test, &entries_[i].request, &done, MPI_STATUS_IGNORE);
    if (done) {
      entries_[i] = std::move(entries_.back());
      entries_.pop_back();
      any = true;
    } else {
      ++i;
    }
  }
  return any;
}

void Outbox::abandon() {
  for (auto& entry : entries_)
    if (entry.request != MPI_REQUEST_NULL) MPI_Request_free(&entry.request);
  // MPI may in principle still read a freed request's buffer, and we cannot know when it
  // stops: leak those buffers on purpose (this only happens when a pool is terminated or broken).
  for (auto& entry : entries_) new std::shared_ptr<const Bytes>(std::move(entry.data));
  entries_.clear();
}

bool try_receive(MPI_Comm comm, Message& out) {
  int found = 0;
  MPI_Message handle = MPI_MESSAGE_NULL;
  MPI_Status status;
  MR_MPI_CALL(MPI_Improbe, MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &found, &handle, &status);
  if (!found) return false;
  int count = 0;
  MR_MPI_CALL(MPI_Get_count, &status, MPI_BYTE, &count);
  out.source = status.MPI_SOURCE;
  out.tag = static_cast<Tag>(status.MPI_TAG);
  out.data.resize(static_cast<std::size_t>(count));
  MR_MPI_CALL(MPI_Mrecv, out.data.data(), count, MPI_BYTE, &handle, MPI_STATUS_IGNORE);
  if (out.tag != Tag::large_head) return true;

  Decoder decoder(out.data);
  const std::uint64_t total = decoder.u64();
  out.tag = static_cast<Tag>(decoder.raw<std::int32_t>());
  out.data.resize(total);
  // The parts follow the head from the same sender; MPI keeps their order.
  for (std::size_t at = 0; at < total; at += kMaxMessagePart) {
    const int part = static_cast<int>(std::min<std::size_t>(kMaxMessagePart, total - at));
    MR_MPI_CALL(MPI_Recv, out.data.data() + at, part, MPI_BYTE, out.source, static_cast<int>(Tag::large_part), comm,
                MPI_STATUS_IGNORE);
  }
  return true;
}

void Transport::attach(int peer, ShmEndpoint endpoint) {
  auto& slot = shm_.at(static_cast<std::size_t>(peer));
  if (!slot) --mpi_peers_;
  slot.emplace(std::move(endpoint));
}

void Transport::send(int peer, Tag tag, Bytes data) {
  auto& slot = shm_.at(static_cast<std::size_t>(peer));
  if (slot) {
    slot->send(tag, std::move(data));
  } else {
    outbox_.send(peer, tag, std::move(data));
  }
}

bool Transport::receive(Message& out) {
  const std::size_t peers = shm_.size();
  for (std::size_t i = 0; i < peers; ++i) {
    const std::size_t peer = (next_peer_ + i) % peers;
    if (shm_[peer] && shm_[peer]->receive(out)) {
      out.source = static_cast<int>(peer);
      next_peer_ = peer + 1;
      return true;
    }
  }
  return mpi_peers_ > 0 && try_receive(comm_, out);
}

bool Transport::progress() {
  bool any = !outbox_.empty() && outbox_.progress();
  for (auto& endpoint : shm_)
    if (endpoint && !endpoint->idle() && endpoint->flush()) any = true;
  return any;
}

bool Transport::empty() const {
  return outbox_.empty() &&
         std::all_of(shm_.begin(), shm_.end(), [](const auto& endpoint) { return !endpoint || endpoint->idle(); });
}

void Transport::abandon() {
  outbox_.abandon();
  for (auto& endpoint : shm_) endpoint.reset();
}

}  // namespace mr::detail
