// One big matrix over MPI: the nnz-balanced 1D row partition, the exchange plan of B's rows,
// the neighbourhood exchange, local products on the CPU sparse kernel, and predict().
#include <algorithm>
#include <cstring>
#include <numeric>
#include <string>
#include <utility>

#include "mpi/common.hpp"
#include "spbmm/mpi.hpp"

namespace spbmm::mpi {

using detail::check;
using detail::collectively;
using detail::to_count;

namespace {

std::string str(std::int64_t v) { return std::to_string(v); }

// Cuts `weights` (in order) into `parts` consecutive runs of nearly equal total weight; returns
// parts + 1 boundaries. Part p ends at the first position whose prefix reaches p/parts of the
// total, so the cut is the same wherever it is computed.
std::vector<std::int64_t> cut(const std::vector<std::int64_t>& weights, int parts) {
  std::vector<std::int64_t> prefix(weights.size() + 1, 0);
  for (std::size_t k = 0; k < weights.size(); ++k) prefix[k + 1] = prefix[k] + weights[k];
  const std::int64_t total = prefix.back();
  std::vector<std::int64_t> bounds(static_cast<std::size_t>(parts) + 1, 0);
  for (int p = 1; p < parts; ++p) {
    const std::int64_t target = total / parts * p + total % parts * p / parts;
    bounds[static_cast<std::size_t>(p)] =
        std::lower_bound(prefix.begin(), prefix.end(), target) - prefix.begin();
  }
  bounds.back() = static_cast<std::int64_t>(weights.size());
  for (int p = 1; p <= parts; ++p) {
    auto& b = bounds[static_cast<std::size_t>(p)];
    b = std::max(b, bounds[static_cast<std::size_t>(p - 1)]);
  }
  return bounds;
}

}  // namespace

std::vector<std::int64_t> RowPartition::rows_of(int rank) const {
  const auto p = static_cast<std::size_t>(rank);
  return {a_rows.begin() + row_start[p], a_rows.begin() + row_start[p + 1]};
}

std::vector<std::int64_t> RowPartition::b_rows_of(int rank) const {
  const auto p = static_cast<std::size_t>(rank);
  return {b_rows.begin() + b_start[p], b_rows.begin() + b_start[p + 1]};
}

template <Value T, Index I>
RowPartition partition_rows(const CsrView<T, I>& a, int ranks,
                            const std::vector<std::int64_t>& order) {
  if (ranks < 1) {
    throw InvalidArgument("partition_rows: ranks is " + str(ranks) + ", expected at least 1");
  }
  validate(a);
  RowPartition part;
  part.ranks = ranks;
  part.rows = a.rows;
  part.cols = a.cols;
  if (order.empty()) {
    part.a_rows.resize(static_cast<std::size_t>(a.rows));
    std::iota(part.a_rows.begin(), part.a_rows.end(), std::int64_t{0});
  } else {
    if (static_cast<std::int64_t>(order.size()) != a.rows) {
      throw InvalidArgument("partition_rows: the row order has " + str(order.size()) +
                            " entries for " + str(a.rows) + " rows");
    }
    std::vector<char> seen(static_cast<std::size_t>(a.rows), 0);
    for (std::size_t k = 0; k < order.size(); ++k) {
      const std::int64_t r = order[k];
      if (r < 0 || r >= a.rows || seen[static_cast<std::size_t>(r)] != 0) {
        throw InvalidArgument("partition_rows: the row order is not a permutation of 0.." +
                              str(a.rows - 1) + " (position " + str(k) + " holds " + str(r) + ")");
      }
      seen[static_cast<std::size_t>(r)] = 1;
    }
    part.a_rows = order;
  }
  std::vector<std::int64_t> weights(part.a_rows.size());
  for (std::size_t k = 0; k < weights.size(); ++k) {
    const auto r = static_cast<std::size_t>(part.a_rows[k]);
    weights[k] = static_cast<std::int64_t>(a.row_ptr[r + 1] - a.row_ptr[r]) + 1;
  }
  part.row_start = cut(weights, ranks);
  part.row_owner.assign(static_cast<std::size_t>(a.rows), 0);
  for (int p = 0; p < ranks; ++p) {
    for (std::int64_t k = part.row_start[static_cast<std::size_t>(p)];
         k < part.row_start[static_cast<std::size_t>(p) + 1]; ++k) {
      part.row_owner[static_cast<std::size_t>(part.a_rows[static_cast<std::size_t>(k)])] = p;
    }
  }
  if (a.rows == a.cols) {
    part.b_owner = part.row_owner;
    part.b_rows = part.a_rows;
    part.b_start = part.row_start;
  } else {
    part.b_rows.resize(static_cast<std::size_t>(a.cols));
    std::iota(part.b_rows.begin(), part.b_rows.end(), std::int64_t{0});
    part.b_start = cut(std::vector<std::int64_t>(static_cast<std::size_t>(a.cols), 1), ranks);
    part.b_owner.assign(static_cast<std::size_t>(a.cols), 0);
    for (int p = 0; p < ranks; ++p) {
      for (std::int64_t k = part.b_start[static_cast<std::size_t>(p)];
           k < part.b_start[static_cast<std::size_t>(p) + 1]; ++k) {
        part.b_owner[static_cast<std::size_t>(k)] = p;
      }
    }
  }
  return part;
}

template <Value T, Index I>
std::vector<CommCounts> predict(const CsrView<T, I>& pattern, const RowPartition& partition,
                                std::int64_t n) {
  if (n < 0) throw InvalidArgument("predict: n is " + str(n) + ", expected >= 0");
  validate(pattern);
  if (pattern.rows != partition.rows || pattern.cols != partition.cols) {
    throw ShapeError("predict: the pattern is " + str(pattern.rows) + "x" + str(pattern.cols) +
                     " but the partition is for " + str(partition.rows) + "x" +
                     str(partition.cols));
  }
  const auto ranks = static_cast<std::size_t>(partition.ranks);
  std::vector<CommCounts> out(ranks);
  // stamp[j] == p + 1 once rank p has counted row j of B.
  std::vector<std::int64_t> stamp(static_cast<std::size_t>(pattern.cols), 0);
  std::vector<std::int64_t> from(ranks, 0);
  for (std::size_t p = 0; p < ranks; ++p) {
    std::fill(from.begin(), from.end(), 0);
    for (std::int64_t k = partition.row_start[p]; k < partition.row_start[p + 1]; ++k) {
      const auto r = static_cast<std::size_t>(partition.a_rows[static_cast<std::size_t>(k)]);
      for (auto q = static_cast<std::int64_t>(pattern.row_ptr[r]);
           q < static_cast<std::int64_t>(pattern.row_ptr[r + 1]); ++q) {
        const auto j = static_cast<std::size_t>(pattern.col_idx[q]);
        if (stamp[j] == static_cast<std::int64_t>(p) + 1) continue;
        stamp[j] = static_cast<std::int64_t>(p) + 1;
        const auto owner = static_cast<std::size_t>(partition.b_owner[j]);
        if (owner != p) ++from[owner];
      }
    }
    for (std::size_t s = 0; s < ranks; ++s) {
      if (from[s] == 0) continue;
      out[p].rows_received += from[s];
      out[p].messages_received += 1;
      out[s].rows_sent += from[s];
      out[s].messages_sent += 1;
    }
  }
  for (CommCounts& c : out) {
    c.words_sent = c.rows_sent * n;
    c.words_received = c.rows_received * n;
  }
  return out;
}

template <Value T, Index I>
std::vector<CommCounts> predict(const CsrView<T, I>& pattern, int ranks, std::int64_t n,
                                const std::vector<std::int64_t>& order) {
  return predict(pattern, partition_rows(pattern, ranks, order), n);
}

template <Value T, Index I>
struct RowPlan<T, I>::Impl {
  detail::OwnedComm comm;
  detail::OwnedComm graph;  // the distributed graph over the exchanging ranks
  int rank = 0;
  int ranks = 1;
  std::int64_t n = 0;
  RowPartition partition;
  std::vector<std::int64_t> rows;    // of A and C here
  std::vector<std::int64_t> b_rows;  // of B here
  CsrMatrix<T, I> local_a;           // columns renumbered into `needed`
  std::vector<std::int64_t> needed;  // global rows of B the local rows name, increasing
  // Where local B row q comes from: >= 0 a row of the caller's local B, < 0 row -1 - x of the
  // receive buffer.
  std::vector<std::int64_t> source;
  std::vector<int> dests, sources;       // neighbours, increasing rank
  std::vector<std::int64_t> send_rows;   // rows of the caller's local B, grouped by dest
  std::vector<std::int64_t> send_start;  // dests.size() + 1
  std::vector<std::int64_t> recv_start;  // sources.size() + 1 (in rows)
  std::vector<T> send_buffer, recv_buffer;
  DenseMatrix<T> b;  // the local copy of B (needed x n)
  std::unique_ptr<Plan<T, I>> plan;
  CommCounts last;

