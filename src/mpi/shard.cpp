// Sharded batches: entries priced by the dispatcher's model, assigned longest first, each rank
// reading and running only its own entries with an ordinary Plan.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string>
#include <utility>

#include "mpi/common.hpp"
#include "spbmm/matrix_market.hpp"
#include "spbmm/mpi.hpp"

namespace spbmm::mpi {

using detail::check;
using detail::collectively;
using detail::to_count;

std::vector<int> assign_longest_first(const std::vector<double>& costs, int ranks) {
  if (ranks < 1) {
    throw InvalidArgument("assign_longest_first: ranks is " + std::to_string(ranks) +
                          ", expected at least 1");
  }
  for (std::size_t i = 0; i < costs.size(); ++i) {
    if (!std::isfinite(costs[i]) || costs[i] < 0) {
      throw InvalidArgument("assign_longest_first: cost of entry " + std::to_string(i) + " is " +
                            std::to_string(costs[i]) + ", expected a finite value >= 0");
    }
  }
  std::vector<std::size_t> by_cost(costs.size());
  std::iota(by_cost.begin(), by_cost.end(), std::size_t{0});
  std::stable_sort(by_cost.begin(), by_cost.end(),
                   [&](std::size_t x, std::size_t y) { return costs[x] > costs[y]; });
  std::vector<double> load(static_cast<std::size_t>(ranks), 0.0);
  std::vector<int> owner(costs.size(), 0);
  for (const std::size_t i : by_cost) {
    // The least loaded rank; the lowest of equals, so the result is the same on every rank.
    const auto least = std::min_element(load.begin(), load.end()) - load.begin();
    owner[i] = static_cast<int>(least);
    load[static_cast<std::size_t>(least)] += costs[i];
  }
  return owner;
}

double estimate_seconds(std::int64_t rows, std::int64_t cols, std::int64_t nnz, std::int64_t n,
                        int value_bytes, const PlanOptions& options) {
  EntryStats s;
  s.format = Format::Csr;
  s.rows = rows;
  s.cols = cols;
  s.n = n;
  s.nnz = nnz;
  const double cells = static_cast<double>(rows) * static_cast<double>(cols);
  s.density = cells > 0 ? static_cast<double>(nnz) / cells : 0.0;
  s.row_cv = 0;
  s.max_row = rows > 0 ? (nnz + rows - 1) / rows : 0;
  s.value_bytes = value_bytes;
  const MachineModel& machine =
      options.machine != nullptr ? *options.machine : MachineModel::defaults();
  return choose_kernel(s, options.policy, machine).estimated_seconds;
}

template <Value T, Index I>
struct ShardedPlan<T, I>::Impl {
  detail::OwnedComm comm;
  int rank = 0;
  int ranks = 1;
  std::vector<std::string> paths;
  std::vector<std::int64_t> n;     // per entry
  std::vector<std::int64_t> info;  // rows, cols, nnz per entry (of A as stored, nnz as read)
  std::vector<double> costs;
  std::vector<int> owners;
  std::vector<std::size_t> local;
  Op op_a = Op::N;
  CsrBatch<T, I> batch;
  std::unique_ptr<Plan<T, I>> plan;

  Shape shape(std::size_t i) const {
    const std::int64_t r = info[3 * i], c = info[3 * i + 1];
    return op_a == Op::N ? Shape{r, n[i]} : Shape{c, n[i]};
  }
};

template <Value T, Index I>
ShardedPlan<T, I>::ShardedPlan(MPI_Comm comm, const std::vector<std::string>& paths,
                               const std::vector<std::int64_t>& n, const ShardOptions& options)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.comm = detail::OwnedComm(comm);
  s.rank = s.comm.rank();
  s.ranks = s.comm.size();
  s.paths = paths;
  s.op_a = options.plan.op_a;
  const std::size_t count = paths.size();
  collectively(s.comm.get(), [&] {
    if (n.size() != 1 && n.size() != count) {
      throw InvalidArgument("ShardedPlan: " + std::to_string(n.size()) +
                            " values of n for a batch of " + std::to_string(count) +
                            " entries, expected 1 or " + std::to_string(count));
    }
    for (const std::int64_t v : n) {
      if (v < 0)
        throw InvalidArgument("ShardedPlan: n is " + std::to_string(v) + ", expected >= 0");
    }
  });
  s.n = n.size() == count ? n : std::vector<std::int64_t>(count, n.empty() ? 0 : n[0]);

