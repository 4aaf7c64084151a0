// The pool's byte encoding, without MPI: round trips, the fast path's exact layout, and
// rejection of malformed messages.
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "mr/detail/pool_tasks.hpp"
#include "mr/detail/registry.hpp"
#include "mr/detail/wire.hpp"
#include "mr/task.hpp"

namespace {

struct Point {
  int x = 0;
  std::string label;
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar & x & label;
  }
  bool operator==(const Point&) const = default;
};

long twice(long n) { return 2 * n; }
MR_TASK(twice);
std::string join_words(const std::vector<std::string>& words, char sep) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : std::string(1, sep)) + w;
  return out;
}
MR_TASK(join_words);
long never_registered(long n) { return n; }

using namespace mr::detail;

TEST(PoolWire, FastPathTypesAreRawBytes) {
  EXPECT_EQ(encode_value(42L).size(), sizeof(long));
  EXPECT_EQ(encode_value(std::string("abc")), std::string("\x03\0\0\0\0\0\0\0abc", 11));
  EXPECT_EQ(encode_value(std::vector<int>{1, 2}).size(), 8u + 2 * sizeof(int));
  EXPECT_EQ(decode_value<double>(encode_value(2.5)), 2.5);
  EXPECT_EQ(decode_value<std::vector<std::string>>(encode_value(std::vector<std::string>{"a", "", "bc"})),
            (std::vector<std::string>{"a", "", "bc"}));
  EXPECT_EQ(decode_value<bool>(encode_value(true)), true);
}

TEST(PoolWire, OtherTypesGoThroughBoostSerialization) {
  const Point p{7, "seven"};
  EXPECT_EQ(decode_value<Point>(encode_value(p)), p);
  const std::map<std::string, std::vector<Point>> m{{"k", {p, Point{1, "one"}}}};
  EXPECT_EQ((decode_value<std::map<std::string, std::vector<Point>>>(encode_value(m))), m);
  EXPECT_EQ(decode_value<std::vector<bool>>(encode_value(std::vector<bool>{true, false, true})),
            (std::vector<bool>{true, false, true}));
}

TEST(PoolWire, TruncatedOrTrailingBytesAreRejected) {
  const Bytes s = encode_value(std::string("hello"));
  EXPECT_THROW(decode_value<std::string>(s.substr(0, s.size() - 1)), WireError);
  EXPECT_THROW(decode_value<long>(encode_value(1L) + "x"), WireError);
  Bytes huge;
  Encoder(huge).u64(~std::uint64_t{0});
  EXPECT_THROW(decode_value<std::vector<long>>(huge), WireError);
  EXPECT_THROW(decode_value<Point>(Bytes("\x04\0\0\0\0\0\0\0abcd", 12)), WireError);
}

TEST(PoolWire, TaskAndResultBatchesRoundTrip) {
  Bytes batch;
  begin_batch(batch);
  append_task(batch, {7, TaskKind::call, "twice", encode_value(21L)});
  append_task(batch, {8, TaskKind::chunk, "x", ""});
  finish_batch(batch, 2);
  const auto tasks = decode_tasks(batch);
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].id, 7u);
  EXPECT_EQ(tasks[0].name, "twice");
  EXPECT_EQ(decode_value<long>(tasks[0].payload), 21L);
  EXPECT_EQ(tasks[1].kind, TaskKind::chunk);
  for (std::size_t cut = 0; cut < batch.size(); ++cut)
    EXPECT_THROW(decode_tasks(std::string_view(batch).substr(0, cut)), WireError) << cut;

  Bytes results;
  begin_batch(results);
  append_result(results, {7, ResultStatus::error, encode_error({"std::runtime_error", "boom"})});
  finish_batch(results, 1);
  const auto decoded = decode_results(results);
  ASSERT_EQ(decoded.size(), 1u);
  EXPECT_EQ(decode_error(decoded[0].payload).message, "boom");
  Bytes bad_status = results;
  bad_status[4 + 8] = 9;
  EXPECT_THROW(decode_results(bad_status), WireError);
}