  CommCounts planned() const {
    CommCounts c;
    c.rows_sent = send_start.back();
    c.rows_received = recv_start.back();
    c.words_sent = c.rows_sent * n;
    c.words_received = c.rows_received * n;
    c.messages_sent = static_cast<std::int64_t>(dests.size());
    c.messages_received = static_cast<std::int64_t>(sources.size());
    return c;
  }
};

template <Value T, Index I>
RowPlan<T, I>::RowPlan(MPI_Comm comm, const CsrView<T, I>& a, std::int64_t n,
                       const RowPlanOptions& options) {
  detail::OwnedComm owned(comm);
  const int rank = owned.rank(), ranks = owned.size();
  RowPartition partition;
  CsrMatrix<T, I> mine;
  collectively(owned.get(), [&] {
    partition = partition_rows(a, ranks, options.order);
    const std::vector<std::int64_t> rows = partition.rows_of(rank);
    std::vector<I> row_ptr(rows.size() + 1, I(0));
    std::int64_t nnz = 0;
    for (std::size_t k = 0; k < rows.size(); ++k) {
      const auto r = static_cast<std::size_t>(rows[k]);
      nnz += static_cast<std::int64_t>(a.row_ptr[r + 1] - a.row_ptr[r]);
      row_ptr[k + 1] = static_cast<I>(nnz);
    }
    std::vector<I> col_idx(static_cast<std::size_t>(nnz));
    std::vector<T> values(static_cast<std::size_t>(nnz));
    for (std::size_t k = 0; k < rows.size(); ++k) {
      const auto r = static_cast<std::size_t>(rows[k]);
      const auto p0 = static_cast<std::size_t>(a.row_ptr[r]);
      const auto len = static_cast<std::size_t>(a.row_ptr[r + 1]) - p0;
      const auto q0 = static_cast<std::size_t>(row_ptr[k]);
      std::copy_n(a.col_idx + p0, len, col_idx.begin() + static_cast<std::ptrdiff_t>(q0));
      std::copy_n(a.values + p0, len, values.begin() + static_cast<std::ptrdiff_t>(q0));
    }
    mine = CsrMatrix<T, I>(static_cast<std::int64_t>(rows.size()), a.cols, std::move(row_ptr),
                           std::move(col_idx), std::move(values));
  });
  *this = RowPlan(owned.get(), partition, mine.view(), n, options);
}

template <Value T, Index I>
RowPlan<T, I>::RowPlan(MPI_Comm comm, const RowPartition& partition, const CsrView<T, I>& local_a,
                       std::int64_t n, const RowPlanOptions& options)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.comm = detail::OwnedComm(comm);
  s.rank = s.comm.rank();
  s.ranks = s.comm.size();
  s.n = n;
  MPI_Comm c = s.comm.get();
  std::vector<std::vector<std::int64_t>> wanted(static_cast<std::size_t>(s.ranks));
  collectively(c, [&] {
    if (n < 0) throw InvalidArgument("RowPlan: n is " + str(n) + ", expected >= 0");
    if (partition.ranks != s.ranks) {
      throw InvalidArgument("RowPlan: the partition is for " + str(partition.ranks) +
                            " ranks but the communicator has " + str(s.ranks));
    }
    s.partition = partition;
    s.rows = partition.rows_of(s.rank);
    s.b_rows = partition.b_rows_of(s.rank);
    if (local_a.rows != static_cast<std::int64_t>(s.rows.size()) ||
        local_a.cols != partition.cols) {
      throw ShapeError("RowPlan: rank " + str(s.rank) + " holds a " + str(local_a.rows) + "x" +
                       str(local_a.cols) + " part of A, expected " + str(s.rows.size()) + "x" +
                       str(partition.cols));
    }
    validate(local_a);
    // The rows of B the local rows name, in increasing order: renumbering the columns by rank
    // in this list keeps every row's column order, hence its order of summation.
    const std::int64_t nnz = local_a.nnz();
    s.needed.assign(local_a.col_idx, local_a.col_idx + nnz);
    std::sort(s.needed.begin(), s.needed.end());
    s.needed.erase(std::unique(s.needed.begin(), s.needed.end()), s.needed.end());
    std::vector<I> col_idx(static_cast<std::size_t>(nnz));
    for (std::int64_t q = 0; q < nnz; ++q) {
      col_idx[static_cast<std::size_t>(q)] =
          static_cast<I>(std::lower_bound(s.needed.begin(), s.needed.end(),
                                          static_cast<std::int64_t>(local_a.col_idx[q])) -
                         s.needed.begin());
    }
    const std::size_t rp = s.rows.size() + 1;
    s.local_a =
        CsrMatrix<T, I>(local_a.rows, static_cast<std::int64_t>(s.needed.size()),
                        local_a.rows > 0 ? std::vector<I>(local_a.row_ptr, local_a.row_ptr + rp)
                                         : std::vector<I>(1, I(0)),
                        std::move(col_idx), std::vector<T>(local_a.values, local_a.values + nnz));
    for (const std::int64_t j : s.needed) {
      wanted[static_cast<std::size_t>(partition.b_owner[static_cast<std::size_t>(j)])].push_back(j);
    }
  });

