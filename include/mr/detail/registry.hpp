#pragma once
/// The task registry: the one global of mr. MR_TASK(fn) registers a free function under its
/// name at static-initialisation time, in the parent and in every spawned worker alike (they
/// run the same executable). The parent maps the function pointer to its name; the worker
/// maps the name to a type-erased invoker that decodes arguments, calls and encodes the result.

#include <functional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "mr/detail/wire.hpp"

namespace mr::detail {

/// Decodes the arguments in `args`, runs the task, appends the encoded result to `out`.
/// Throws whatever the task throws (the worker reports it as a RemoteError).
using Invoker = void (*)(std::string_view args, Bytes& out);

class Registry {
 public:
  static Registry& instance();

  /// Called by MR_TASK during static initialisation. The same function registered twice
  /// (a header included by several files) is fine; two functions under one name make the
  /// name unusable, reported when it is called.
  bool add(std::string name, const void* function, Invoker invoker);

  /// The invoker for `name`, or nullptr.
  Invoker find(std::string_view name) const;
  /// The registered name of `function`, or nullptr if it was never registered.
  const std::string* name_of(const void* function) const;
  /// Whether `name` was registered for two different functions.
  bool ambiguous(std::string_view name) const;

 private:
  struct Entry {
    Invoker invoker = nullptr;
    const void* function = nullptr;
    bool ambiguous = false;
  };
  std::unordered_map<std::string, Entry> by_name_;
  std::unordered_map<const void*, std::string> by_function_;
};

/// Address of a function as a registry key.
template <class F>
const void* function_key(F* function) noexcept {
  return reinterpret_cast<const void*>(function);
}

/// Name of a registered function pointer; UsageError naming the function (symbol lookup) if
/// it was never registered.
const std::string& task_name_of(const void* function);

/// "long (*)(long)"-style description used in error messages for unregistered functions.
std::string describe_function(const void* function);

/// Demangled C++ type name.
std::string demangle(const char* mangled);

/// Describes the exception being handled (call inside a catch block): demangled type + what().
RemoteErrorInfo describe_current_exception();

template <class Signature>
struct function_traits;
template <class R, class... Params>
struct function_traits<R (*)(Params...)> {
  using result = R;
  using stored_result = std::conditional_t<std::is_void_v<R>, std::monostate, R>;
  using args = std::tuple<std::decay_t<Params>...>;
  template <class Fn, class Tuple>
  static decltype(auto) call(Fn fn, Tuple& args) {
    // static_cast<P&&>: moves by-value parameters, binds reference parameters to the stored copy.
    return [&]<std::size_t... I>(std::index_sequence<I...>) -> decltype(auto) {
      return fn(static_cast<Params&&>(std::get<I>(args))...);
    }(std::index_sequence_for<Params...>{});
  }
};
template <class R, class... Params>
struct function_traits<R (*)(Params...) noexcept> : function_traits<R (*)(Params...)> {};

template <class... Ts>
void encode_args(Bytes& out, const Ts&... args) {
  Encoder encoder(out);
  (encoder.value(args), ...);
}

template <class Tuple>
Tuple decode_args(std::string_view in) {
  Decoder decoder(in);
  // Braced initialisation evaluates left to right, matching encode order.
  Tuple args = [&]<std::size_t... I>(std::index_sequence<I...>) {
    return Tuple{decoder.template value<std::tuple_element_t<I, Tuple>>()...};
  }(std::make_index_sequence<std::tuple_size_v<Tuple>>{});
  if (!decoder.empty()) throw WireError("mr: malformed task arguments: trailing bytes");
  return args;
}

template <auto Fn>
void invoke_task(std::string_view payload, Bytes& out) {
  using Traits = function_traits<decltype(Fn)>;
  auto args = decode_args<typename Traits::args>(payload);
  if constexpr (std::is_void_v<typename Traits::result>) {
    Traits::call(Fn, args);
  } else {
    Encoder(out).value(Traits::call(Fn, args));
  }
}

template <class T>
inline constexpr bool dependent_false = false;

template <auto Fn>
bool register_task(const char* name) {
  using F = decltype(Fn);
  if constexpr (!std::is_pointer_v<F> || !std::is_function_v<std::remove_pointer_t<F>>) {
    static_assert(dependent_false<F>, "MR_TASK needs a free function (not a lambda, member or overload set)");
    return false;
  } else {
    return Registry::instance().add(name, function_key(Fn), &invoke_task<Fn>);
  }
}

}  // namespace mr::detail
