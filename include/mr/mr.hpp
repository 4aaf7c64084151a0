#pragma once
/// \file mr.hpp
/// Umbrella header: everything a user of mr needs.

#include "mr/error.hpp"
#include "mr/runtime.hpp"
#include "mr/future.hpp"
#include "mr/executor.hpp"
#include "mr/thread_pool_executor.hpp"
#include "mr/asio.hpp"
#include "mr/task.hpp"
#include "mr/pool.hpp"
#include "mr/process.hpp"
#include "mr/process_pool_executor.hpp"
#include "mr/comm_executor.hpp"
#include "mr/pool_launch.hpp"
#include "mr/job.hpp"
#include "mr/emitter.hpp"
#include "mr/distributed.hpp"
#include "mr/mapreduce.hpp"
#include "mr/pool_mapreduce.hpp"
