// The whole public API of spbmm in one include (the opt-in interop headers excepted).
#pragma once

#include "spbmm/bmm.hpp"
#include "spbmm/concat.hpp"
#include "spbmm/config.hpp"
#include "spbmm/convert.hpp"
#include "spbmm/dense.hpp"
#include "spbmm/error.hpp"
#include "spbmm/gpu.hpp"
#include "spbmm/matrix_market.hpp"
#include "spbmm/plan.hpp"
#include "spbmm/reorder.hpp"
#include "spbmm/sparse.hpp"
#include "spbmm/training.hpp"
#include "spbmm/types.hpp"