TEST(PoolWire, ErrorsCarryTheirCode) {
  for (auto code : {mr::ErrorCode::generic, mr::ErrorCode::mpi, mr::ErrorCode::input, mr::ErrorCode::usage,
                    mr::ErrorCode::broken_pool, mr::ErrorCode::timeout, mr::ErrorCode::cancelled,
                    mr::ErrorCode::state}) {
    const RemoteErrorInfo info = decode_error(encode_error({"mr::InputError", "f.txt: cannot open", code}));
    EXPECT_EQ(info.code, code);
    EXPECT_EQ(info.type_name, "mr::InputError");
    EXPECT_EQ(info.message, "f.txt: cannot open");
  }
  Bytes unknown = encode_error({"t", "m", mr::ErrorCode::input});
  unknown[0] = 100;  // the code comes first
  EXPECT_THROW(decode_error(unknown), WireError);
}

TEST(PoolWire, TheCodeComesFromTheThrownType) {
  const auto describe = [](auto thrown) {
    try {
      throw thrown;
    } catch (...) {
      return describe_current_exception();
    }
  };
  EXPECT_EQ(describe(mr::InputError("bad line")).code, mr::ErrorCode::input);
  EXPECT_EQ(describe(mr::UsageError("no")).code, mr::ErrorCode::usage);
  EXPECT_EQ(describe(mr::MpiError("MPI_Send", 1)).code, mr::ErrorCode::mpi);
  EXPECT_EQ(describe(mr::Error("plain")).code, mr::ErrorCode::generic);
  EXPECT_EQ(describe(std::runtime_error("std")).code, mr::ErrorCode::generic);
  EXPECT_EQ(describe(42).code, mr::ErrorCode::generic);
  // A nested pool's error keeps the original code, not the wrapper's.
  const RemoteErrorInfo nested = describe(mr::RemoteError("mr::InputError", "bad line", mr::ErrorCode::input));
  EXPECT_EQ(nested.code, mr::ErrorCode::input);
  EXPECT_EQ(nested.type_name, "mr::InputError");
}

TEST(PoolWire, RethrowAsLocalTurnsInputErrorsIntoInputErrors) {
  try {
    mr::rethrow_as_local(mr::RemoteError("mr::InputError", "f.txt:3: bad line", mr::ErrorCode::input));
  } catch (const mr::InputError& e) {
    EXPECT_STREQ(e.what(), "f.txt:3: bad line");
  }
  try {
    mr::rethrow_as_local(mr::RemoteError("std::invalid_argument", "odd", mr::ErrorCode::generic));
  } catch (const mr::RemoteError& e) {
    EXPECT_EQ(e.code(), mr::ErrorCode::generic);
    EXPECT_EQ(e.remote_message(), "odd");
  }
}

TEST(PoolWire, RegistryInvokesByNameAndConvertsArguments) {
  Invoker invoke = Registry::instance().find("twice");
  ASSERT_NE(invoke, nullptr);
  Bytes args;
  encode_call_args<params_tuple_t<decltype(&twice)>>(args, 21);  // int converted to long
  Bytes out;
  invoke(args, out);
  EXPECT_EQ(decode_value<long>(out), 42L);

  Bytes join_args;
  encode_call_args<params_tuple_t<decltype(&join_words)>>(join_args, std::vector<std::string>{"a", "b"}, '-');
  out.clear();
  Registry::instance().find("join_words")(join_args, out);
  EXPECT_EQ(decode_value<std::string>(out), "a-b");

  EXPECT_EQ(task_name_of(function_key(&twice)), "twice");
  EXPECT_EQ(Registry::instance().find("nope"), nullptr);
  try {
    task_name_of(function_key(&never_registered));
    FAIL() << "expected UsageError";
  } catch (const mr::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("MR_TASK"), std::string::npos) << e.what();
  }
}

TEST(PoolWire, ChunksFollowPythonsChunksizeHeuristic) {
  EXPECT_EQ(default_chunksize(100, 2), 13u);  // divmod(100, 8) = (12, 4) -> 13
  EXPECT_EQ(default_chunksize(8, 2), 1u);
  EXPECT_EQ(default_chunksize(0, 2), 1u);
  const std::vector<long> inputs{1, 2, 3, 4, 5};
  const auto chunks = make_chunks(inputs, 2, [](Bytes& out, long v) { Encoder(out).value(v); });
  ASSERT_EQ(chunks.payloads.size(), 3u);
  EXPECT_EQ(chunks.offsets, (std::vector<std::size_t>{0, 2, 4}));
  EXPECT_EQ(chunks.items, 5u);
  const auto items = decode_chunk(chunks.payloads[2]);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(decode_value<long>(items[0]), 5L);
}

}  // namespace
