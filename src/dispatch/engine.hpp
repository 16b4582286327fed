// The dispatcher's engine: a prepared batch (statistics, choices, derived forms) and its executor,
// shared by Plan and the transient plans of bmm() and bmm_into().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "dispatch/checks.hpp"
#include "dispatch/follow.hpp"
#include "dispatch/overlap.hpp"
#include "kernels/cpu/xsmm.hpp"
#include "kernels/mkl/mkl.hpp"
#include "spbmm/bmm.hpp"
#include "spbmm/gpu.hpp"
#include "spbmm/plan.hpp"

namespace spbmm::dispatch {

// One entry of A in the form its kernel multiplies.
template <Value T, Index I>
struct Prepared {
  Kernel kernel = Kernel::Reference;
  Op op_a = Op::N;        // the op the kernel applies to `form`
  MatrixView<T, I> form;  // the user's view, or a view of the owned storage below
  CsrMatrix<T, I> csr;    // CSR of op(A): transposes, COO and dense conversions
  DenseMatrix<T> dense;   // op(A) as row-major dense, for a sparse entry the Dense kernel runs
  // `form` is dense for a sparse entry or sparse for a dense one. The product then equals that of
  // the stored format only while B is finite: a dense product multiplies every zero of A (and
  // 0 * Inf is NaN), a sparse one never meets its structural zeros.
  bool crosses = false;

  // Following A's values (the default): a form derived from a sparse entry keeps the map from
  // A's values to its own and a copy of the values it was last refreshed from; a CSR form of a
  // dense entry is refilled from it, and when A's nonzero pattern no longer matches that CSR
  // (a zero became nonzero or back), the entry runs in its stored format until it matches again.
  // A CSR form without folded duplicates (a transpose, a COO without duplicates) keeps, per
  // value of its own, the position of A's value it holds; its staleness check and refresh read
  // A through it. Other forms keep the slot map and a copy of A's values to compare with.
  std::vector<I> gather;
  SlotMap slots;
  std::vector<T> shadow;
  bool dense_source = false;
  bool pattern_broken = false;

  // Kernel::Mkl on a sparse entry: MKL's handle of `form`, made and optimized once when the plan
  // is made, and (following A's values) the values it was last given.
  std::unique_ptr<kernels::mkl::SparseHandle> mkl;
  std::vector<T> mkl_shadow;
};

// Whether a kernel can use every thread inside one product (the schedule may run it alone).
inline bool splits_threads(Kernel k) {
  return k == Kernel::Sparse || k == Kernel::Dense || k == Kernel::Eigen || k == Kernel::Mkl;
}

// choose_kernel with the policy's override for the entry already resolved (forced: Auto when
// none; forced_per_entry: it came from Policy::per_entry). Without with_reason the reason is left
// empty, which saves its formatting; the rest of the Choice is the same.
Choice choose_resolved(const EntryStats& s, Kernel forced, bool forced_per_entry,
                       const Policy& policy, const MachineModel& machine, bool with_reason);

// Bytes an entry's operands take as stored: A in its format, B (cols x n) and C (rows x n).
double operand_bytes(const EntryStats& s);

template <Value T, Index I>
struct Engine {
  BatchView<T, I> a;
  Options options;  // op_a, op_b and threads; kernel unused
  MachineModel machine;
  Policy policy;  // without per_entry, which `forced` holds resolved
  std::vector<EntryStats> stats;
  // Choices are made without their reasons; reasons() fills them in on first use.
  mutable std::vector<Choice> choices;
  mutable std::vector<Prepared<T, I>> prepared;  // refreshed in place when A's values change
  std::string gpu_note;                          // why the GPU was not considered, for explain()
  std::string mkl_note;                          // why MKL was not considered, for explain()
  std::vector<std::size_t> mkl_sparse;           // entries with an MKL handle
  std::string split_note;                        // the batch split between CPU and GPU, if any
  std::vector<unsigned char> split_moved;        // entries the split took from their own choice

  // Per-entry overrides of Policy::per_entry (empty when there are none): the kernel forced on
  // the entry and whether it came from per_entry.
  std::vector<Kernel> forced;
  std::vector<unsigned char> forced_per_entry;
  mutable std::once_flag reasons_once;

  // The regions of A sorted for Plan::execute's aliasing check, computed once.
  std::vector<Region> a_regions;
  Span a_span;  // span_of(a_regions)
  std::vector<Shape> a_op_shapes;

