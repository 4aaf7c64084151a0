#pragma once
/// Byte encoding of task arguments/results and of the pool's control messages.
///
/// Arithmetic types, enums, std::string and std::vector of those are copied as raw bytes
/// (no archive, no per-element work); every other type goes through a Boost.Serialization
/// binary archive. Both ends run the same executable, so layouts and endianness agree.
/// Decoding is bounds-checked: a malformed message throws WireError, never reads past the end.

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/map.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>
#include <cstdint>
#include <cstring>
#include <new>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "mr/error.hpp"

namespace mr::detail {

/// An encoded message or payload. std::string: small payloads (one number) stay in the
/// small-string buffer, so the common tiny task allocates nothing for its arguments.
using Bytes = std::string;

/// A message that cannot be decoded (truncated, wrong kind, corrupt length).
class WireError : public Error {
 public:
  using Error::Error;
};

template <class T>
struct is_std_vector : std::false_type {};
template <class T, class A>
struct is_std_vector<std::vector<T, A>> : std::true_type {};

template <class T>
struct is_tuple_like : std::false_type {};
template <class A, class B>
struct is_tuple_like<std::pair<A, B>> : std::true_type {};
template <class... Ts>
struct is_tuple_like<std::tuple<Ts...>> : std::true_type {};

/// Plain structs (trivially copyable classes, e.g. `struct Avg { double sum; long n; }`):
/// copied as raw bytes, no serialize() needed. Both ends run the same executable.
template <class T>
inline constexpr bool is_raw_class_v = std::is_class_v<T> && std::is_trivially_copyable_v<T> &&
                                       std::is_default_constructible_v<T> && !is_tuple_like<T>::value;

template <class T>
inline constexpr bool is_raw_scalar_v =
    (std::is_arithmetic_v<T> || std::is_enum_v<T>)&&!std::is_same_v<T, bool>;

/// Types encoded without Boost.Serialization.
template <class T>
inline constexpr bool is_fast_wire_v = [] {
  if constexpr (is_raw_scalar_v<T> || std::is_same_v<T, bool> || std::is_same_v<T, std::string> ||
                std::is_same_v<T, std::monostate> || is_raw_class_v<T>) {
    return true;
  } else if constexpr (is_tuple_like<T>::value) {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (is_fast_wire_v<std::tuple_element_t<I, T>> && ...);
    }(std::make_index_sequence<std::tuple_size_v<T>>{});
  } else if constexpr (is_std_vector<T>::value) {
    using E = typename T::value_type;
    return is_raw_scalar_v<E> || std::is_same_v<E, std::string>;
  } else {
    return false;
  }
}();

/// What can travel as a task argument or result: a fast-path type, or a default-constructible
/// class type that Boost.Serialization can save and load (a serialize() member or free function).
template <class T>
concept Wireable = !std::is_pointer_v<T> && !std::is_reference_v<T> &&
                   (is_fast_wire_v<T> || (std::is_class_v<T> && std::is_default_constructible_v<T>));

/// Appends to a Bytes buffer; used as Boost archive sink so archives need no extra copy.
class BytesSink : public std::streambuf {
 public:
  explicit BytesSink(Bytes& out) : out_(out) {}

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_.append(s, static_cast<std::size_t>(n));
    return n;
  }
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) out_.push_back(static_cast<char>(c));
    return traits_type::not_eof(c);
  }

 private:
  Bytes& out_;
};

/// Reads a fixed char range; used as Boost archive source.
class ViewSource : public std::streambuf {
 public:
  explicit ViewSource(std::string_view view) {
    char* begin = const_cast<char*>(view.data());
    setg(begin, begin, begin + view.size());
  }
};

class Encoder {
 public:
  explicit Encoder(Bytes& out) : out_(out) {}

  template <class T>
    requires std::is_trivially_copyable_v<T>
  void raw(const T& value) {
    out_.append(reinterpret_cast<const char*>(&value), sizeof(T));
  }
  void u64(std::uint64_t value) { raw(value); }
  void bytes(std::string_view data) {
    u64(data.size());
    out_.append(data);
  }

