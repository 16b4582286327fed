// spbmm_mpi: sharded batches and 1D row-partitioned products over a caller's MPI communicator.
//
// The library takes the caller's MPI_Comm (it duplicates it, so its messages never meet the
// caller's) and never calls MPI_Init or MPI_Finalize; every plan must be destroyed before the
// caller finalizes MPI. Collective functions must be called by every rank of the communicator
// in the same order. When one rank fails inside a collective (a bad file, a bad shape), every
// rank throws the same spbmm::Error subclass with the same message (the lowest failing rank's),
// so that no rank is left waiting for the others.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "spbmm/dense.hpp"
#include "spbmm/error.hpp"
#include "spbmm/matrix_market.hpp"
#include "spbmm/plan.hpp"
#include "spbmm/sparse.hpp"
#include "spbmm/types.hpp"

namespace spbmm::mpi {

// An MPI call failed; the message names the call and carries MPI's error string.
class MpiError : public Error {
 public:
  using Error::Error;
};

// Collective: when `error` is set on any rank, every rank throws the error of the lowest such rank
// (the same spbmm::Error subclass and message everywhere); otherwise returns. For a caller's own
// steps between the library's collectives (writing results, say), so that no rank hangs.
void agree(MPI_Comm comm, std::exception_ptr error);

// ---------------------------------------------------------------------------------------------
// Sharded batches: every entry of a ragged batch lives on one rank.

// Longest processing time first: entries in decreasing cost (ties by index) each go to the rank
// with the least cost so far (ties to the lowest rank). Returns the owner of every entry.
// Pure; InvalidArgument when ranks < 1 or a cost is negative or not finite.
std::vector<int> assign_longest_first(const std::vector<double>& costs, int ranks);

// The dispatcher's estimated seconds for an entry known only by its shape and nnz (what a
// Matrix Market header says): choose_kernel with the plan options' policy and machine (or
// MachineModel::defaults()), row lengths assumed even. Pure.
double estimate_seconds(std::int64_t rows, std::int64_t cols, std::int64_t nnz, std::int64_t n,
                        int value_bytes, const PlanOptions& options = {});

struct ShardOptions {
  PlanOptions plan;    // for each rank's local Plan (per_entry overrides use global indices)
  MmReadOptions read;  // for reading the files
};

// A batch of Matrix Market files sharded over the ranks of a communicator. Every rank names
// the same files; the headers are read once each (spread over the ranks) to price the entries,
// then each rank reads only the bodies of the files it owns and makes an ordinary Plan for them.
template <Value T, Index I>
class ShardedPlan {
 public:
  // Collective. n: the columns of op(B_i), one value for every entry or one per entry.
  ShardedPlan(MPI_Comm comm, const std::vector<std::string>& paths,
              const std::vector<std::int64_t>& n, const ShardOptions& options = {});
  // Collective: every *.mtx file directly inside `dir`, in name order.
  static ShardedPlan from_dir(MPI_Comm comm, const std::string& dir,
                              const std::vector<std::int64_t>& n, const ShardOptions& options = {});
  ~ShardedPlan();
  ShardedPlan(ShardedPlan&&) noexcept;
  ShardedPlan& operator=(ShardedPlan&&) noexcept;

  std::size_t size() const noexcept;  // entries of the whole batch
  int rank() const noexcept;
  int ranks() const noexcept;
  const std::vector<std::string>& paths() const noexcept;
  const std::vector<double>& costs() const noexcept;  // estimated seconds per entry
  const std::vector<int>& owners() const noexcept;    // rank of every entry
  // This rank's entries (global indices, increasing); local entry k is global entry
  // local_entries()[k].
  const std::vector<std::size_t>& local_entries() const noexcept;
  const CsrBatch<T, I>& local_batch() const noexcept;
  const Plan<T, I>& local_plan() const noexcept;
  // Shapes of op(A_i) for every entry (from the headers), and of the results, op(A_i) rows x n_i.
  std::vector<Shape> a_shapes() const;
  std::vector<Shape> result_shapes() const;

  // Not collective: this rank's share, B given per local entry (local order).
  void execute(const DenseBatchView<T>& local_c, const DenseBatchView<const T>& local_b,
               T alpha = T(1), T beta = T(0)) const;
  DenseBatch<T> execute(const DenseBatchView<const T>& local_b, T alpha = T(1)) const;
  // Collective: the whole batch of results on `root` (global order, row-major); an empty batch
  // on the other ranks. local_c holds this rank's results in local order.
  DenseBatch<T> gather(const DenseBatch<T>& local_c, int root = 0) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// One big matrix: a 1D row partition of A (rows x k) and of B (k x n).

// Which rank owns each row of A (and of C) and each row of B. Rows are cut, in `order` (a
// permutation of the rows; the natural order when empty), into `ranks` consecutive runs of
// nearly equal weight, a row weighing its nonzeros plus one. Rows of B follow the rows of A when
// A is square (row j of B with row j of A, as in a graph's propagation), else they are cut into
// runs of nearly equal count in their natural order.
struct RowPartition {
  int ranks = 1;
  std::int64_t rows = 0;                // of A
  std::int64_t cols = 0;                // of A: the rows of B
  std::vector<int> row_owner;           // rows entries
  std::vector<int> b_owner;             // cols entries
  std::vector<std::int64_t> row_start;  // ranks + 1: rank p owns a_rows[row_start[p] .. [p+1])
  std::vector<std::int64_t> a_rows;     // the rows of A grouped by rank, each in `order`
  std::vector<std::int64_t> b_start;    // ranks + 1, likewise for b_rows
  std::vector<std::int64_t> b_rows;     // the rows of B grouped by rank