  // The headers, read once each and spread over the ranks, price every entry.
  s.info.assign(3 * count, 0);
  collectively(s.comm.get(), [&] {
    for (std::size_t i = static_cast<std::size_t>(s.rank); i < count;
         i += static_cast<std::size_t>(s.ranks)) {
      const MatrixMarketHeader h = read_matrix_market_header(paths[i]);
      // A symmetric file read with expansion holds up to twice its stored entries.
      const bool mirrored = options.read.expand_symmetry && h.symmetry != MmSymmetry::General;
      s.info[3 * i] = h.rows;
      s.info[3 * i + 1] = h.cols;
      s.info[3 * i + 2] = mirrored ? 2 * h.nnz : h.nnz;
    }
  });
  if (count > 0) {
    check(MPI_Allreduce(MPI_IN_PLACE, s.info.data(),
                        to_count(3 * static_cast<std::int64_t>(count), "the batch description"),
                        MPI_INT64_T, MPI_SUM, s.comm.get()),
          "MPI_Allreduce");
  }
  s.costs.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    const Shape sh = s.shape(i);
    const std::int64_t inner = s.op_a == Op::N ? s.info[3 * i + 1] : s.info[3 * i];
    s.costs[i] = estimate_seconds(sh.rows, inner, s.info[3 * i + 2], s.n[i],
                                  static_cast<int>(sizeof(T)), options.plan);
  }
  s.owners = assign_longest_first(s.costs, s.ranks);
  for (std::size_t i = 0; i < count; ++i) {
    if (s.owners[i] == s.rank) s.local.push_back(i);
  }

  // Each rank reads only the files it owns, then plans them as an ordinary batch.
  collectively(s.comm.get(), [&] {
    std::vector<std::string> mine;
    std::vector<std::int64_t> local_n;
    for (const std::size_t i : s.local) {
      mine.push_back(paths[i]);
      local_n.push_back(s.n[i]);
    }
    s.batch = read_matrix_market_csr_batch<T, I>(mine, options.read);
    for (std::size_t k = 0; k < s.local.size(); ++k) {
      const std::size_t i = s.local[k];
      if (s.batch.rows(k) != s.info[3 * i] || s.batch.cols(k) != s.info[3 * i + 1]) {
        throw FormatError("ShardedPlan: " + paths[i] + " changed while it was read");
      }
      s.info[3 * i + 2] = s.batch.nnz(k);
    }
    PlanOptions local_options = options.plan;
    local_options.policy.per_entry.clear();
    for (const auto& [entry, kernel] : options.plan.policy.per_entry) {
      const auto it = std::lower_bound(s.local.begin(), s.local.end(), entry);
      if (it != s.local.end() && *it == entry) {
        local_options.policy.per_entry.emplace_back(static_cast<std::size_t>(it - s.local.begin()),
                                                    kernel);
      }
    }
    if (!s.local.empty()) {
      s.plan = std::make_unique<Plan<T, I>>(BatchView<T, I>(s.batch), local_n, local_options);
    }
  });
}

template <Value T, Index I>
ShardedPlan<T, I> ShardedPlan<T, I>::from_dir(MPI_Comm comm, const std::string& dir,
                                              const std::vector<std::int64_t>& n,
                                              const ShardOptions& options) {
  std::vector<std::string> paths;
  // Every rank lists the directory; all must see the same files, so the list is agreed on.
  collectively(comm, [&] { paths = list_matrix_market_files(dir); });
  return ShardedPlan(comm, paths, n, options);
}

