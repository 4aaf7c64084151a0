#pragma once
/// \file task.hpp
/// Registering functions that pools run in other processes.
///
///     long count(long n) { ... }
///     MR_TASK(count);            // at namespace scope, next to the definition
///
///     pool.apply(count, 10L);    // call with the function itself
///
/// A spawned worker runs the same executable, so its registry holds the same names. Arguments
/// and results may be any type Boost.Serialization can save and load (include the matching
/// boost/serialization/*.hpp headers for standard containers beyond vector/map/pair/string);
/// numbers, std::string and std::vector of them take a fast raw-byte path.

#include <concepts>
#include <type_traits>

#include "mr/detail/registry.hpp"

#define MR_DETAIL_CONCAT_(a, b) a##b
#define MR_DETAIL_CONCAT(a, b) MR_DETAIL_CONCAT_(a, b)

/// Registers the free function `fn` as a task under the name "fn" (spelled as written).
#define MR_TASK(fn) MR_TASK_NAMED(fn, #fn)

/// Registers the free function `fn` under an explicit name.
#define MR_TASK_NAMED(fn, name)                                               \
  [[maybe_unused]] static const bool MR_DETAIL_CONCAT(mr_task_registered_, __COUNTER__) = \
      ::mr::detail::register_task<&fn>(name)

namespace mr {

namespace detail {
template <class F>
struct is_task_pointer : std::false_type {};
template <class R, class... P>
struct is_task_pointer<R (*)(P...)> : std::bool_constant<(Wireable<std::decay_t<P>> && ...) &&
                                                         (std::is_void_v<R> || Wireable<R>)> {};
template <class R, class... P>
struct is_task_pointer<R (*)(P...) noexcept> : is_task_pointer<R (*)(P...)> {};
}  // namespace detail

/// A pointer to a free function whose parameters and result can travel between processes.
template <class F>
concept Task = detail::is_task_pointer<std::decay_t<F>>::value;

/// `fn` can be called with `Args` (after conversion to its parameter types).
template <class F, class... Args>
concept TaskCallableWith = Task<F> && std::invocable<std::decay_t<F>, Args...>;

/// Result type of a task.
template <class F>
using task_result_t = typename detail::function_traits<std::decay_t<F>>::result;

}  // namespace mr
