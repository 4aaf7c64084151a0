// mapreduce: word count and Google Books n-gram sums, on MPI ranks (mpirun) or on a pool
// of worker processes (--workers N). See `mapreduce --help`.
#include <cstdio>
#include <string>
#include <vector>

#include "jobs/job_config.hpp"
#include "jobs/builtin_jobs.hpp"
#include "mr/mr.hpp"

namespace {

/// Exit codes: 2 for a usage error (like Python's argparse), 1 for anything else.
enum class Exit : int { Ok = 0, Failed = 1, Usage = 2 };

}  // namespace

int main(int argc, char** argv) {
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
