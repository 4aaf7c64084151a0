#pragma once
/// \file mr.hpp
/// Umbrella header: everything a user of mr needs.

#include "mr/error.hpp"
#include "mr/runtime.hpp"
