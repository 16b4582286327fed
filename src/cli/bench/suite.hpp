// The workload runners behind `spbmm bench`: spbmm and its baselines timed in the same run.
#pragma once

#include <string>
#include <vector>

namespace spbmm::bench {

struct SuiteOptions {
  int threads = 2;          // for spbmm and every baseline alike
  int reps = 5;             // timed runs after one warm-up; the best one counts
  bool use_double = false;  // fp64 instead of fp32
};

struct BaselineTiming {
  std::string name;
  double seconds = 0;         // best of the timed runs
  double max_rel_error = -1;  // its result against spbmm's; < 0 when it is not compared
};

struct WorkloadResult {
  std::string workload;   // "W3"
  std::string precision;  // "fp32" or "fp64"
  int threads = 0;
  int reps = 0;
  double spbmm_seconds = 0;  // best execute() of a plan built once
  double plan_seconds = 0;   // building that plan (best of the builds)
  double flops = 0;          // 2*nnz*N (sparse) or 2*M*K*N (dense); 0 for the I/O workloads
  double gflops = 0;
  double bytes = 0;  // file size for the I/O workloads (W6, W9), else 0
  double mb_per_s = 0;
  double max_rel_error = 0;  // worst |spbmm - baseline| / max(1, |baseline|) over the baselines
  double tolerance = 0;
  bool ok = true;  // max_rel_error <= tolerance
  std::vector<BaselineTiming> baselines;
  std::vector<std::string> notes;  // extra lines (e.g. which kernels auto chose)
};

// "W1" .. "W10" and "W12", in order (W11 is not measured yet).
const std::vector<std::string>& workload_ids();
// One line: what the workload is (from bench/WORKLOADS.md).
std::string workload_summary(const std::string& id);
// Generates the workload, times spbmm and its baselines, and checks the results.
// InvalidArgument for an unknown id.
WorkloadResult run_workload(const std::string& id, const SuiteOptions& options);
// One JSON object on one line.
std::string to_json(const WorkloadResult& result);

}  // namespace spbmm::bench
