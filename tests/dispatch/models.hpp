// Fixed machine figures for the dispatcher's tests, so that their expectations do not move with a
// recalibration of the built-in figures.
#pragma once

#include "spbmm/plan.hpp"

namespace spbmm::test {

// A small two-core machine without GPU or memory-traffic figures.
inline MachineModel small_machine() {
  MachineModel m;
  m.sparse_gflops = 3;
  m.sparse_gflops_small_n = 1;
  m.dense_gflops_small = 20;
  m.dense_gflops_large = 60;
  m.convert_gbps = 4;
  m.memory_gbps = 8;
  m.threads = 2;
  return m;
}

// Figures in the proportions of the W7 machine (sparse kernel a third of the dense rate; memory
// at a tenth of a GB/s per GFLOP/s), with `cache_mb` of cache.
inline MachineModel streaming_machine(double cache_mb) {
  MachineModel m;
  m.sparse_gflops = 40;
  m.sparse_gflops_small_n = 5;
  m.dense_gflops_small = 80;
  m.dense_gflops_large = 120;
  m.convert_gbps = 10;
  m.memory_gbps = 20;
  m.stream_gbps = 10;
  m.cache_mb = cache_mb;
  m.threads = 2;
  return m;
}

}  // namespace spbmm::test
