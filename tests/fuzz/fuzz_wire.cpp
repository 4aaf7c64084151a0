// Bytes from a peer: every decoder of the pool's task/control messages and of the
// engine's shuffle buffers either succeeds or throws mr::Error (WireError) -- never
// crashes, hangs or allocates without bound. What decodes re-encodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "mr/detail/key_codec.hpp"
#include "mr/detail/shuffle.hpp"
#include "mr/detail/wire.hpp"

// A corrupt element count in a Boost archive makes Boost ask for that many bytes before it
// reads them. In a real process an impossible request throws std::bad_alloc (which the
// decoders turn into WireError); ASan instead aborts on any request it cannot serve. These
// replacements give the harness the behaviour of a job under a memory limit (ulimit -v,
// cgroups): requests above 256 MiB throw.
namespace {
constexpr std::size_t kAllocationLimit = std::size_t{1} << 28;
void* limited_allocate(std::size_t size) {
  if (size > kAllocationLimit) throw std::bad_alloc();
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
}  // namespace
void* operator new(std::size_t size) { return limited_allocate(size); }
void* operator new[](std::size_t size) { return limited_allocate(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
// libFuzzer's own objects are created by ASan's operator new and freed through ours.
extern "C" const char* __asan_default_options() { return "alloc_dealloc_mismatch=0"; }

namespace {

using namespace mr::detail;

template <class F>
void expect_clean(F&& decode) {
  try {
    decode();
  } catch (const mr::Error&) {
    // the clear error a malformed message must produce
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 12) {
    case 0:
      expect_clean([&] {
        const auto tasks = decode_tasks(in);
        Bytes again;
        begin_batch(again);
        for (const auto& task : tasks) append_task(again, task);
        finish_batch(again, static_cast<std::uint32_t>(tasks.size()));
        MR_FUZZ_CHECK(decode_tasks(again).size() == tasks.size());
      });
      break;
    case 1:
      expect_clean([&] {
        const auto results = decode_results(in);
        Bytes again;
        begin_batch(again);
        for (const auto& result : results) append_result(again, result);
        finish_batch(again, static_cast<std::uint32_t>(results.size()));
        MR_FUZZ_CHECK(decode_results(again).size() == results.size());
      });
      break;
    case 2:
      expect_clean([&] {
        const auto info = decode_error(in);
        const auto again = decode_error(encode_error(info));
        MR_FUZZ_CHECK(again.code == info.code && again.type_name == info.type_name && again.message == info.message);
      });
      break;
    case 3:
      expect_clean([&] {
        const auto config = decode_config(in);
        const auto again = decode_config(encode_config(config));
        MR_FUZZ_CHECK(again.parent_pid == config.parent_pid && again.parent_host == config.parent_host &&
                      again.shm_name == config.shm_name &&
                      std::memcmp(&again.heartbeat_seconds, &config.heartbeat_seconds, sizeof(double)) == 0);
      });
      break;
    case 4:
      expect_clean([&] {
        const auto hello = decode_hello(in);
        const auto again = decode_hello(encode_hello(hello));
        MR_FUZZ_CHECK(again.pid == hello.pid && again.host == hello.host &&
                      again.shared_memory == hello.shared_memory);
      });
      break;
    case 5:
      expect_clean([&] {
        for (std::string_view item : decode_chunk(in))
          MR_FUZZ_CHECK(item.data() >= in.data() && item.data() + item.size() <= in.data() + in.size());
      });
      break;
    case 6:
      expect_clean([&] { MR_FUZZ_CHECK(encode_value(decode_value<std::string>(in)) == in); });
      break;
    case 7:
      expect_clean([&] { MR_FUZZ_CHECK(encode_value(decode_value<std::vector<std::string>>(in)) == in); });
      break;
    case 8:
      // A Boost.Serialization type: the archive path.
      expect_clean([&] { (void)decode_value<std::map<std::string, long>>(in); });
      break;
    case 9:
      expect_clean([&] {
        Bytes again;
        for_each_entry<std::int64_t>(in, [&](std::string_view key, std::int64_t value) { append_entry(again, key, value); });
        MR_FUZZ_CHECK(std::string_view(again.data(), again.size()) == in);
      });
      break;
    case 10:
      // Shuffle entries whose values travel in the codec's form (not in a table slot).
      expect_clean([&] {
        Bytes again;
        for_each_entry<std::string>(in, [&](std::string_view key, std::string&& value) { append_entry(again, key, value); });
        MR_FUZZ_CHECK(std::string_view(again) == in);
      });
      break;
    case 11:
      // A composite key's byte form decodes only when it is exactly one key.
      expect_clean([&] {
        using Key = std::tuple<int, std::string, char>;
        const Key key = decode_key<Key>(in);
        Bytes again;
        MR_FUZZ_CHECK(key_bytes<Key>(key, again) == in);
      });
      break;
  }
  return 0;
}