  template <class T>
  void value(const T& v) {
    if constexpr (std::is_same_v<T, std::monostate>) {
    } else if constexpr (std::is_same_v<T, bool>) {
      raw(static_cast<std::uint8_t>(v ? 1 : 0));
    } else if constexpr (is_raw_scalar_v<T> || is_raw_class_v<T>) {
      raw(v);
    } else if constexpr (std::is_same_v<T, std::string>) {
      bytes(v);
    } else if constexpr (is_tuple_like<T>::value) {
      std::apply([&](const auto&... element) { (value(element), ...); }, v);
    } else if constexpr (is_fast_wire_v<T>) {  // vector of scalars or strings
      u64(v.size());
      if constexpr (std::is_same_v<typename T::value_type, std::string>) {
        for (const auto& s : v) bytes(s);
      } else {
        out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(typename T::value_type));
      }
    } else {
      // Length-prefixed archive: reserve the prefix, archive straight into the buffer, patch.
      const std::size_t at = out_.size();
      u64(0);
      {
        BytesSink sink(out_);
        boost::archive::binary_oarchive archive(sink, boost::archive::no_header | boost::archive::no_codecvt);
        archive << v;
      }
      const std::uint64_t length = out_.size() - at - sizeof(std::uint64_t);
      std::memcpy(out_.data() + at, &length, sizeof(length));
    }
  }

 private:
  Bytes& out_;
};

class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}

  std::string_view take(std::size_t n) {
    if (n > in_.size()) throw WireError("mr: malformed pool message: truncated (wanted " + std::to_string(n) +
                                        " bytes, " + std::to_string(in_.size()) + " left)");
    std::string_view out = in_.substr(0, n);
    in_.remove_prefix(n);
    return out;
  }
  template <class T>
    requires std::is_trivially_copyable_v<T>
  T raw() {
    T value;
    std::memcpy(&value, take(sizeof(T)).data(), sizeof(T));
    return value;
  }
  std::uint64_t u64() { return raw<std::uint64_t>(); }
  std::string_view bytes() { return take(length(1)); }
  /// A count of elements of `element_size` bytes, checked against what is left.
  std::size_t length(std::size_t element_size) {
    const std::uint64_t n = u64();
    if (element_size != 0 && n > in_.size() / element_size)
      throw WireError("mr: malformed pool message: length " + std::to_string(n) + " exceeds the message");
    return static_cast<std::size_t>(n);
  }
  bool empty() const { return in_.empty(); }
  std::size_t remaining() const { return in_.size(); }

  template <class T>
  T value() {
    if constexpr (std::is_same_v<T, std::monostate>) {
      return {};
    } else if constexpr (std::is_same_v<T, bool>) {
      return raw<std::uint8_t>() != 0;
    } else if constexpr (is_raw_scalar_v<T> || is_raw_class_v<T>) {
      return raw<T>();
    } else if constexpr (std::is_same_v<T, std::string>) {
      return std::string(bytes());
    } else if constexpr (is_tuple_like<T>::value) {
      // Braced initialisation evaluates left to right, matching the encode order.
      return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return T{value<std::tuple_element_t<I, T>>()...};
      }(std::make_index_sequence<std::tuple_size_v<T>>{});
    } else if constexpr (is_fast_wire_v<T>) {
      using E = typename T::value_type;
      T out;
      if constexpr (std::is_same_v<E, std::string>) {
        const std::size_t n = length(sizeof(std::uint64_t));
        out.reserve(n);
        for (std::size_t i = 0; i < n; ++i) out.emplace_back(bytes());
      } else {
        const std::size_t n = length(sizeof(E));
        out.resize(n);
        if (n != 0) std::memcpy(out.data(), take(n * sizeof(E)).data(), n * sizeof(E));
      }
      return out;
    } else {
      ViewSource source(bytes());
      T out{};
      try {
        boost::archive::binary_iarchive archive(source, boost::archive::no_header | boost::archive::no_codecvt);
        archive >> out;
      } catch (const boost::archive::archive_exception& e) {
        throw WireError(std::string("mr: malformed pool message: archive: ") + e.what());
      } catch (const std::length_error& e) {
        // A corrupt element count makes the archive ask for an impossible allocation.
        throw WireError(std::string("mr: malformed pool message: archive: ") + e.what());
      } catch (const std::bad_alloc&) {
        throw WireError("mr: malformed pool message: archive declares a size that cannot be allocated");
      }
      return out;
    }
  }

 private:
  std::string_view in_;
};