  // Tell every owner which of its rows this rank needs (once, at plan time).
  const auto ranks = static_cast<std::size_t>(s.ranks);
  const auto me = static_cast<std::size_t>(s.rank);
  std::vector<std::int64_t> want_count(ranks, 0), give_count(ranks, 0);
  for (std::size_t p = 0; p < ranks; ++p) {
    want_count[p] = p == me ? 0 : static_cast<std::int64_t>(wanted[p].size());
  }
  check(MPI_Alltoall(want_count.data(), 1, MPI_INT64_T, give_count.data(), 1, MPI_INT64_T, c),
        "MPI_Alltoall");
  std::vector<int> scount(ranks), sdispl(ranks), rcount(ranks), rdispl(ranks);
  std::vector<std::int64_t> requests, asked;
  collectively(c, [&] {
    std::int64_t so = 0, ro = 0;
    for (std::size_t p = 0; p < ranks; ++p) {
      scount[p] = to_count(want_count[p], "a request list");
      sdispl[p] = to_count(so, "the request lists");
      so += want_count[p];
      rcount[p] = to_count(give_count[p], "a request list");
      rdispl[p] = to_count(ro, "the request lists");
      ro += give_count[p];
      if (p != me) requests.insert(requests.end(), wanted[p].begin(), wanted[p].end());
    }
    asked.resize(static_cast<std::size_t>(ro));
  });
  check(MPI_Alltoallv(requests.data(), scount.data(), sdispl.data(), MPI_INT64_T, asked.data(),
                      rcount.data(), rdispl.data(), MPI_INT64_T, c),
        "MPI_Alltoallv");