  // Set when every entry runs on the CPU dense kernel with the same op: execute() then hands
  // the whole batch to one cpu::dense_batch call over these views of op(A).
  bool all_dense = false;
  Op dense_op = Op::N;
  std::vector<DenseView<const T>> dense_a;
  // A generated kernel per entry of dense_a (empty when none were worth generating; see
  // prepare()), for products with B and C laid out as the plan expects.
  std::vector<kernels::cpu::SmallGemm> dense_small;

  // Set when every entry runs on MKL's gemm with the same op: execute() then hands the whole
  // batch to one gemm_batch call over these views of A.
  bool all_mkl_dense = false;
  Op mkl_dense_op = Op::N;
  std::vector<DenseView<const T>> mkl_dense_a;

  // Some entry's prepared form crosses formats (Prepared::crosses).
  bool any_crosses = false;

  // Entries the CPU runs, largest estimate first (ties in entry order): the order of the
  // schedule when every B has the width the plan was made for.
  std::vector<std::size_t> cpu_order;

  // Entries the GPU runs as sparse products, in the order of device_a's entries.
  std::vector<std::size_t> gpu_sparse;
  mutable std::unique_ptr<gpu::DeviceCsrBatch<T, I>> device_a;  // replaced when values change
  std::unique_ptr<gpu::Executor> executor;
  std::unique_ptr<std::mutex> gpu_mutex;  // an Executor serves one thread at a time

  // Entries whose prepared form derives from A's values, refreshed by execute when A's values
  // changed (empty when the plan was told the values are constant).
  bool follow_values = true;
  std::vector<std::size_t> following;
  std::int64_t following_elements = 0;  // values (or dense elements) the staleness check reads
  // A's values as last uploaded, for the entries on the device (entry after entry of gpu_sparse).
  mutable std::vector<T> device_shadow;
  // Executes read the prepared forms under a shared lock; a refresh writes them under an
  // exclusive one, so concurrent executes never see a form half-written.
  mutable std::shared_mutex values_mutex;

  // Whether the nonzeros of dense entries are counted when the count cannot change the choice:
  // a plan keeps them for stats() and explain(); a call that runs once (run_batch) skips the
  // pass over A where it cannot change the choice (W11's X W: a 257 MB read, 20-30 ms).
  bool count_dense_always = true;

  // A must already be validated. n: columns of op(B_i) per entry.
  void build(const BatchView<T, I>& a_in, const std::vector<std::int64_t>& n,
             const PlanOptions& po);
  // B and C must already be checked against A (check_b_and_c).
  void run(const DenseBatchView<T>& c, const DenseBatchView<const T>& b, T alpha, T beta) const;
  // The products run() leaves to the CPU (every entry not chosen for the device).
  void run_cpu_share(const DenseBatchView<T>& c, const DenseBatchView<const T>& b, T alpha, T beta,
                     int threads) const;
  // C = alpha * sum_p op(A_p) op(B_p) + beta * C; B and C checked (check_sum).
  void run_sum(const DenseView<T>& c, const DenseBatchView<const T>& b, T alpha, T beta) const;
  std::string explain() const;
  // Fills dense_small for an all-dense batch where the generated kernels pay for their making.
  void make_small_kernels();
  // Whether every derived form (and the device copy) holds A's current values; refresh() makes
  // them so. Callers hold values_mutex (shared for stale, exclusive for refresh).
  bool stale(int threads) const;
  void refresh(int threads) const;
  // Refreshes what is stale and returns the shared lock under which the forms stay current.
  std::shared_lock<std::shared_mutex> hold_current_values(int threads) const;
  // Which B entries met by an entry whose form crosses formats hold Inf or NaN (2), are finite
  // (1) or not met (0); empty when no entry crosses.
  std::vector<unsigned char> scan_b(const DenseBatchView<const T>& b, std::size_t products,
                                    int threads) const;
  // choices, with every reason filled in. Safe to call from several threads at once.
  const std::vector<Choice>& reasons() const;
  // Auto's entries split between the CPU and the device so that both shares, run at the same
  // time, finish soonest (split_batch); forced, tiny and empty entries stay where they are.
  void split_with_gpu(int threads);
};

// bmm_into (or, with sum, bmm_sum_into into *sum) after its checks: a transient plan, executed
// once.
template <Value T, Index I>
void run_batch(const DenseBatchView<T>& c, const BatchView<T, I>& a,
               const DenseBatchView<const T>& b, T alpha, T beta, const Options& options,
               const DenseView<T>* sum);

}  // namespace spbmm::dispatch
