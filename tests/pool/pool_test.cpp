// ProcessPool behaviour: runs as a plain program (singleton) and under mpirun -np 1 / -np 2
// (every rank owns its own pool).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mr/mr.hpp"

namespace {

long square(long n) { return n * n; }
MR_TASK(square);

long count_to(long n) {
  long i = 0;
  while (i < n) i = i + 1;
  return i;
}
MR_TASK(count_to);

int worker_pid() { return static_cast<int>(getpid()); }
MR_TASK(worker_pid);

std::string reverse(std::string s) { return {s.rbegin(), s.rend()}; }
MR_TASK(reverse);

long add3(long a, int b, double c) { return a + b + static_cast<long>(c); }
MR_TASK(add3);

long fail_if_odd(long n) {
  if (n % 2 != 0) throw std::invalid_argument("odd input " + std::to_string(n));
  return n;
}
MR_TASK(fail_if_odd);

long fail_on_input(long n) { throw mr::InputError("input " + std::to_string(n) + ": malformed line"); }
MR_TASK(fail_on_input);

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }
MR_TASK(sleep_ms);

std::vector<char> big_echo(std::vector<char> data) {
  for (auto& c : data) c = static_cast<char>(c + 1);
  return data;
}
MR_TASK(big_echo);

long nested_pool(long) {
  mr::ProcessPool pool(1);
  return 0;
}
MR_TASK(nested_pool);

long not_registered(long n) { return n; }

struct Stats {
  long sum = 0;
  std::vector<std::string> names;
  template <class A>
  void serialize(A& ar, unsigned) {
    ar & sum & names;
  }
};
Stats summarize(const std::vector<long>& values, const std::string& who) {
  return {std::accumulate(values.begin(), values.end(), 0L), {who, who + "!"}};
}
MR_TASK(summarize);

TEST(ProcessPool, ApplyAndApplyAsync) {
  mr::ProcessPool pool(2);
  EXPECT_EQ(pool.processes(), 2);
  EXPECT_EQ(pool.apply(square, 12L), 144L);
  EXPECT_EQ(pool.apply(count_to, 1'000'000L), 1'000'000L);
  mr::AsyncResult<long> r = pool.apply_async(count_to, 2'000'000L);
  EXPECT_EQ(r.get(), 2'000'000L);
  EXPECT_TRUE(r.ready());
  EXPECT_TRUE(r.successful());
  EXPECT_EQ(pool.apply(reverse, std::string("abc")), "cba");
  EXPECT_EQ(pool.apply(add3, 1, 2, 3.9), 6L);
  const Stats stats = pool.apply(summarize, std::vector<long>{1, 2, 3}, std::string("w"));
  EXPECT_EQ(stats.sum, 6);
  EXPECT_EQ(stats.names, (std::vector<std::string>{"w", "w!"}));
}

TEST(ProcessPool, WorkersAreOtherProcessesOfTheSameProgram) {
  mr::ProcessPool pool(2);
  const auto pids = pool.worker_pids();
  ASSERT_EQ(pids.size(), 2u);
  std::set<int> seen;
  for (int i = 0; i < 20; ++i) seen.insert(pool.apply(worker_pid));
  for (int pid : seen) {
    EXPECT_NE(pid, getpid());
    EXPECT_TRUE(pid == pids[0] || pid == pids[1]) << pid;
  }
}