  // Position of each global row of B within its owner's rows.
  std::vector<std::int64_t> position(static_cast<std::size_t>(partition.cols), 0);
  for (std::size_t p = 0; p < ranks; ++p) {
    for (std::int64_t k = partition.b_start[p]; k < partition.b_start[p + 1]; ++k) {
      position[static_cast<std::size_t>(partition.b_rows[static_cast<std::size_t>(k)])] =
          k - partition.b_start[p];
    }
  }
  s.send_start.push_back(0);
  for (std::size_t p = 0; p < ranks; ++p) {
    if (give_count[p] == 0) continue;
    s.dests.push_back(static_cast<int>(p));
    for (int k = 0; k < rcount[p]; ++k) {
      const std::int64_t j = asked[static_cast<std::size_t>(rdispl[p] + k)];
      s.send_rows.push_back(position[static_cast<std::size_t>(j)]);
    }
    s.send_start.push_back(static_cast<std::int64_t>(s.send_rows.size()));
  }
  s.recv_start.push_back(0);
  std::vector<std::int64_t> recv_first(ranks, 0);
  for (std::size_t p = 0; p < ranks; ++p) {
    if (p == me || wanted[p].empty()) continue;
    s.sources.push_back(static_cast<int>(p));
    recv_first[p] = s.recv_start.back();
    s.recv_start.push_back(s.recv_start.back() + static_cast<std::int64_t>(wanted[p].size()));
  }
  std::vector<std::int64_t> taken(ranks, 0);
  s.source.resize(s.needed.size());
  for (std::size_t q = 0; q < s.needed.size(); ++q) {
    const auto j = static_cast<std::size_t>(s.needed[q]);
    const auto owner = static_cast<std::size_t>(partition.b_owner[j]);
    s.source[q] = owner == me ? position[j] : -1 - (recv_first[owner] + taken[owner]++);
  }

