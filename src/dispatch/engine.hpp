// The dispatcher's engine: a prepared batch (statistics, choices, derived forms) and its executor,
// shared by Plan and the transient plans of bmm() and bmm_into().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

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
};

template <Value T, Index I>
struct Engine {
  BatchView<T, I> a;
  Options options;  // op_a, op_b and threads; kernel unused
  MachineModel machine;
  std::vector<EntryStats> stats;
  std::vector<Choice> choices;
  std::vector<Prepared<T, I>> prepared;
  std::string gpu_note;  // why the GPU was not considered, for explain()

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
};

// bmm_into after its checks: a transient plan, executed once.
template <Value T, Index I>
void run_batch(const DenseBatchView<T>& c, const BatchView<T, I>& a,
               const DenseBatchView<const T>& b, T alpha, T beta, const Options& options);

}  // namespace spbmm::dispatch