template <class T>
Bytes encode_value(const T& v) {
  Bytes out;
  Encoder(out).value(v);
  return out;
}

template <class T>
T decode_value(std::string_view in) {
  Decoder decoder(in);
  T out = decoder.template value<T>();
  if (!decoder.empty()) throw WireError("mr: malformed pool message: trailing bytes after the value");
  return out;
}

// ---- control messages (pure functions, fuzzable) --------------------------------------------

/// MPI tags on a pool's intercommunicator.
enum class Tag : int {
  config = 1,      ///< parent -> worker: PoolConfig
  tasks = 2,       ///< parent -> worker: batch of TaskMessage
  stop = 3,        ///< parent -> worker: finish and disconnect
  hello = 4,       ///< worker -> parent: WorkerHello
  results = 5,     ///< worker -> parent: batch of ResultMessage
  large_head = 6,  ///< either way: a message over the MPI int count limit follows in parts
  large_part = 7,
  heartbeat = 8,   ///< worker -> parent: still alive (workers on another host)
  bye = 9,         ///< worker -> parent: answer to stop; nothing more will come
  abandon = 10,    ///< parent -> a worker that is a rank of a running job: the pool broke
                   ///< (another rank died); leave without bye or disconnect, serve on
};

enum class TaskKind : std::uint8_t {
  call = 0,         ///< payload = encoded arguments
  chunk = 1,        ///< payload = u64 n, then n length-prefixed argument payloads
  initializer = 2,  ///< as call; a failure breaks the pool
};

enum class ResultStatus : std::uint8_t { ok = 0, error = 1 };

struct TaskMessage {
  std::uint64_t id = 0;
  TaskKind kind = TaskKind::call;
  std::string_view name;
  std::string_view payload;
};

struct ResultMessage {
  std::uint64_t id = 0;
  ResultStatus status = ResultStatus::ok;
  std::string_view payload;  ///< ok: encoded result; error: RemoteErrorInfo
};

struct RemoteErrorInfo {
  std::string type_name;
  std::string message;
  /// The class of the error (from the thrown exception's dynamic type), for programs.
  ErrorCode code = ErrorCode::generic;
};

struct PoolConfig {
  std::int64_t parent_pid = 0;
  std::string parent_host;
  /// The pool's shared-memory segment (shm_channel.hpp); empty: MPI only.
  std::string shm_name;
  /// Seconds between a worker's heartbeats; 0: none (the parent watches local workers' pids).
  double heartbeat_seconds = 0;
};

struct WorkerHello {
  std::int64_t pid = 0;
  std::string host;
  /// The worker attached to its shared-memory channel: after this hello, all its messages
  /// go through the channel.
  bool shared_memory = false;
};

/// Appends one task to a batch; `count` is patched by finish_batch.
void begin_batch(Bytes& out);
void append_task(Bytes& out, const TaskMessage& task);
void append_result(Bytes& out, const ResultMessage& result);
void finish_batch(Bytes& out, std::uint32_t count);

/// Decodes a batch; views point into `in`. Throws WireError on malformed input.
std::vector<TaskMessage> decode_tasks(std::string_view in);
std::vector<ResultMessage> decode_results(std::string_view in);

Bytes encode_error(const RemoteErrorInfo& info);
RemoteErrorInfo decode_error(std::string_view in);
Bytes encode_config(const PoolConfig& config);
PoolConfig decode_config(std::string_view in);
Bytes encode_hello(const WorkerHello& hello);
WorkerHello decode_hello(std::string_view in);

/// Chunk payloads: a list of length-prefixed item payloads.
std::vector<std::string_view> decode_chunk(std::string_view in);

}  // namespace mr::detail