  MPI_Comm graph = MPI_COMM_NULL;
  const int dummy = 0;  // MPI wants a valid pointer even for no neighbours
  check(MPI_Dist_graph_create_adjacent(
            c, static_cast<int>(s.sources.size()), s.sources.empty() ? &dummy : s.sources.data(),
            MPI_UNWEIGHTED, static_cast<int>(s.dests.size()),
            s.dests.empty() ? &dummy : s.dests.data(), MPI_UNWEIGHTED, MPI_INFO_NULL, 0, &graph),
        "MPI_Dist_graph_create_adjacent");
  s.graph = detail::OwnedComm::adopt(graph);

  collectively(c, [&] {
    to_count(s.send_start.back() * n, "the rows of B sent");
    to_count(s.recv_start.back() * n, "the rows of B received");
    s.send_buffer.resize(static_cast<std::size_t>(s.send_start.back() * n));
    s.recv_buffer.resize(static_cast<std::size_t>(s.recv_start.back() * n));
    s.b = DenseMatrix<T>(static_cast<std::int64_t>(s.needed.size()), n);
    PlanOptions po;
    po.threads = options.threads;
    // The CPU sparse kernel sums each row in its stored order whatever the threads or the
    // rows around it: that is what makes the distributed result equal the single-process one.
    po.policy.force = Kernel::Sparse;
    po.policy.allow_gpu = false;
    s.plan =
        std::make_unique<Plan<T, I>>(BatchView<T, I>({MatrixView<T, I>(s.local_a.view())}), n, po);
  });
}

template <Value T, Index I>
RowPlan<T, I>::~RowPlan() = default;
template <Value T, Index I>
RowPlan<T, I>::RowPlan(RowPlan&&) noexcept = default;
template <Value T, Index I>
RowPlan<T, I>& RowPlan<T, I>::operator=(RowPlan&&) noexcept = default;

template <Value T, Index I>
int RowPlan<T, I>::rank() const noexcept {
  return impl_->rank;
}
template <Value T, Index I>
int RowPlan<T, I>::ranks() const noexcept {
  return impl_->ranks;
}
template <Value T, Index I>
std::int64_t RowPlan<T, I>::n() const noexcept {
  return impl_->n;
}
template <Value T, Index I>
const RowPartition& RowPlan<T, I>::partition() const noexcept {
  return impl_->partition;
}
template <Value T, Index I>
const std::vector<std::int64_t>& RowPlan<T, I>::local_rows() const noexcept {
  return impl_->rows;
}
template <Value T, Index I>
const std::vector<std::int64_t>& RowPlan<T, I>::local_b_rows() const noexcept {
  return impl_->b_rows;
}
template <Value T, Index I>
const CsrMatrix<T, I>& RowPlan<T, I>::local_a() const noexcept {
  return impl_->local_a;
}
template <Value T, Index I>
const CommCounts& RowPlan<T, I>::counters() const noexcept {
  return impl_->last;
}
template <Value T, Index I>
CommCounts RowPlan<T, I>::planned() const noexcept {
  return impl_->planned();
}

