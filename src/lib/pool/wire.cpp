#include "mr/detail/wire.hpp"

namespace mr::detail {

void begin_batch(Bytes& out) {
  out.clear();
  Encoder(out).raw(std::uint32_t{0});
}

void finish_batch(Bytes& out, std::uint32_t count) { std::memcpy(out.data(), &count, sizeof(count)); }

void append_task(Bytes& out, const TaskMessage& task) {
  Encoder encoder(out);
  encoder.u64(task.id);
  encoder.raw(static_cast<std::uint8_t>(task.kind));
  encoder.bytes(task.name);
  encoder.bytes(task.payload);
}

void append_result(Bytes& out, const ResultMessage& result) {
  Encoder encoder(out);
  encoder.u64(result.id);
  encoder.raw(static_cast<std::uint8_t>(result.status));
  encoder.bytes(result.payload);
}

namespace {

constexpr ErrorCode kLastErrorCode = ErrorCode::state;

std::uint32_t batch_count(Decoder& decoder, std::size_t min_entry_size) {
  const auto count = decoder.raw<std::uint32_t>();
  if (count > decoder.remaining() / min_entry_size)
    throw WireError("mr: malformed pool message: batch count " + std::to_string(count) + " exceeds the message");
  return count;
}

void expect_end(const Decoder& decoder) {
  if (!decoder.empty()) throw WireError("mr: malformed pool message: trailing bytes");
}

}  // namespace

std::vector<TaskMessage> decode_tasks(std::string_view in) {
  Decoder decoder(in);
  const std::uint32_t count = batch_count(decoder, 8 + 1 + 8 + 8);
  std::vector<TaskMessage> tasks(count);
  for (auto& task : tasks) {
    task.id = decoder.u64();
    const auto kind = decoder.raw<std::uint8_t>();
    if (kind > static_cast<std::uint8_t>(TaskKind::initializer))
      throw WireError("mr: malformed pool message: unknown task kind " + std::to_string(kind));
    task.kind = static_cast<TaskKind>(kind);
    task.name = decoder.bytes();
    task.payload = decoder.bytes();
  }
  expect_end(decoder);
  return tasks;
}

std::vector<ResultMessage> decode_results(std::string_view in) {
  Decoder decoder(in);
  const std::uint32_t count = batch_count(decoder, 8 + 1 + 8);
  std::vector<ResultMessage> results(count);
  for (auto& result : results) {
    result.id = decoder.u64();
    const auto status = decoder.raw<std::uint8_t>();
    if (status > static_cast<std::uint8_t>(ResultStatus::error))
      throw WireError("mr: malformed pool message: unknown result status " + std::to_string(status));
    result.status = static_cast<ResultStatus>(status);
    result.payload = decoder.bytes();
  }
  expect_end(decoder);
  return results;
}

Bytes encode_error(const RemoteErrorInfo& info) {
  Bytes out;
  Encoder encoder(out);
  encoder.raw(static_cast<std::uint8_t>(info.code));
  encoder.bytes(info.type_name);
  encoder.bytes(info.message);
  return out;
}

RemoteErrorInfo decode_error(std::string_view in) {
  Decoder decoder(in);
  RemoteErrorInfo info;
  const auto code = decoder.raw<std::uint8_t>();
  // Both ends run the same executable, so an unknown code is corruption, not a newer peer.
  if (code > static_cast<std::uint8_t>(kLastErrorCode))
    throw WireError("mr: malformed pool message: unknown error code " + std::to_string(code));
  info.code = static_cast<ErrorCode>(code);
  info.type_name = decoder.bytes();
  info.message = decoder.bytes();
  expect_end(decoder);
  return info;
}

Bytes encode_config(const PoolConfig& config) {
  Bytes out;
  Encoder encoder(out);
  encoder.raw(config.parent_pid);
  encoder.bytes(config.parent_host);
  encoder.bytes(config.shm_name);
  encoder.raw(config.heartbeat_seconds);
  return out;
}

PoolConfig decode_config(std::string_view in) {
  Decoder decoder(in);
  PoolConfig config;
  config.parent_pid = decoder.raw<std::int64_t>();
  config.parent_host = decoder.bytes();
  config.shm_name = decoder.bytes();
  config.heartbeat_seconds = decoder.raw<double>();
  expect_end(decoder);
  return config;
}

Bytes encode_hello(const WorkerHello& hello) {
  Bytes out;
  Encoder encoder(out);
  encoder.raw(hello.pid);
  encoder.bytes(hello.host);
  encoder.raw(static_cast<std::uint8_t>(hello.shared_memory));
  return out;
}

WorkerHello decode_hello(std::string_view in) {
  Decoder decoder(in);
  WorkerHello hello;
  hello.pid = decoder.raw<std::int64_t>();
  hello.host = decoder.bytes();
  hello.shared_memory = decoder.raw<std::uint8_t>() != 0;
  expect_end(decoder);
  return hello;
}

std::vector<std::string_view> decode_chunk(std::string_view in) {
  Decoder decoder(in);
  const std::size_t n = decoder.length(sizeof(std::uint64_t));
  std::vector<std::string_view> items;
  items.reserve(n);
  for (std::size_t i = 0; i < n; ++i) items.push_back(decoder.bytes());
  expect_end(decoder);
  return items;
}

}  // namespace mr::detail
