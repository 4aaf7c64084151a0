#pragma once
// Checks written once against the mr::Executor interface and run on every process executor
// (ProcessPoolExecutor, CommExecutor), with the shared tasks of pool_test_tasks.hpp.
#include <gtest/gtest.h>

#include <chrono>
#include <numeric>
#include <string>
#include <vector>

#include "mr/executor.hpp"
#include "mr/future.hpp"
#include "pool_test_tasks.hpp"

namespace mr_test {

/// map keeps input order for chunksize 1, 7 and 200; a failing chunk fails where it is reached.
template <mr::Executor E>
void check_map_keeps_input_order(E& executor) {
  std::vector<long> inputs(101);
  std::iota(inputs.begin(), inputs.end(), -50L);
  for (std::size_t chunksize : {1u, 7u, 200u}) {
    auto results = executor.map(square, inputs, {.chunksize = chunksize}).to_vector();
    ASSERT_EQ(results.size(), inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) EXPECT_EQ(results[i], inputs[i] * inputs[i]);
  }
  auto failing = executor.map(fail_on_three, std::vector<long>{1, 2, 3, 4}, {.chunksize = 2});
  auto it = failing.begin();
  EXPECT_EQ(*it, 1);
  ++it;
  EXPECT_EQ(*it, 2);
  EXPECT_THROW(++it, mr::RemoteError);
}

/// result(timeout) and map's timeout throw TimeoutError; the call still completes.
template <mr::Executor E>
void check_result_and_map_timeouts(E& executor) {
  using namespace std::chrono_literals;
  auto slow = executor.submit(sleep_ms, 300L);
  EXPECT_THROW(slow.result(20ms), mr::TimeoutError);
  EXPECT_EQ(slow.result(10s), 300);
  auto results = executor.map(sleep_ms, std::vector<long>{1, 800}, {.timeout = 400ms});
  auto it = results.begin();
  EXPECT_EQ(*it, 1);
  EXPECT_THROW(++it, mr::TimeoutError);
}

/// fail_on_three(3)'s future: a RemoteError carrying the remote type and message.
inline void check_remote_error(const mr::Future<long>& bad) {
  using namespace std::chrono_literals;
  try {
    bad.result(10s);
    FAIL() << "expected RemoteError";
  } catch (const mr::RemoteError& e) {
    EXPECT_NE(e.type_name().find("invalid_argument"), std::string::npos) << e.type_name();
    EXPECT_EQ(e.remote_message(), "three is not allowed");
  }
}

}  // namespace mr_test
