// Shutdown: an orderly stop (every worker says bye before the intercommunicator is
// disconnected), and the public shutdown/terminate/join that ask the progress thread for it.
#include <cstdio>
#include <mutex>
#include <thread>

#include "common/backoff.hpp"
#include "mr/detail/mpi_check.hpp"
#include "pool/pool_impl.hpp"

namespace mr::detail {

void PoolCore::Impl::stop_workers() {
  const SpawnLock teardown_lock;  // no spawn on this host while these workers wind down
  for (const Worker& worker : workers) transport->send(worker.rank, Tag::stop, Bytes());
  // Every worker answers stop with bye once it has sent its last message (heartbeats
  // included), so nothing is left unreceived when the intercommunicator is disconnected.
  Backoff backoff;
  auto last_check = Clock::now();
  Message message;
  int byes = 0;
  while (byes < size || !transport->empty()) {
    bool activity = transport->progress();
    while (transport->receive(message)) {
      activity = true;
      if (message.tag == Tag::bye) ++byes;
    }
    if (activity) {
      backoff.reset();
      continue;
    }
    if (Clock::now() - last_check > options.liveness_interval) {
      last_check = Clock::now();
      check_liveness();
    }
    backoff.pause();
  }
  MR_MPI_CALL(MPI_Comm_disconnect, &inter);
  if (spawned()) wait_for_exit();
}

PoolCore::~PoolCore() {
  if (!impl_) return;
  try {
    shutdown(true, false);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mr: error while shutting down a pool: %s\n", e.what());
  }
}


void PoolCore::shutdown(bool wait, bool cancel_futures) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->closed = true;
    if (cancel_futures) impl_->cancel_pending = true;
  }
  impl_->bell->ring();
  if (wait) join();
}

void PoolCore::terminate() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->closed = true;
    impl_->terminate_requested = true;
  }
  impl_->bell->ring();
  impl_->join_threads();
}

void PoolCore::join() {
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->closed) throw StateError("mr: join() needs close(), shutdown() or terminate() first");
  }
  if (std::this_thread::get_id() == impl_->callback_thread.get_id())
    throw UsageError("mr: join()/shutdown(wait) cannot be called from a result callback");
  impl_->join_threads();
}

}  // namespace mr::detail