template <Value T, Index I>
ShardedPlan<T, I>::~ShardedPlan() = default;
template <Value T, Index I>
ShardedPlan<T, I>::ShardedPlan(ShardedPlan&&) noexcept = default;
template <Value T, Index I>
ShardedPlan<T, I>& ShardedPlan<T, I>::operator=(ShardedPlan&&) noexcept = default;

template <Value T, Index I>
std::size_t ShardedPlan<T, I>::size() const noexcept {
  return impl_->paths.size();
}
template <Value T, Index I>
int ShardedPlan<T, I>::rank() const noexcept {
  return impl_->rank;
}
template <Value T, Index I>
int ShardedPlan<T, I>::ranks() const noexcept {
  return impl_->ranks;
}
template <Value T, Index I>
const std::vector<std::string>& ShardedPlan<T, I>::paths() const noexcept {
  return impl_->paths;
}
template <Value T, Index I>
const std::vector<double>& ShardedPlan<T, I>::costs() const noexcept {
  return impl_->costs;
}
template <Value T, Index I>
const std::vector<int>& ShardedPlan<T, I>::owners() const noexcept {
  return impl_->owners;
}
template <Value T, Index I>
const std::vector<std::size_t>& ShardedPlan<T, I>::local_entries() const noexcept {
  return impl_->local;
}
template <Value T, Index I>
const CsrBatch<T, I>& ShardedPlan<T, I>::local_batch() const noexcept {
  return impl_->batch;
}
template <Value T, Index I>
const Plan<T, I>& ShardedPlan<T, I>::local_plan() const noexcept {
  if (!impl_->plan) {
    // A rank without entries still answers with a (trivially empty) plan.
    impl_->plan =
        std::make_unique<Plan<T, I>>(BatchView<T, I>(impl_->batch), std::vector<std::int64_t>{});
  }
  return *impl_->plan;
}

template <Value T, Index I>
std::vector<Shape> ShardedPlan<T, I>::a_shapes() const {
  const Impl& s = *impl_;
  std::vector<Shape> out(size());
  for (std::size_t i = 0; i < size(); ++i) {
    const std::int64_t r = s.info[3 * i], c = s.info[3 * i + 1];
    out[i] = s.op_a == Op::N ? Shape{r, c} : Shape{c, r};
  }
  return out;
}

template <Value T, Index I>
std::vector<Shape> ShardedPlan<T, I>::result_shapes() const {
  std::vector<Shape> out(size());
  for (std::size_t i = 0; i < size(); ++i) out[i] = impl_->shape(i);
  return out;
}

template <Value T, Index I>
void ShardedPlan<T, I>::execute(const DenseBatchView<T>& local_c,
                                const DenseBatchView<const T>& local_b, T alpha, T beta) const {
  const Impl& s = *impl_;
  if (s.local.empty()) {
    if (!local_c.empty() || !local_b.empty()) {
      throw ShapeError("ShardedPlan::execute: rank " + std::to_string(s.rank) +
                       " owns no entries but was given " + std::to_string(local_b.size()) +
                       " B and " + std::to_string(local_c.size()) + " C");
    }
    return;
  }
  s.plan->execute(local_c, local_b, alpha, beta);
}

template <Value T, Index I>
DenseBatch<T> ShardedPlan<T, I>::execute(const DenseBatchView<const T>& local_b, T alpha) const {
  const Impl& s = *impl_;
  std::vector<std::int64_t> rows, cols;
  for (const std::size_t i : s.local) {
    rows.push_back(s.shape(i).rows);
    cols.push_back(s.shape(i).cols);
  }
  if (s.local.empty()) {
    execute(DenseBatchView<T>(), local_b, alpha, T(0));
    return DenseBatch<T>(rows, cols);
  }
  return s.plan->execute(local_b, alpha);
}

