// Compile-time checks of the typed API: each MR_BAD_CASE must fail to compile with the
// concept's message (tests/typed/CMakeLists.txt builds it and matches the message).
#include <functional>
#include <string>

#include "mr/mr.hpp"

int main() {
  boost::mpi::communicator comm;
#if MR_BAD_CASE == 1  // map function with the wrong signature
  mr::map_reduce<std::string, long>(comm, {"x"}, [](int, int) {}, std::plus<>{});
#elif MR_BAD_CASE == 2  // reduce function that cannot combine two values
  mr::map_reduce<std::string, long>(comm, {"x"}, [](std::string_view l, auto& emit) { emit(l, 1L); },
                                    [](const std::string& a) { return a; });
#elif MR_BAD_CASE == 3  // a key type without an ordering
  struct NoOrder { std::string s; };
  mr::map_reduce<NoOrder, long>(comm, {"x"}, [](std::string_view, auto&) {}, std::plus<>{});
#endif
}
