// The shared-memory channel between a pool's parent and a worker, without MPI: both
// endpoints of a channel live in this process (and, for the doorbell test, in two threads).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "pool/shm_channel.hpp"

namespace {

using namespace mr::detail;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kSmallRing = 4096;

Bytes pattern(std::size_t size, unsigned seed) {
  Bytes out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 131 + seed * 7) >> 3);
  return out;
}

TEST(ShmChannel, MessagesOfAnySizeStreamThroughASmallRingInOrder) {
  auto segment = ShmSegment::create(2, kSmallRing);
  ASSERT_NE(segment, nullptr);
  ShmEndpoint parent = segment->parent_endpoint(1);
  ShmEndpoint worker = segment->worker_endpoint(1);
  const std::vector<std::size_t> sizes{0, 1, 15, 16, 4079, 4080, 4096, 4097, 100'000, 3, 1'000'003};
  for (std::size_t i = 0; i < sizes.size(); ++i)
    parent.send(i % 2 ? Tag::tasks : Tag::stop, pattern(sizes[i], static_cast<unsigned>(i)));
  std::size_t received = 0;
  Message message;
  while (received < sizes.size()) {
    parent.flush();
    while (worker.receive(message)) {
      ASSERT_EQ(message.tag, received % 2 ? Tag::tasks : Tag::stop) << received;
      ASSERT_EQ(message.data, pattern(sizes[received], static_cast<unsigned>(received))) << received;
      ++received;
    }
  }
  EXPECT_TRUE(parent.idle());
  EXPECT_FALSE(worker.receive(message));
}

TEST(ShmChannel, DirectionsAndChannelsAreIndependent) {
  auto segment = ShmSegment::create(2, kSmallRing);
  ASSERT_NE(segment, nullptr);
  ShmEndpoint p0 = segment->parent_endpoint(0), w0 = segment->worker_endpoint(0);
  ShmEndpoint p1 = segment->parent_endpoint(1), w1 = segment->worker_endpoint(1);
  p0.send(Tag::tasks, "to worker 0");
  p1.send(Tag::tasks, "to worker 1");
  w0.send(Tag::results, "from worker 0");
  w1.send(Tag::hello, "from worker 1");
  Message m;
  ASSERT_TRUE(w1.receive(m));
  EXPECT_EQ(m.data, "to worker 1");
  ASSERT_TRUE(p0.receive(m));
  EXPECT_EQ(m.tag, Tag::results);
  EXPECT_EQ(m.data, "from worker 0");
  ASSERT_TRUE(w0.receive(m));
  EXPECT_EQ(m.data, "to worker 0");
  ASSERT_TRUE(p1.receive(m));
  EXPECT_EQ(m.tag, Tag::hello);
  EXPECT_FALSE(p0.receive(m) || p1.receive(m) || w0.receive(m) || w1.receive(m));
}

TEST(ShmChannel, OpenFindsTheSegmentUntilItIsUnlinked) {
  auto segment = ShmSegment::create(3, 8192);
  ASSERT_NE(segment, nullptr);
  auto opened = ShmSegment::open(segment->name());
  ASSERT_NE(opened, nullptr);
  EXPECT_EQ(opened->workers(), 3);
  EXPECT_EQ(opened->ring_bytes(), 8192u);
  // A message written through one mapping is read through the other.
  segment->parent_endpoint(2).send(Tag::config, "across mappings");
  Message m;
  ASSERT_TRUE(opened->worker_endpoint(2).receive(m));
  EXPECT_EQ(m.data, "across mappings");
  EXPECT_THROW(opened->worker_endpoint(3), std::out_of_range);

  segment->unlink();
  EXPECT_EQ(ShmSegment::open(segment->name()), nullptr);
  EXPECT_EQ(ShmSegment::open("/mr-pool-no-such-segment"), nullptr);
  EXPECT_EQ(ShmSegment::create(2, 5000), nullptr) << "ring sizes must be powers of two";
  EXPECT_EQ(ShmSegment::create(0, 8192), nullptr);
}

TEST(Doorbell, AWaitEndsAtOnceIfTheBellRangSinceTheSnapshot) {
  Doorbell bell;
  const std::uint32_t seen = bell.snapshot();
  bell.ring();
  auto start = Clock::now();
  bell.wait(seen, std::chrono::seconds(10));
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(1));

  start = Clock::now();
  bell.wait(bell.snapshot(), std::chrono::milliseconds(30));
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(25)) << "an unrung bell sleeps for the timeout";
}

// Two threads that only ever sleep on their doorbells, with a long timeout: a lost wake-up
// (a message written, or ring space freed, while the other side decided to sleep) would
// stall the test for that timeout. 3000 messages through a 4 KiB ring, up to 20 KiB each.
TEST(Doorbell, ProducerAndConsumerNeverMissAWakeUp) {
  auto segment = ShmSegment::create(1, kSmallRing);
  ASSERT_NE(segment, nullptr);
  constexpr int kMessages = 3000;
  constexpr auto kLongSleep = std::chrono::seconds(20);
  std::mt19937 random(7);
  std::vector<Bytes> messages;
  for (int i = 0; i < kMessages; ++i)
    messages.push_back(pattern(std::uniform_int_distribution<std::size_t>(0, 20'000)(random), i));

  const auto start = Clock::now();
  std::thread producer([&] {
    ShmEndpoint out = segment->parent_endpoint(0);
    Doorbell& bell = segment->parent_bell();
    for (const Bytes& message : messages) {
      out.send(Tag::tasks, message);
      for (;;) {
        const std::uint32_t seen = bell.snapshot();
        out.flush();
        if (out.idle()) break;
        bell.wait(seen, kLongSleep);
      }
    }
  });
  ShmEndpoint in = segment->worker_endpoint(0);
  Doorbell& bell = segment->worker_bell(0);
  Message message;
  int received = 0;
  bool in_order = true;
  while (received < kMessages) {
    const std::uint32_t seen = bell.snapshot();
    if (in.receive(message)) {
      in_order = in_order && message.data == messages[static_cast<std::size_t>(received)];
      ++received;
      continue;
    }
    bell.wait(seen, kLongSleep);
  }
  producer.join();
  EXPECT_TRUE(in_order);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