TEST(ProcessPool, TenThousandSmallTasks) {
  mr::ProcessPool pool(2);
  std::vector<mr::AsyncResult<long>> results;
  for (long i = 0; i < 10'000; ++i) results.push_back(pool.apply_async(square, i));
  long sum = 0;
  for (auto& r : results) sum += r.get();
  long expected = 0;
  for (long i = 0; i < 10'000; ++i) expected += i * i;
  EXPECT_EQ(sum, expected);
}

TEST(ProcessPool, MapStarmapImap) {
  mr::ProcessPool pool(2);
  std::vector<long> inputs(1000);
  std::iota(inputs.begin(), inputs.end(), 0L);
  std::vector<long> expected;
  for (long v : inputs) expected.push_back(v * v);
  EXPECT_EQ(pool.map(square, inputs), expected);
  EXPECT_EQ(pool.map(square, inputs, 1), expected);
  EXPECT_EQ(pool.map(square, inputs, 7), expected);
  EXPECT_EQ(pool.map_async(square, inputs, 100).get(), expected);
  EXPECT_TRUE(pool.map(square, std::vector<long>{}).empty());

  std::vector<long> ordered;
  for (long v : pool.imap(square, inputs, 3)) ordered.push_back(v);
  EXPECT_EQ(ordered, expected);
  std::vector<long> unordered;
  for (long v : pool.imap_unordered(square, inputs, 5)) unordered.push_back(v);
  std::sort(unordered.begin(), unordered.end());
  EXPECT_EQ(unordered, expected);

  std::vector<std::tuple<long, int, double>> triples{{1, 2, 3.0}, {10, 20, 30.5}};
  EXPECT_EQ(pool.starmap(add3, triples), (std::vector<long>{6, 60}));
}

TEST(ProcessPool, ExceptionsBecomeRemoteErrorsAndThePoolKeepsWorking) {
  mr::ProcessPool pool(2);
  try {
    pool.apply(fail_if_odd, 3L);
    FAIL() << "expected RemoteError";
  } catch (const mr::RemoteError& e) {
    EXPECT_EQ(e.type_name(), "std::invalid_argument");
    EXPECT_EQ(e.remote_message(), "odd input 3");
  }
  auto r = pool.apply_async(fail_if_odd, 5L);
  r.wait();
  EXPECT_FALSE(r.successful());
  EXPECT_THROW(r.get(), mr::RemoteError);
  EXPECT_THROW(pool.map(fail_if_odd, std::vector<long>{2, 4, 5, 6}, 1), mr::RemoteError);
  auto it = pool.imap(fail_if_odd, std::vector<long>{2, 3, 4});
  EXPECT_EQ(it.next(), 2L);
  EXPECT_THROW(it.next(), mr::RemoteError);
  EXPECT_EQ(it.next(), 4L);
  EXPECT_EQ(it.next(), std::nullopt);
  EXPECT_EQ(pool.apply(fail_if_odd, 8L), 8L);  // reuse after errors
}

TEST(ProcessPool, RemoteErrorsCarryTheCodeOfTheirClass) {
  mr::ProcessPool pool(1);
  try {
    pool.apply(fail_on_input, 7L);
    FAIL() << "expected RemoteError";
  } catch (const mr::RemoteError& e) {
    EXPECT_EQ(e.code(), mr::ErrorCode::input);
    EXPECT_EQ(e.type_name(), "mr::InputError");
    try {
      mr::rethrow_as_local(e);
    } catch (const mr::InputError& local) {
      EXPECT_STREQ(local.what(), "input 7: malformed line");
    }
  }
  try {
    pool.apply(fail_if_odd, 3L);
    FAIL() << "expected RemoteError";
  } catch (const mr::RemoteError& e) {
    EXPECT_EQ(e.code(), mr::ErrorCode::generic);
  }
  // Chunked maps carry it too.
  try {
    pool.map(fail_on_input, std::vector<long>{1, 2}, 2);
    FAIL() << "expected RemoteError";
  } catch (const mr::RemoteError& e) {
    EXPECT_EQ(e.code(), mr::ErrorCode::input);
  }
}

TEST(ProcessPool, UnregisteredFunctionsAndNestedPoolsAreClearErrors) {
  mr::ProcessPool pool(1);
  try {
    pool.apply(not_registered, 1L);
    FAIL() << "expected UsageError";
  } catch (const mr::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("MR_TASK"), std::string::npos) << e.what();
  }
  try {
    pool.apply(nested_pool, 1L);
    FAIL() << "expected RemoteError";
  } catch (const mr::RemoteError& e) {
    EXPECT_EQ(e.type_name(), "mr::UsageError");
    EXPECT_EQ(e.code(), mr::ErrorCode::usage);
    EXPECT_NE(e.remote_message().find("inside a pool worker"), std::string::npos) << e.what();
  }
  auto raw = pool.core().submit_raw("no_such_task", {});
  try {
    raw->get(std::nullopt);
    FAIL() << "expected RemoteError";
  } catch (const mr::RemoteError& e) {
    EXPECT_NE(e.remote_message().find("'no_such_task' is not registered"), std::string::npos) << e.what();
  }
}

TEST(ProcessPool, TimeoutsAndClose) {
  mr::ProcessPool pool(1);
  auto slow = pool.apply_async(sleep_ms, 300);
  EXPECT_THROW(slow.get(std::chrono::milliseconds(20)), mr::TimeoutError);
  EXPECT_FALSE(slow.ready());
  EXPECT_THROW(slow.successful(), mr::StateError);
  EXPECT_THROW(pool.join(), mr::StateError);  // not closed yet
  pool.close();
  EXPECT_THROW(pool.apply(square, 2L), mr::StateError);
  pool.join();
  EXPECT_TRUE(slow.ready());  // close + join let queued work finish
  EXPECT_NO_THROW(slow.get());
}

TEST(ProcessPool, CallbacksRunOffTheProgressThread) {
  mr::ProcessPool pool(2);
  std::atomic<long> total{0};
  std::atomic<int> errors{0};
  std::vector<mr::AsyncResult<long>> results;
  for (long i = 0; i < 100; ++i) {
    results.push_back(pool.apply_async(
        mr::with_callbacks([&](long v) { total += v; }, [&](std::exception_ptr) { ++errors; }), fail_if_odd, i));
  }
  auto all = pool.map_async(square, std::vector<long>{1, 2, 3}, 1,
                            mr::with_callbacks([&](const std::vector<long>& v) { total += v[2] * 1000; }));
  for (auto& r : results) r.wait();
  all.wait();
  pool.close();
  pool.join();  // callbacks have all run once join returns
  EXPECT_EQ(errors.load(), 50);
  EXPECT_EQ(total.load(), 2450 + 9000);  // even numbers 0..98, plus the map callback
}

TEST(ProcessPool, HundredMegabyteArgumentAndResult) {
  mr::ProcessPool pool(1);
  std::vector<char> data(100u << 20);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  const std::vector<char> back = pool.apply(big_echo, data);
  ASSERT_EQ(back.size(), data.size());
  for (std::size_t i = 0; i < data.size(); i += 4099) ASSERT_EQ(back[i], static_cast<char>(data[i] + 1)) << i;
  EXPECT_EQ(back.back(), static_cast<char>(data.back() + 1));
}

TEST(ProcessPool, SeveralPoolsAndSubmittersFromManyThreads) {
  mr::ProcessPool a(1), b(2);
  std::vector<std::thread> threads;
  std::atomic<long> sum{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (long i = 0; i < 200; ++i) sum += (t % 2 == 0 ? a : b).apply(square, i);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(sum.load(), 4 * (199L * 200 * 399 / 6));
}

}  // namespace