namespace {

template <class T>
void copy_row(const DenseView<const T>& from, std::int64_t r, T* to) {
  if (from.layout == Layout::RowMajor) {
    if (from.cols > 0) std::memcpy(to, from.data + r * from.ld, sizeof(T) * from.cols);
  } else {
    for (std::int64_t j = 0; j < from.cols; ++j) to[j] = from(r, j);
  }
}

}  // namespace

template <Value T, Index I>
void RowPlan<T, I>::execute(const DenseView<T>& local_c, const DenseView<const T>& local_b, T alpha,
                            T beta) {
  Impl& s = *impl_;
  MPI_Comm c = s.comm.get();
  collectively(c, [&] {
    validate(DenseView<const T>(local_b), "RowPlan::execute: local B");
    validate(DenseView<const T>(local_c), "RowPlan::execute: local C");
    const auto want_b = static_cast<std::int64_t>(s.b_rows.size());
    const auto want_c = static_cast<std::int64_t>(s.rows.size());
    if (local_b.rows != want_b || local_b.cols != s.n) {
      throw ShapeError("RowPlan::execute: rank " + str(s.rank) + ": local B is " +
                       str(local_b.rows) + "x" + str(local_b.cols) + ", expected " + str(want_b) +
                       "x" + str(s.n));
    }
    if (local_c.rows != want_c || local_c.cols != s.n) {
      throw ShapeError("RowPlan::execute: rank " + str(s.rank) + ": local C is " +
                       str(local_c.rows) + "x" + str(local_c.cols) + ", expected " + str(want_c) +
                       "x" + str(s.n));
    }
  });
  const std::int64_t n = s.n;
  for (std::size_t k = 0; k < s.send_rows.size(); ++k) {
    copy_row(local_b, s.send_rows[k], s.send_buffer.data() + static_cast<std::int64_t>(k) * n);
  }
  std::vector<int> scount(s.dests.size()), sdispl(s.dests.size());
  std::vector<int> rcount(s.sources.size()), rdispl(s.sources.size());
  CommCounts counted;
  for (std::size_t d = 0; d < s.dests.size(); ++d) {
    scount[d] = static_cast<int>((s.send_start[d + 1] - s.send_start[d]) * n);
    sdispl[d] = static_cast<int>(s.send_start[d] * n);
    counted.words_sent += scount[d];
    counted.rows_sent += s.send_start[d + 1] - s.send_start[d];
    counted.messages_sent += 1;
  }
  for (std::size_t p = 0; p < s.sources.size(); ++p) {
    rcount[p] = static_cast<int>((s.recv_start[p + 1] - s.recv_start[p]) * n);
    rdispl[p] = static_cast<int>(s.recv_start[p] * n);
    counted.words_received += rcount[p];
    counted.rows_received += s.recv_start[p + 1] - s.recv_start[p];
    counted.messages_received += 1;
  }
  check(MPI_Neighbor_alltoallv(s.send_buffer.data(), scount.data(), sdispl.data(),
                               detail::datatype<T>(), s.recv_buffer.data(), rcount.data(),
                               rdispl.data(), detail::datatype<T>(), s.graph.get()),
        "MPI_Neighbor_alltoallv");
  s.last = counted;
  T* b = s.b.values().data();
  for (std::size_t q = 0; q < s.needed.size(); ++q) {
    T* to = b + static_cast<std::int64_t>(q) * n;
    const std::int64_t from = s.source[q];
    if (from >= 0) {
      copy_row(local_b, from, to);
    } else if (n > 0) {
      std::memcpy(to, s.recv_buffer.data() + (-1 - from) * n, sizeof(T) * n);
    }
  }
  s.plan->execute(DenseBatchView<T>::single(local_c),
                  DenseBatchView<const T>::single(std::as_const(s.b).view()), alpha, beta);
}

