// Dispatch: submissions queue under the mutex; the progress thread moves them to the shared
// queue or, for jobs pinned to one worker, to the pinned queue, and sends them in batches to
// the least-loaded workers, then matches each worker's results to its tasks in order.
#include <algorithm>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "pool/pool_impl.hpp"

namespace mr::detail {

void PoolCore::Impl::enqueue(std::vector<Job>& jobs) {
  for (const Job& job : jobs)
    if (job.worker < -1 || job.worker >= size)
      throw UsageError("mr: worker " + std::to_string(job.worker) + " does not exist: the pool has " +
                       std::to_string(size) + " workers, numbered from 0");
  {
    std::lock_guard lock(mutex);
    if (broken) throw BrokenPool(broken_reason);
    if (closed) throw StateError("mr: the pool is closed (close/shutdown/terminate was called): submit to a new pool");
    for (Job& job : jobs) incoming.push_back(std::move(job));
  }
  bell->ring();
}

/// The worker with the fewest batches that can take another one; ties go to the lowest
/// rank, so a trickle of tasks keeps going to one hot (spinning) worker.
auto PoolCore::Impl::least_loaded() -> Worker* {
  Worker* best = nullptr;
  for (Worker& worker : workers)
    if (worker.batches.size() < options.batches_per_worker &&
        (best == nullptr || worker.batches.size() < best->batches.size()))
      best = &worker;
  return best;
}

/// Sends each pinned job whose worker can take a batch (pinned jobs are rare: one batch
/// each). A pinned job never waits behind the shared queue, only behind its worker's load.
bool PoolCore::Impl::dispatch_pinned() {
  bool any = false;
  for (auto job = pinned.begin(); job != pinned.end();) {
    Worker& worker = workers.at(static_cast<std::size_t>(job->worker));
    if (worker.batches.size() >= options.batches_per_worker) {
      ++job;
      continue;
    }
    if (job->completion->start()) {
      send_batch(worker, std::span(&*job, 1));
      any = true;
    }
    job = pinned.erase(job);
  }
  return any;
}

void PoolCore::Impl::send_batch(Worker& worker, std::span<Job> jobs) {
  Bytes batch;
  begin_batch(batch);
  for (Job& job : jobs) {
    const std::uint64_t id = next_id++;
    append_task(batch, {id, job.kind, job.name, job.payload});
    worker.in_flight.push_back({id, std::move(job.completion)});
  }
  finish_batch(batch, static_cast<std::uint32_t>(jobs.size()));
  transport->send(worker.rank, Tag::tasks, std::move(batch));
  worker.batches.push_back(static_cast<std::uint32_t>(jobs.size()));
  in_flight_total += jobs.size();
}

bool PoolCore::Impl::dispatch() {
  bool any = !pinned.empty() && dispatch_pinned();
  if (pending.empty()) return any;
  const std::size_t alive = workers.size();
  while (!pending.empty()) {
    Worker* next = least_loaded();
    if (next == nullptr) break;
    Worker& worker = *next;
    // Share what is queued: small batches when little is queued (latency, balance), large
    // ones under a flood (one message per many tasks).
    const std::size_t want =
        std::clamp<std::size_t>(pending.size() / (2 * alive), 1, options.max_batch_tasks);
    taken.clear();
    std::size_t bytes = 0;
    while (taken.size() < want && !pending.empty() && (taken.empty() || bytes < options.max_batch_bytes)) {
      Job job = std::move(pending.front());
      pending.pop_front();
      if (!job.completion->start()) continue;  // cancelled while queued
      bytes += job.name.size() + job.payload.size();
      taken.push_back(std::move(job));
    }
    if (taken.empty()) continue;  // all cancelled
    send_batch(worker, taken);
    any = true;
  }
  return any;
}

void PoolCore::Impl::handle(Message& message) {
  Worker& worker = workers.at(static_cast<std::size_t>(message.source));
  worker.last_heard = Clock::now();
  if (message.tag == Tag::heartbeat) return;
  if (message.tag != Tag::results)
    throw WireError("mr: a pool worker sent unexpected tag " + std::to_string(static_cast<int>(message.tag)));
  for (const ResultMessage& result : decode_results(message.data)) {
    if (worker.in_flight.empty() || worker.in_flight.front().id != result.id)
      throw WireError("mr: pool worker " + std::to_string(message.source) + " answered task " +
                      std::to_string(result.id) + " out of order (expected " +
                      (worker.in_flight.empty() ? std::string("none") : std::to_string(worker.in_flight.front().id)) +
                      ")");
    Worker::Sent sent = std::move(worker.in_flight.front());
    worker.in_flight.pop_front();
    --in_flight_total;
    if (--worker.batches.front() == 0) worker.batches.pop_front();
    if (!sent.completion) {  // the initializer
      if (result.status == ResultStatus::error) {
        const RemoteErrorInfo info = decode_error(result.payload);
        throw BrokenPool("mr: the pool initializer '" + options.initializer + "' failed in a worker: " +
                         info.type_name + ": " + info.message);
      }
      continue;
    }
    if (result.status == ResultStatus::ok) {
      post_callbacks(sent.completion->succeed(result.payload));
    } else {
      RemoteErrorInfo info = decode_error(result.payload);
      post_callbacks(sent.completion->fail(
          std::make_exception_ptr(RemoteError(std::move(info.type_name), std::move(info.message), info.code))));
    }
  }
}

void PoolCore::submit(TaskKind kind, std::string name, Bytes payload, std::shared_ptr<Completion> completion,
                      int worker) {
  std::vector<Job> jobs;
  jobs.push_back({kind, std::move(name), std::move(payload), std::move(completion), worker});
  impl_->enqueue(jobs);
}

void PoolCore::submit_many(std::vector<Job> jobs) { impl_->enqueue(jobs); }

std::shared_ptr<SharedState<Bytes>> PoolCore::submit_raw(std::string name, Bytes payload) {
  auto [state, completion] = make_task_state<Bytes>([](std::string_view bytes) { return Bytes(bytes); });
  submit(TaskKind::call, std::move(name), std::move(payload), std::move(completion));
  return state;
}
}  // namespace mr::detail
