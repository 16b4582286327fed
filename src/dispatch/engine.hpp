// The dispatcher's engine: a prepared batch (statistics, choices, derived forms) and its executor,
// shared by Plan and the transient plans of bmm() and bmm_into().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dispatch/checks.hpp"
#include "dispatch/overlap.hpp"
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
};

// choose_kernel with the policy's override for the entry already resolved (forced: Auto when
// none; forced_per_entry: it came from Policy::per_entry). Without with_reason the reason is left
// empty, which saves its formatting; the rest of the Choice is the same.
Choice choose_resolved(const EntryStats& s, Kernel forced, bool forced_per_entry,
                       const Policy& policy, const MachineModel& machine, bool with_reason);

template <Value T, Index I>
struct Engine {
  BatchView<T, I> a;
  Options options;  // op_a, op_b and threads; kernel unused
  MachineModel machine;
  Policy policy;  // without per_entry, which `forced` holds resolved
  std::vector<EntryStats> stats;
  // Choices are made without their reasons; reasons() fills them in on first use.
  mutable std::vector<Choice> choices;
  std::vector<Prepared<T, I>> prepared;
  std::string gpu_note;  // why the GPU was not considered, for explain()

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

  // Some entry's prepared form crosses formats (Prepared::crosses).
  bool any_crosses = false;

  // Entries the CPU runs, largest estimate first (ties in entry order), with the sum of their
  // estimates: the schedule when every B has the width the plan was made for.
  std::vector<std::size_t> cpu_order;
  double cpu_total = 0;

  // Entries the GPU runs as sparse products, in the order of device_a's entries.
  std::vector<std::size_t> gpu_sparse;
  std::unique_ptr<gpu::DeviceCsrBatch<T, I>> device_a;
  std::unique_ptr<gpu::Executor> executor;
  std::unique_ptr<std::mutex> gpu_mutex;  // an Executor serves one thread at a time

  // A must already be validated. n: columns of op(B_i) per entry.
  void build(const BatchView<T, I>& a_in, const std::vector<std::int64_t>& n,
             const PlanOptions& po);
  // B and C must already be checked against A (check_b_and_c).
  void run(const DenseBatchView<T>& c, const DenseBatchView<const T>& b, T alpha, T beta) const;
  std::string explain() const;
  // choices, with every reason filled in. Safe to call from several threads at once.
  const std::vector<Choice>& reasons() const;
};

// bmm_into after its checks: a transient plan, executed once.
template <Value T, Index I>
void run_batch(const DenseBatchView<T>& c, const BatchView<T, I>& a,
               const DenseBatchView<const T>& b, T alpha, T beta, const Options& options);

}  // namespace spbmm::dispatch