template <Value T, Index I>
DenseMatrix<T> RowPlan<T, I>::execute(const DenseView<const T>& local_b, T alpha) {
  DenseMatrix<T> out(static_cast<std::int64_t>(impl_->rows.size()), impl_->n);
  execute(out.view(), local_b, alpha, T(0));
  return out;
}

template <Value T, Index I>
DenseMatrix<T> RowPlan<T, I>::local_b_of(const DenseView<const T>& b) const {
  const Impl& s = *impl_;
  validate(b, "RowPlan::local_b_of: B");
  if (b.rows != s.partition.cols || b.cols != s.n) {
    throw ShapeError("RowPlan::local_b_of: B is " + str(b.rows) + "x" + str(b.cols) +
                     ", expected " + str(s.partition.cols) + "x" + str(s.n));
  }
  DenseMatrix<T> out(static_cast<std::int64_t>(s.b_rows.size()), s.n);
  for (std::size_t k = 0; k < s.b_rows.size(); ++k) {
    copy_row(b, s.b_rows[k], out.values().data() + static_cast<std::int64_t>(k) * s.n);
  }
  return out;
}

template <Value T, Index I>
DenseMatrix<T> RowPlan<T, I>::gather(const DenseView<const T>& local_c, int root) const {
  const Impl& s = *impl_;
  MPI_Comm c = s.comm.get();
  const std::int64_t n = s.n;
  std::vector<T> send;
  std::vector<int> counts(static_cast<std::size_t>(s.ranks)), displs(counts.size());
  collectively(c, [&] {
    if (root < 0 || root >= s.ranks) {
      throw InvalidArgument("RowPlan::gather: root " + str(root) +
                            " is not a rank of a communicator of " + str(s.ranks));
    }
    validate(local_c, "RowPlan::gather: local C");
    if (local_c.rows != static_cast<std::int64_t>(s.rows.size()) || local_c.cols != n) {
      throw ShapeError("RowPlan::gather: rank " + str(s.rank) + ": local C is " +
                       str(local_c.rows) + "x" + str(local_c.cols) + ", expected " +
                       str(s.rows.size()) + "x" + str(n));
    }
    to_count(s.partition.rows * n, "the gathered C");
    for (std::size_t p = 0; p < counts.size(); ++p) {
      counts[p] = static_cast<int>((s.partition.row_start[p + 1] - s.partition.row_start[p]) * n);
      displs[p] = static_cast<int>(s.partition.row_start[p] * n);
    }
    send.resize(static_cast<std::size_t>(local_c.rows * n));
    for (std::int64_t r = 0; r < local_c.rows; ++r) copy_row(local_c, r, send.data() + r * n);
  });
  const bool here = s.rank == root;
  std::vector<T> all(here ? static_cast<std::size_t>(s.partition.rows * n) : 0);
  check(MPI_Gatherv(send.data(), static_cast<int>(send.size()), detail::datatype<T>(), all.data(),
                    counts.data(), displs.data(), detail::datatype<T>(), root, c),
        "MPI_Gatherv");
  if (!here) return DenseMatrix<T>();
  DenseMatrix<T> out(s.partition.rows, n);
  for (std::size_t k = 0; k < s.partition.a_rows.size(); ++k) {
    if (n > 0) {
      std::memcpy(out.values().data() + s.partition.a_rows[k] * n,
                  all.data() + static_cast<std::int64_t>(k) * n, sizeof(T) * n);
    }
  }
  return out;
}

#define SPBMM_INSTANTIATE(T, I)                                                             \
  template RowPartition partition_rows<T, I>(const CsrView<T, I>&, int,                     \
                                             const std::vector<std::int64_t>&);             \
  template std::vector<CommCounts> predict<T, I>(const CsrView<T, I>&, const RowPartition&, \
                                                 std::int64_t);                             \
  template std::vector<CommCounts> predict<T, I>(const CsrView<T, I>&, int, std::int64_t,   \
                                                 const std::vector<std::int64_t>&);         \
  template class RowPlan<T, I>;
SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE

}  // namespace spbmm::mpi