template <Value T, Index I>
DenseBatch<T> ShardedPlan<T, I>::gather(const DenseBatch<T>& local_c, int root) const {
  const Impl& s = *impl_;
  MPI_Comm comm = s.comm.get();
  std::vector<T> send;
  collectively(comm, [&] {
    if (root < 0 || root >= s.ranks) {
      throw InvalidArgument("ShardedPlan::gather: root " + std::to_string(root) +
                            " is not a rank of a communicator of " + std::to_string(s.ranks));
    }
    if (local_c.size() != s.local.size()) {
      throw ShapeError("ShardedPlan::gather: rank " + std::to_string(s.rank) + " gives " +
                       std::to_string(local_c.size()) + " results for its " +
                       std::to_string(s.local.size()) + " entries");
    }
    for (std::size_t k = 0; k < s.local.size(); ++k) {
      const Shape want = s.shape(s.local[k]);
      if (local_c.rows(k) != want.rows || local_c.cols(k) != want.cols) {
        throw ShapeError("ShardedPlan::gather: result of entry " + std::to_string(s.local[k]) +
                         " is " + std::to_string(local_c.rows(k)) + "x" +
                         std::to_string(local_c.cols(k)) + ", expected " +
                         std::to_string(want.rows) + "x" + std::to_string(want.cols));
      }
      const DenseView<const T> e = local_c.entry(k);
      for (std::int64_t r = 0; r < e.rows; ++r) {
        for (std::int64_t c = 0; c < e.cols; ++c) send.push_back(e(r, c));
      }
    }
  });
  // Counts per rank and the root's buffer, checked on every rank before anything moves.
  std::vector<std::int64_t> per_rank(static_cast<std::size_t>(s.ranks), 0);
  for (std::size_t i = 0; i < size(); ++i) {
    const Shape sh = s.shape(i);
    per_rank[static_cast<std::size_t>(s.owners[i])] += sh.rows * sh.cols;
  }
  std::vector<int> counts(per_rank.size()), displs(per_rank.size());
  std::int64_t total = 0;
  collectively(comm, [&] {
    for (std::size_t p = 0; p < per_rank.size(); ++p) {
      counts[p] = to_count(per_rank[p], "a rank's share of the results");
      displs[p] = to_count(total, "the gathered results");
      total += per_rank[p];
    }
    to_count(total, "the gathered results");
  });
  std::vector<T> all(s.rank == root ? static_cast<std::size_t>(total) : 0);
  check(MPI_Gatherv(send.data(), static_cast<int>(send.size()), detail::datatype<T>(), all.data(),
                    counts.data(), displs.data(), detail::datatype<T>(), root, comm),
        "MPI_Gatherv");
  if (s.rank != root) return DenseBatch<T>();
  std::vector<std::int64_t> rows(size()), cols(size());
  for (std::size_t i = 0; i < size(); ++i) {
    rows[i] = s.shape(i).rows;
    cols[i] = s.shape(i).cols;
  }
  DenseBatch<T> out(rows, cols);
  std::vector<std::int64_t> next(per_rank.size());
  for (std::size_t p = 0; p < per_rank.size(); ++p) next[p] = displs[p];
  for (std::size_t i = 0; i < size(); ++i) {
    const auto p = static_cast<std::size_t>(s.owners[i]);
    const std::int64_t len = rows[i] * cols[i];
    if (len > 0) {
      std::memcpy(out.values().data() + out.offset(i), all.data() + next[p],
                  static_cast<std::size_t>(len) * sizeof(T));
    }
    next[p] += len;
  }
  return out;
}

template class ShardedPlan<float, std::int32_t>;
template class ShardedPlan<float, std::int64_t>;
template class ShardedPlan<double, std::int32_t>;
template class ShardedPlan<double, std::int64_t>;

}  // namespace spbmm::mpi
