// Plans: analyse a batch of A operands once, choose a kernel per entry, then run many times.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "spbmm/bmm.hpp"

namespace spbmm {

// What the dispatcher knows about one entry of A (for op(A) as it will be multiplied).
struct EntryStats {
  std::size_t index = 0;
  Format format = Format::Csr;
  std::int64_t rows = 0;  // of op(A)
  std::int64_t cols = 0;  // of op(A): the inner dimension
  std::int64_t n = 0;     // columns of op(B_i)
  // Stored entries of a sparse entry (COO duplicates counted); for a dense entry the nonzero
  // values, i.e. what a CSR copy of it would hold.
  std::int64_t nnz = 0;
  double density = 0;        // nnz / (rows * cols); 0 for an empty entry
  double row_cv = 0;         // coefficient of variation of the row lengths of op(A) (skew)
  std::int64_t max_row = 0;  // longest row of op(A)
  int value_bytes = 4;       // sizeof(T): 8 selects the model's fp64 factors
  int index_bytes = 4;       // sizeof(I): what a device copy of a sparse entry's indices takes
  // Bytes the operands of the entry's whole batch take as stored (every A, B and C), which
  // decides whether they stay cached between calls (MachineModel::cache_mb); a plan fills it in.
  // 0: the entry's own operands only.
  double batch_bytes = 0;
};

// The dispatcher's decision for one entry, with the reason explain() prints.
struct Choice {
  Kernel kernel = Kernel::Reference;
  double estimated_seconds = 0;
  std::string reason;
};

// Per-kernel throughput figures of this machine: what choose_kernel compares. Rates are GFLOP/s
// per thread for fp32, measured with every thread of the batch loop busy (so shared memory
// bandwidth is priced in); fp64 rates are the fp32 ones times the f64 factors. The rates are
// those of operands that stay cached: a batch whose operands (with the copies a kernel adds)
// take more than cache_mb reads each kernel's form of A, and B, from memory at stream_gbps at
// every call, and the CPU estimates add that time (0 in either figure: no such term).
//
// defaults() returns figures stored in code (a calibration of the reference machine, see
// model.cpp), or, when the environment variable SPBMM_MACHINE_FILE names a file, the model read
// from it with from_text (IoError when it cannot be read, InvalidArgument when malformed). The
// usual way to produce that file is `spbmm calibrate`, or calibrate().to_text().
//
// The built-in figures have no GPU part. A plan made with the defaults (no SPBMM_MACHINE_FILE)
// that has an entry large enough for a device to matter looks for a device once per process and
// takes its figures from the per-device cache ($XDG_CACHE_HOME/spbmm, else ~/.cache/spbmm), or,
// when there is none, measures them (well under a second) and caches them. Setting
// SPBMM_GPU_AUTOCALIBRATE=0 turns the measuring off (a cached file is still used). gpu_source
// says where the GPU figures came from; explain() prints it.
struct MachineModel {
  double sparse_gflops = 0;          // CPU sparse kernel, per thread, at N >= 32
  double sparse_gflops_small_n = 0;  // CPU sparse kernel, per thread, at N <= 4
  double dense_gflops_small = 0;     // CPU dense kernel, per thread, entries of ~32^3
  double dense_gflops_large = 0;     // CPU dense kernel, per thread, entries of ~256^3 and up
  double eigen_sparse_gflops = 0;    // Eigen sparse x dense, per thread (0: never chosen)
  double eigen_dense_gflops = 0;     // Eigen dense x dense, per thread (0: never chosen)
  double convert_gbps = 0;           // sparse <-> dense conversion (dense bytes / s)
  double memory_gbps = 0;            // writing C, per thread (bytes / s)
  double stream_gbps = 0;            // reading what no cache holds, per thread (bytes / s)
  double cache_mb = 0;               // cache a batch's operands stay in between calls (MB)
  double f64_sparse_factor = 0.5;    // fp64 rate / fp32 rate of the sparse kernels
  double f64_dense_factor = 0.5;     // fp64 rate / fp32 rate of the dense kernels
  // Intel MKL (Kernel::Mkl; 0: never chosen, the built-in figures have none): its
  // inspector-executor SpMM on a sparse entry, its gemm on a dense one, per thread as above, and
  // making a handle (the CSR's bytes per second, spread over the expected calls; 0: free).
  // A plan considers them only where the MKL backend loads.
  double mkl_sparse_gflops = 0;          // at N >= 32
  double mkl_sparse_gflops_small_n = 0;  // at N <= 4
  double mkl_dense_gflops_small = 0;     // entries of ~32^3
  double mkl_dense_gflops_large = 0;     // entries of ~256^3 and up
  double mkl_inspect_gbps = 0;
  double gpu_gflops = 0;          // GPU sparse kernel (0: no device; the GPU is never chosen)
  double gpu_dense_gflops = 0;    // GPU dense kernel (0: gpu_gflops)
  double gpu_transfer_gbps = 0;   // host <-> device bandwidth
  double gpu_launch_seconds = 0;  // per-call overhead on the GPU
  // What a call with host operands adds (see estimate_gpu): 0 takes the fallback named.
  double gpu_d2h_gbps = 0;    // device -> host bandwidth (0: gpu_transfer_gbps)
  double gpu_stage_gbps = 0;  // one thread copying into and out of pinned staging (0: memory_gbps)
  double gpu_copy_seconds = 0;  // fixed cost of one host <-> device copy
  double gpu_sync_seconds = 0;  // waiting for the device once at the end of a call
  int threads = 1;              // threads the calibration ran with
  // Where the GPU figures came from: "built-in (no GPU figures)", "file PATH", "cache PATH",
  // "measured now (...)", "given by the caller". Not part of the text form.
  std::string gpu_source = "built-in (no GPU figures)";

