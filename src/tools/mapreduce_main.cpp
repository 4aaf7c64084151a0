// mapreduce: word count and Google Books n-gram sums, on MPI ranks (mpirun) or on a pool
// of worker processes (--workers N). See `mapreduce --help`.
#include <malloc.h>

#include <cstdio>
#include <string>
#include <vector>

#include "jobs/job_config.hpp"
#include "jobs/builtin_jobs.hpp"
#include "mr/mr.hpp"

namespace {

/// Exit codes: 2 for a usage error (like Python's argparse), 1 for anything else.
enum class Exit : int { Ok = 0, Failed = 1, Usage = 2 };

/// A job allocates and frees buffers of megabytes in every phase (shuffle buffers, the sample
/// sort's runs and slices). Keeping freed memory in the heap rather than unmapping it lets the
/// next phase reuse pages already faulted in: on the 2-core test VM, where a fresh page costs
/// more than the pass that fills it, the sort phase of a million 1-gram keys at -np 2 went from
/// 0.093-0.117 to 0.070-0.083 s (7 interleaved pairs); a 10 M-key run's peak grew 5 %.
/// (Blocks over 32 MiB, glibc's largest threshold, are still mapped and unmapped. Taking those
/// from the heap too, M_MMAP_MAX 0, made 10 M distinct words `--output` at -np 2 16 % faster,
/// 1.299 against 1.551 s, 7 interleaved runs, but kept a growing read buffer's old blocks: a
/// line of one 1.2 GB word peaked at 5.5 GB on rank 0 against 3.4 GB. Not kept.)
void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  keep_freed_memory();
  mr::Runtime runtime(argc, argv);
  const bool is_root = runtime.rank() == 0;
  auto report = [&](const char* what, Exit code) {
    if (is_root) std::fprintf(stderr, "mapreduce: error: %s\n", what);
    return static_cast<int>(code);
  };
  try {
    const auto config = mr::detail::parse_job_args(std::vector<std::string>(argv + 1, argv + argc));
    if (config.help) {
      if (is_root) std::fputs(mr::detail::job_usage().c_str(), stdout);
      return static_cast<int>(Exit::Ok);
    }
    if (config.workers > 0) {
      // World mode: ranks 1..N-1 are the pool's workers, serving inside mr::Runtime; only
      // rank 0 gets here.
      if (runtime.size() > 1 && mr::detail::resolve_pool_launch(std::nullopt) != mr::PoolLaunch::world)
        throw mr::UsageError("--workers starts its own worker processes: run it without mpirun (or with -np 1), "
                             "or take the workers from the job's ranks: MR_POOL_LAUNCH=world mpirun -np <workers+1>");
      mr::detail::run_on_pool(config);
      return static_cast<int>(Exit::Ok);
    }
    mr::detail::run_on_ranks(MPI_COMM_WORLD, config);
    return static_cast<int>(Exit::Ok);
  } catch (const mr::UsageError& e) {
    return report(e.what(), Exit::Usage);
  } catch (const mr::Error& e) {
    return report(e.what(), Exit::Failed);
  }
}