  // Rows of A (and of C) owned by `rank`, in order; rows of B owned by `rank`, in order.
  std::vector<std::int64_t> rows_of(int rank) const;
  std::vector<std::int64_t> b_rows_of(int rank) const;
};

// Pure. InvalidArgument when ranks < 1 or `order` is not a permutation of the rows.
template <Value T, Index I>
RowPartition partition_rows(const CsrView<T, I>& a, int ranks,
                            const std::vector<std::int64_t>& order = {});

// Words (values of B) and messages one rank sends and receives in one execute.
struct CommCounts {
  std::int64_t words_sent = 0;
  std::int64_t words_received = 0;
  std::int64_t messages_sent = 0;
  std::int64_t messages_received = 0;
  std::int64_t rows_sent = 0;  // rows of B
  std::int64_t rows_received = 0;
  friend bool operator==(const CommCounts&, const CommCounts&) = default;
};

// The counts of every rank for one execute with n columns of B, from the pattern alone (no MPI):
// rank p receives, from the owner of each row of B that a nonzero of p's rows of A names and p
// does not own, that row once; a message per (sender, receiver) pair with at least one row.
template <Value T, Index I>
std::vector<CommCounts> predict(const CsrView<T, I>& pattern, const RowPartition& partition,
                                std::int64_t n = 1);
template <Value T, Index I>
std::vector<CommCounts> predict(const CsrView<T, I>& pattern, int ranks, std::int64_t n = 1,
                                const std::vector<std::int64_t>& order = {});

struct RowPlanOptions {
  int threads = 0;                  // of the local products (0: the OpenMP default)
  std::vector<std::int64_t> order;  // a row order for the partition (empty: natural)
};

// C = alpha * A * B + beta * C with A, B and C partitioned by rows. The plan holds this rank's
// rows of A with their columns renumbered into the local copy of B (owned rows plus the rows
// received, in increasing global order, so every row keeps its column order), the exchange plan
// (which of its rows of B each rank sends to which rank) and a distributed graph communicator
// over exactly the ranks that exchange rows. Each local product runs on spbmm's CPU sparse
// kernel, which sums each row in its stored order: the result is bit for bit the one a single
// process gets from a Plan with Kernel::Sparse on the whole A, with row-major B and C whose
// buffers start on kDenseAlignment bytes (as DenseMatrix's do).
template <Value T, Index I>
class RowPlan {
 public:
  // Collective. Every rank passes the same whole A (each may have read the same file); each
  // keeps only its own rows.
  RowPlan(MPI_Comm comm, const CsrView<T, I>& a, std::int64_t n,
          const RowPlanOptions& options = {});
  // Collective, for an A that no rank holds whole: `partition` (the same on every rank) and
  // this rank's rows of A, partition.rows_of(rank) in that order, with global column indices.
  RowPlan(MPI_Comm comm, const RowPartition& partition, const CsrView<T, I>& local_a,
          std::int64_t n, const RowPlanOptions& options = {});
  ~RowPlan();
  RowPlan(RowPlan&&) noexcept;
  RowPlan& operator=(RowPlan&&) noexcept;

  int rank() const noexcept;
  int ranks() const noexcept;
  std::int64_t n() const noexcept;
  const RowPartition& partition() const noexcept;
  const std::vector<std::int64_t>& local_rows() const noexcept;    // rows of A and C here
  const std::vector<std::int64_t>& local_b_rows() const noexcept;  // rows of B here
  // This rank's rows of A, columns renumbered into the local copy of B.
  const CsrMatrix<T, I>& local_a() const noexcept;

  // Collective: local_c (local_rows() x n) = alpha * A_local * B + beta * local_c, local_b
  // holding local_b_rows() x n. Shapes are checked on every rank before anything is sent.
  void execute(const DenseView<T>& local_c, const DenseView<const T>& local_b, T alpha = T(1),
               T beta = T(0));
  DenseMatrix<T> execute(const DenseView<const T>& local_b, T alpha = T(1));

  // Words and messages of the last execute (zero before the first).
  const CommCounts& counters() const noexcept;
  // What one execute sends and receives, from the exchange plan.
  CommCounts planned() const noexcept;

  // Not collective: this rank's rows of a whole B (every rank holding it), row-major.
  DenseMatrix<T> local_b_of(const DenseView<const T>& b) const;
  // Collective: the whole C (rows x n, row-major) on root in global row order; an empty matrix
  // on the other ranks.
  DenseMatrix<T> gather(const DenseView<const T>& local_c, int root = 0) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spbmm::mpi