  static const MachineModel& defaults();
  // defaults() with the GPU figures a plan finds for this process's device (the cache, or a
  // short measurement written to it, as above); defaults() itself without a device, with
  // SPBMM_MACHINE_FILE, or when none can be had. Opens the GPU backend.
  static MachineModel for_device();
  // Measures the figures above on this machine by timing the CPU (and Eigen) kernels on small
  // synthetic problems, one per thread, `threads` threads (0: the OpenMP default); a few seconds.
  // With a usable GPU the device figures are measured too, else they are 0; likewise the MKL
  // figures where the MKL backend loads.
  static MachineModel calibrate(int threads = 0);
  // Text form ("key = value" lines, '#' comments) for saving and loading a calibration. Keys
  // missing from the text keep the defaults of a value-initialised model; an unknown key or a
  // negative or non-numeric value is an InvalidArgument naming the line.
  std::string to_text() const;
  static MachineModel from_text(const std::string& text);
};

// Where the library's warnings go, one line each without a newline: today only about the
// per-device cache of GPU figures (a corrupt or foreign file that is ignored, a file that cannot
// be written, a measurement that failed). By default each is printed to stderr as
// "spbmm: warning: LINE"; a null handler drops them. Returns the previous handler.
using WarningHandler = void (*)(const char* line);
WarningHandler set_warning_handler(WarningHandler handler) noexcept;

// How the dispatcher may choose.
struct Policy {
  Kernel force = Kernel::Auto;                            // for every entry
  std::vector<std::pair<std::size_t, Kernel>> per_entry;  // overrides for single entries
  bool allow_gpu = true;  // Auto may pick the GPU when a device is present
  // How many executions a plan-time conversion (sparse -> dense, dense -> CSR) is spread over
  // in the estimates: a Plan exists to be reused, hence many by default; bmm() and bmm_into()
  // pay it on every call and estimate with 1.
  int expected_calls = kManyCalls;
  static constexpr int kManyCalls = 100;
  // Bytes the dense copy of one sparse entry may take (see dense_limit() in convert.hpp); 0: the
  // process-wide dense_limit(). Auto does not choose Dense for a sparse entry beyond it; a
  // forced Dense on such an entry is a LimitError when the plan is made.
  std::uint64_t dense_limit = 0;
  // Where the dense operands of a GPU product live, which decides what its estimate charges for
  // moving them: host operands are packed into pinned staging, copied up (B; C too when it is
  // read, beta != 0), copied down (C) and unpacked, with a synchronisation at the end; operands
  // already on the device are charged nothing. A Plan takes B and C in host memory and keeps a
  // sparse A on the device from plan time on (its upload is spread over expected_calls); a dense
  // A is staged with every call.
  bool gpu_b_on_host = true;
  bool gpu_c_on_host = true;
  bool gpu_c_read = false;  // bmm_into sets it when beta != 0
  // Whether every call checks A's values against a converted entry's copy (a Plan does unless
  // PlanOptions::constant_values; a plan sets this from it): a cost per call of the converted
  // kernel.
  bool follows_values = true;
};

// The GPU estimate of one entry, in parts (seconds); total() is what choose_kernel compares.
struct GpuEstimate {
  double compute = 0;   // the product on the device (infinite without device figures)
  double launch = 0;    // issuing the call
  double transfer = 0;  // bytes between host and device, and through pinned staging
  double fixed = 0;     // the latency of each copy and the final synchronisation
  int copies = 0;       // host <-> device copies the executor issues for the entry
  double total() const noexcept { return compute + launch + transfer + fixed; }
};
// Never throws; pure.
GpuEstimate estimate_gpu(const EntryStats& stats, const Policy& policy,
                         const MachineModel& machine);

// The pure decision: the kernel with the lowest estimated time for the entry (policy first).
// Candidates: Sparse, Dense (for a sparse entry only when its dense copy fits
// policy.dense_limit), Eigen (when the machine has Eigen figures), Mkl (when the machine has MKL
// figures for the entry's format and the entry fits MKL's 32-bit indices) and Gpu (when
// machine.gpu_gflops > 0 and policy.allow_gpu). Empty and tiny entries (op(A) rows * cols * n
// below kTinyVolume) keep the kernel of their stored format, as a conversion would cost more than
// the product. Never throws.
Choice choose_kernel(const EntryStats& stats, const Policy& policy, const MachineModel& machine);
inline constexpr std::int64_t kTinyVolume = 4096;

struct PlanOptions {
  Op op_a = Op::N;  // the op execute() applies when it is not given one
  Op op_b = Op::N;
  int threads = 0;  // 0: the runtime's default
  Policy policy;
  const MachineModel* machine = nullptr;  // nullptr: MachineModel::defaults()
  // Prepare both op(A) = A and op(A) = A^T when the plan is made (a forward and backward pass).
  // Without it the other op is prepared on its first execute.
  bool both_ops = false;
  // By default a plan is bound to A's sparsity pattern and shapes, not to its values: every
  // execute uses A's current values, for every entry and either op, refreshing what the plan
  // derived from them (transposes, conversions) in O(nnz) without allocating. A caller whose
  // values never change after the plan is made may set this to skip the check and the copies
  // it keeps; executes then use the values A had when the plan was made wherever the plan
  // converted an entry.
  bool constant_values = false;
};

// A plan over a batch of A operands. It keeps views of A (which must stay alive, and whose
// pattern must stay unchanged, while the plan is used; its values may change, see
// PlanOptions::constant_values) plus everything it derives once: transposes, format conversions,
// statistics and per-entry kernel choices, device copies. Executing it with new dense operands
// pays no analysis cost. A const Plan may be executed from several threads at once with
// distinct outputs (while no thread changes A's values).
template <Value T, Index I>
class Plan {
 public:
  // n: the columns of op(B_i), one value for every entry or one per entry (it drives the
  // choice; execute() accepts any B whose shapes fit, re-checking them).
  Plan(const BatchView<T, I>& a, std::int64_t n, const PlanOptions& options = {});
  Plan(const BatchView<T, I>& a, const std::vector<std::int64_t>& n,
       const PlanOptions& options = {});
  // A plan keeps views of A: a temporary batch would be gone before the first execute.
  Plan(CsrBatch<T, I>&&, std::int64_t, const PlanOptions& = {}) = delete;
  Plan(CooBatch<T, I>&&, std::int64_t, const PlanOptions& = {}) = delete;
  Plan(DenseBatch<T>&&, std::int64_t, const PlanOptions& = {}) = delete;
  Plan(CsrBatch<T, I>&&, const std::vector<std::int64_t>&, const PlanOptions& = {}) = delete;
  Plan(CooBatch<T, I>&&, const std::vector<std::int64_t>&, const PlanOptions& = {}) = delete;
  Plan(DenseBatch<T>&&, const std::vector<std::int64_t>&, const PlanOptions& = {}) = delete;
  ~Plan();
  Plan(Plan&&) noexcept;
  Plan& operator=(Plan&&) noexcept;

