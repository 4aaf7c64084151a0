// zlib's inflate against ISA-L's (libisal-dev) on .gz files: the decision of issue "No serial
// phase on rank 0" (adopt ISA-L only if it is at least 1.5x faster). Both stream through the
// same 1 MiB output buffer, as the engine's LineBlockReader does; best of N runs each.
//
//   scripts/bench_inflate.sh FILE.gz...   (builds this with -lz -lisal)
#include <isa-l/igzip_lib.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kOut = 1 << 20;

std::string slurp(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::uint64_t inflate_zlib(const std::string& gz, std::vector<unsigned char>& out) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw std::runtime_error("inflateInit2");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  std::uint64_t total = 0;
  for (;;) {
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = inflate(&z, Z_NO_FLUSH);
    total += out.size() - z.avail_out;
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      inflateReset(&z);  // concatenated members
      continue;
    }
    if (rc != Z_OK) throw std::runtime_error("zlib inflate failed");
  }
  inflateEnd(&z);
  return total;
}

std::uint64_t inflate_isal(const std::string& gz, std::vector<unsigned char>& out) {
  inflate_state state;
  isal_inflate_init(&state);
  state.crc_flag = ISAL_GZIP;
  state.next_in = reinterpret_cast<std::uint8_t*>(const_cast<char*>(gz.data()));
  state.avail_in = static_cast<std::uint32_t>(gz.size());
  std::uint64_t total = 0;
  for (;;) {
    state.next_out = out.data();
    state.avail_out = static_cast<std::uint32_t>(out.size());
    if (isal_inflate(&state) != ISAL_DECOMP_OK) throw std::runtime_error("isal_inflate failed");
    total += out.size() - state.avail_out;
    if (state.block_state == ISAL_BLOCK_FINISH) {
      if (state.avail_in == 0) break;
      const auto* rest = state.next_in;
      const auto left = state.avail_in;
      isal_inflate_reset(&state);  // concatenated members
      state.crc_flag = ISAL_GZIP;
      state.next_in = const_cast<std::uint8_t*>(rest);
      state.avail_in = left;
    }
  }
  return total;
}

template <class F>
double best_seconds(F&& f, int runs, std::uint64_t& bytes) {
  double best = 1e9;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    bytes = f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<unsigned char> out(kOut);
  std::printf("| file | compressed MB | inflated MB | zlib MB/s | ISA-L MB/s | ISA-L / zlib |\n|---|---|---|---|---|---|\n");
  for (int i = 1; i < argc; ++i) {
    const std::string gz = slurp(argv[i]);
    std::uint64_t a = 0, b = 0;
    const double z = best_seconds([&] { return inflate_zlib(gz, out); }, 3, a);
    const double s = best_seconds([&] { return inflate_isal(gz, out); }, 3, b);
    if (a != b) {
      std::fprintf(stderr, "%s: zlib gave %llu bytes, ISA-L %llu\n", argv[i], static_cast<unsigned long long>(a),
                   static_cast<unsigned long long>(b));
      return 1;
    }
    std::printf("| %s | %.1f | %.1f | %.0f | %.0f | %.2fx |\n", argv[i], gz.size() / 1e6, a / 1e6, a / 1e6 / z,
                a / 1e6 / s, z / s);
  }
}