  // C_i = alpha * op(A_i) * op(B_i) + beta * C_i, with the same checks and broadcasting as
  // bmm_into (one A with many B_i when the plan holds one entry).
  void execute(const DenseBatchView<T>& c, const DenseBatchView<const T>& b, T alpha = T(1),
               T beta = T(0)) const;
  DenseBatch<T> execute(const DenseBatchView<const T>& b, T alpha = T(1),
                        Layout layout = Layout::RowMajor) const;
  // The same with op(A) given: Op::T runs the transposed products A_i^T op(B_i) (the backward
  // pass of a forward product with Op::N) on the same plan.
  void execute(const DenseBatchView<T>& c, const DenseBatchView<const T>& b, T alpha, T beta,
               Op op_a) const;
  DenseBatch<T> execute(const DenseBatchView<const T>& b, Op op_a, T alpha = T(1),
                        Layout layout = Layout::RowMajor) const;

  // The batch sum C = alpha * sum_i op(A_i) op(B_i) + beta * C, every product of one shape (that
  // of C), summed in entry order: the same bits at any thread count.
  void execute_sum(const DenseView<T>& c, const DenseBatchView<const T>& b, T alpha = T(1),
                   T beta = T(0)) const;
  void execute_sum(const DenseView<T>& c, const DenseBatchView<const T>& b, T alpha, T beta,
                   Op op_a) const;

  std::size_t size() const noexcept;
  // Statistics and choices for PlanOptions::op_a.
  const std::vector<EntryStats>& stats() const noexcept;
  const std::vector<Choice>& choices() const noexcept;
  // Those for the given op (prepared now if it was not yet).
  const std::vector<EntryStats>& stats(Op op_a) const;
  const std::vector<Choice>& choices(Op op_a) const;
  // A table: entry, shape, nnz, density, chosen kernel and why (per prepared op).
  std::string explain() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spbmm
