// Fuzz target: bmm on small random batches decoded from the fuzz bytes: ragged shapes, CSR, COO
// and dense entries (any layout and leading dimension), op N/T, alpha/beta, broadcasting, every
// kernel choice, and the bmm_into, bmm and Plan entry points. Results are compared with the
// reference kernel and with a plain product computed here. Some cases are made invalid on
// purpose (mismatched shapes, aliasing, bad options, malformed entries): those must raise the
// documented error and leave every buffer untouched.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_util.hpp"
#include "product_check.hpp"
#include "spbmm/bmm.hpp"
#include "spbmm/error.hpp"
#include "spbmm/plan.hpp"
#include "spbmm/sparse.hpp"

namespace {

using spbmm::Kernel;
using spbmm::Layout;
using spbmm::Op;
using spbmm::fuzz::close_enough;
using spbmm::fuzz::Decoder;
using spbmm::fuzz::ExactDense;
using spbmm::fuzz::fail;

// Ways to make a case invalid on purpose.
enum class Break : std::uint8_t {
  None,
  InnerDim,     // op(B_i) has one row too many
  CShape,       // C_i has one row too many
  CCount,       // C has one entry too few
  CAliasesB,    // C_i shares memory with B_i
  CAliasesC,    // two C entries share memory
  CAliasesA,    // C_i shares memory with a dense A_i
  BadA,         // an A entry breaks its format's rules
  BadLd,        // a B entry's leading dimension is too small
  BadThreads,   // options.threads < 0
  BadPerEntry,  // a plan's per-entry override names an entry that does not exist
};

template <class T, class I>
struct Case {
  // Storage for A (views point into these).
  std::deque<ExactDense<T>> a_dense;
  std::deque<std::vector<I>> a_index;
  std::deque<std::vector<T>> a_values;
  std::vector<spbmm::MatrixView<T, I>> a;
  std::vector<std::vector<std::vector<double>>> a_full;  // op(A_i) as plain rows, for checking
  std::vector<std::int64_t> m, k;                        // op(A_i) is m x k
  // B: op(B_j) is k x n.
  std::deque<ExactDense<T>> b;
  std::vector<spbmm::DenseView<const T>> b_views;
  std::vector<std::int64_t> n;
  // C: one per product.
  std::deque<ExactDense<T>> c;
  std::vector<spbmm::DenseView<T>> c_views;
  Op op_a = Op::N, op_b = Op::N;
  T alpha = T(1), beta = T(0);
  bool exact = true;
  std::deque<std::vector<T>> extra;  // storage of operands damaged on purpose
};

template <class T>
T value(Decoder& d, bool exact) {
  return static_cast<T>(exact ? d.small_value() : d.any_value());
}

// One A entry with op(A) of shape m x k, in a format chosen by the bytes.
template <class T, class I>
void make_a(Case<T, I>& cs, Decoder& d, std::int64_t m, std::int64_t k) {
  const std::int64_t rows = cs.op_a == Op::N ? m : k;
  const std::int64_t cols = cs.op_a == Op::N ? k : m;
  std::vector<std::vector<double>> full(static_cast<std::size_t>(rows),
                                        std::vector<double>(static_cast<std::size_t>(cols), 0.0));
  const int format = d.byte() % 3;
  const int density = d.byte();
  auto present = [&] { return d.byte() <= density; };
  if (format == 0) {
    ExactDense<T>& x = cs.a_dense.emplace_back(
        rows, cols, d.flag() ? Layout::ColMajor : Layout::RowMajor, d.range(0, 2));
    for (auto& v : x.buf) v = T(0);
    for (std::int64_t i = 0; i < rows; ++i) {
      for (std::int64_t j = 0; j < cols; ++j) {
        if (!present()) continue;
        const T v = value<T>(d, cs.exact);
        x.view(i, j) = v;
        full[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] = static_cast<double>(v);
      }
    }
    cs.a.emplace_back(x.cview());
  } else if (format == 1) {
    std::vector<I>& rp = cs.a_index.emplace_back();
    std::vector<I>& ci = cs.a_index.emplace_back();
    std::vector<T>& vals = cs.a_values.emplace_back();
    rp.push_back(0);
    for (std::int64_t i = 0; i < rows; ++i) {
      for (std::int64_t j = 0; j < cols; ++j) {
        if (!present()) continue;
        const T v = value<T>(d, cs.exact);
        ci.push_back(static_cast<I>(j));
        vals.push_back(v);
        full[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] = static_cast<double>(v);
      }
      rp.push_back(static_cast<I>(ci.size()));
    }
    cs.a.emplace_back(
        spbmm::CsrView<T, I>{rows, cols, rows > 0 ? rp.data() : nullptr, ci.data(), vals.data()});
  } else {
    std::vector<I>& ri = cs.a_index.emplace_back();
    std::vector<I>& ci = cs.a_index.emplace_back();
    std::vector<T>& vals = cs.a_values.emplace_back();
    // Triplets in any order, duplicates allowed (they add up).
    const std::int64_t count =
        rows * cols == 0 ? 0 : d.range(0, std::min<std::int64_t>(rows * cols * 2, 200));
    for (std::int64_t t = 0; t < count; ++t) {
      const std::int64_t i = d.range(0, rows - 1);
      const std::int64_t j = d.range(0, cols - 1);
      const T v = value<T>(d, cs.exact);
      ri.push_back(static_cast<I>(i));
      ci.push_back(static_cast<I>(j));
      vals.push_back(v);
      full[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] += static_cast<double>(v);
    }
    cs.a.emplace_back(spbmm::CooView<T, I>{rows, cols, count, ri.data(), ci.data(), vals.data()});
  }
  // Keep op(A) as m x k.
  std::vector<std::vector<double>> op(static_cast<std::size_t>(m),
                                      std::vector<double>(static_cast<std::size_t>(k), 0.0));
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < k; ++j) {
      op[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] =
          cs.op_a == Op::N ? full[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)]
                           : full[static_cast<std::size_t>(j)][static_cast<std::size_t>(i)];
    }
  }
  cs.a_full.push_back(std::move(op));
  cs.m.push_back(m);
  cs.k.push_back(k);
}

// A B entry with op(B) of shape k x n.
template <class T, class I>
void make_b(Case<T, I>& cs, Decoder& d, std::int64_t k, std::int64_t n) {
  const std::int64_t rows = cs.op_b == Op::N ? k : n;
  const std::int64_t cols = cs.op_b == Op::N ? n : k;
  ExactDense<T>& x =
      cs.b.emplace_back(rows, cols, d.flag() ? Layout::ColMajor : Layout::RowMajor, d.range(0, 2));
  for (auto& v : x.buf) v = value<T>(d, cs.exact);
  cs.b_views.push_back(x.cview());
  cs.n.push_back(n);
}

template <class T, class I>
double op_b_at(const Case<T, I>& cs, std::size_t j, std::int64_t r, std::int64_t c) {
  const auto& v = cs.b_views[j];
  return static_cast<double>(cs.op_b == Op::N ? v(r, c) : v(c, r));
}

// The expected C_p, computed plainly in double.
template <class T, class I>
std::vector<double> expected(const Case<T, I>& cs, std::size_t p, const std::vector<T>& c0,
                             const spbmm::DenseView<T>& cv) {
  const std::size_t ia = cs.a.size() == 1 ? 0 : p;
  const std::size_t ib = cs.b_views.size() == 1 ? 0 : p;
  const auto& full = cs.a_full[ia];
  std::vector<double> out(c0.size());
  for (std::size_t x = 0; x < c0.size(); ++x) out[x] = static_cast<double>(c0[x]);
  for (std::int64_t i = 0; i < cv.rows; ++i) {
    for (std::int64_t j = 0; j < cv.cols; ++j) {
      double sum = 0;
      if (cs.alpha != T(0)) {
        for (std::int64_t q = 0; q < cs.k[ia]; ++q) {
          sum += full[static_cast<std::size_t>(i)][static_cast<std::size_t>(q)] *
                 op_b_at(cs, ib, q, j);
        }
      }
      const std::size_t at = static_cast<std::size_t>(&cv(i, j) - cv.data);
      const double old = cs.beta == T(0) ? 0.0 : static_cast<double>(cs.beta) * out[at];
      out[at] = static_cast<double>(cs.alpha) * sum + old;
    }
  }
  return out;
}

// Bytes of every buffer the case owns, to prove that a rejected call changed nothing.
template <class T, class I>
std::vector<unsigned char> snapshot(const Case<T, I>& cs) {
  std::vector<unsigned char> s;
  auto add = [&](const auto& buf) {
    const auto* p = reinterpret_cast<const unsigned char*>(buf.data());
    s.insert(s.end(), p, p + buf.size() * sizeof(buf[0]));
  };
  for (const auto& x : cs.a_dense) add(x.buf);
  for (const auto& x : cs.a_index) add(x);
  for (const auto& x : cs.a_values) add(x);
  for (const auto& x : cs.b) add(x.buf);
  for (const auto& x : cs.c) add(x.buf);
  for (const auto& x : cs.extra) add(x);
  return s;
}

template <class T, class I>
void run(Decoder& d, std::uint8_t sel) {
  Case<T, I> cs;
  const int api = (sel >> 2) % 4;  // 0 bmm_into, 1 bmm, 2 Plan::execute into C, 3 Plan::execute
  cs.exact = d.byte() >= 24;
  const std::int64_t max_dim = d.byte() < 40 ? 40 : 7;
  const int mode = d.byte() % 3;  // 0: A_i with B_i, 1: one A, 2: one B
  const std::int64_t batch = d.range(0, 4);
  const std::int64_t na = mode == 1 ? 1 : batch;
  const std::int64_t nb = mode == 2 ? 1 : batch;
  // As the library broadcasts: a batch of one is used with every entry of the other.
  const std::int64_t products = nb == 1 ? na : nb;
  cs.op_a = d.flag() ? Op::T : Op::N;
  cs.op_b = d.flag() ? Op::T : Op::N;
  static constexpr double kScalars[] = {1, 0, -1, 0.5, 2, -1.5, 0.25};
  cs.alpha = static_cast<T>(kScalars[d.byte() % 7]);
  cs.beta = static_cast<T>(kScalars[d.byte() % 7]);
  static constexpr Kernel kKernels[] = {Kernel::Auto,  Kernel::Reference, Kernel::Sparse,
                                        Kernel::Dense, Kernel::Eigen,     Kernel::Gpu};
  const Kernel kernel = kKernels[d.byte() % 6];
  const int threads = static_cast<int>(d.byte() % 3);
  const Layout out_layout = d.flag() ? Layout::ColMajor : Layout::RowMajor;
  const std::uint8_t break_sel = d.byte();
  Break brk = break_sel < 200 ? Break::None : static_cast<Break>(1 + break_sel % 10);

  // Shapes: broadcasting shares k (one B) or uses one A's shape for every product.
  const std::int64_t common_k = d.range(0, max_dim);
  const std::int64_t common_n = d.range(0, max_dim);
  for (std::int64_t i = 0; i < na; ++i) {
    const std::int64_t m = d.range(0, max_dim);
    const std::int64_t k = mode == 2 ? common_k : d.range(0, max_dim);
    make_a(cs, d, m, k);
  }
  for (std::int64_t j = 0; j < nb; ++j) {
    const std::size_t ia = na == 1 ? 0 : static_cast<std::size_t>(j);
    const std::int64_t n = mode == 2 ? common_n : d.range(0, max_dim);
    make_b(cs, d, mode == 2 ? common_k : cs.k[ia], n);
  }
  for (std::int64_t p = 0; p < products; ++p) {
    const std::size_t ia = na == 1 ? 0 : static_cast<std::size_t>(p);
    const std::size_t ib = nb == 1 ? 0 : static_cast<std::size_t>(p);
    ExactDense<T>& x = cs.c.emplace_back(
        cs.m[ia], cs.n[ib], d.flag() ? Layout::ColMajor : Layout::RowMajor, d.range(0, 2));
    // With beta == 0, C must not be read: NaN there must not reach the result.
    for (auto& v : x.buf) {
      v = cs.beta == T(0) && d.byte() < 64 ? std::numeric_limits<T>::quiet_NaN()
                                           : value<T>(d, true);
    }
    cs.c_views.push_back(x.view);
  }

  // Apply the requested damage where the case allows it; otherwise run it as a valid case.
  bool applied = false;
  const std::size_t victim = products > 0 ? static_cast<std::size_t>(d.range(0, products - 1)) : 0;
  auto& extra = cs.extra;
  switch (brk) {
    case Break::None:
      break;
    case Break::InnerDim:
      if (products > 0) {
        const std::size_t ib = nb == 1 ? 0 : victim;
        auto& v = cs.b_views[ib];
        // One more row of op(B): a fresh, larger buffer.
        const std::int64_t rows = cs.op_b == Op::N ? v.rows + 1 : v.rows;
        const std::int64_t cols = cs.op_b == Op::N ? v.cols : v.cols + 1;
        auto& buf = extra.emplace_back(static_cast<std::size_t>(rows * cols), T(1));
        v = spbmm::DenseView<const T>(buf.empty() ? nullptr : buf.data(), rows, cols);
        applied = true;
      }
      break;
    case Break::CShape:
      if (products > 0) {
        auto& v = cs.c_views[victim];
        auto& buf = extra.emplace_back(static_cast<std::size_t>((v.rows + 1) * v.cols), T(7));
        v = spbmm::DenseView<T>(buf.empty() ? nullptr : buf.data(), v.rows + 1, v.cols);
        applied = true;
      }
      break;
    case Break::CCount:
      if (products > 0) {
        cs.c_views.pop_back();
        applied = true;
      }
      break;
    case Break::CAliasesB:
      if (products > 0) {
        const std::size_t ib = nb == 1 ? 0 : victim;
        auto& cv = cs.c_views[victim];
        const auto& bv = cs.b_views[ib];
        if (!cv.empty() && !bv.empty()) {
          // C_i placed over B's storage, in a buffer big enough for both.
          const std::size_t cn =
              static_cast<std::size_t>((cv.layout == Layout::RowMajor ? cv.rows : cv.cols) * cv.ld);
          auto& buf = extra.emplace_back(std::max(cn, cs.b[ib].buf.size()), T(0));
          std::copy(cs.b[ib].buf.begin(), cs.b[ib].buf.end(), buf.begin());
          cs.b_views[ib].data = buf.data();
          cv.data = buf.data();
          applied = true;
        }
      }
      break;
    case Break::CAliasesC:
      if (products > 1) {
        const std::size_t other = (victim + 1) % static_cast<std::size_t>(products);
        auto& cv = cs.c_views[victim];
        const auto& ov = cs.c_views[other];
        if (!cv.empty() && !ov.empty() && cv.rows == ov.rows && cv.cols == ov.cols &&
            cv.layout == ov.layout && cv.ld == ov.ld) {
          cv.data = ov.data;
          applied = true;
        }
      }
      break;
    case Break::CAliasesA:
      if (products > 0) {
        const std::size_t ia = na == 1 ? 0 : victim;
        auto& cv = cs.c_views[victim];
        if (const auto* av = std::get_if<spbmm::DenseView<const T>>(&cs.a[ia]);
            av != nullptr && !av->empty() && !cv.empty()) {
          const std::size_t cn =
              static_cast<std::size_t>((cv.layout == Layout::RowMajor ? cv.rows : cv.cols) * cv.ld);
          const std::size_t an = static_cast<std::size_t>(
              (av->layout == Layout::RowMajor ? av->rows : av->cols) * av->ld);
          auto& buf = extra.emplace_back(std::max(cn, an), T(0));
          std::copy(av->data,
                    av->data + an -
                        (av->layout == Layout::RowMajor ? av->ld - av->cols : av->ld - av->rows),
                    buf.begin());
          auto copy = *av;
          copy.data = buf.data();
          cs.a[ia] = copy;
          cv.data = buf.data();
          applied = true;
        }
      }
      break;
    case Break::BadA:
      if (na > 0) {
        const std::size_t ia = static_cast<std::size_t>(d.range(0, na - 1));
        if (auto* v = std::get_if<spbmm::CsrView<T, I>>(&cs.a[ia]); v != nullptr && v->nnz() > 0) {
          auto& ci = cs.a_index.emplace_back(v->col_idx, v->col_idx + v->nnz());
          ci[static_cast<std::size_t>(d.range(0, v->nnz() - 1))] = static_cast<I>(v->cols);
          v->col_idx = ci.data();
          applied = true;
        } else if (auto* w = std::get_if<spbmm::CooView<T, I>>(&cs.a[ia]);
                   w != nullptr && w->nnz > 0) {
          auto& ri = cs.a_index.emplace_back(w->row_idx, w->row_idx + w->nnz);
          ri[static_cast<std::size_t>(d.range(0, w->nnz - 1))] = static_cast<I>(-1);
          w->row_idx = ri.data();
          applied = true;
        } else if (auto* x = std::get_if<spbmm::DenseView<const T>>(&cs.a[ia]);
                   x != nullptr && !x->empty()) {
          x->ld = (x->layout == Layout::RowMajor ? x->cols : x->rows) - 1;
          applied = true;
        }
      }
      break;
    case Break::BadLd:
      if (nb > 0) {
        auto& v = cs.b_views[static_cast<std::size_t>(d.range(0, nb - 1))];
        if (!v.empty()) {
          v.ld = (v.layout == Layout::RowMajor ? v.cols : v.rows) - 1;
          applied = true;
        }
      }
      break;
    case Break::BadThreads:
      applied = true;
      break;
    case Break::BadPerEntry:
      applied = api >= 2;
      break;
  }
  // Damage to C only matters where the caller passes C.
  const bool c_damage = brk == Break::CShape || brk == Break::CCount || brk == Break::CAliasesB ||
                        brk == Break::CAliasesC || brk == Break::CAliasesA;
  if (c_damage && api != 0 && api != 2) applied = false;
  if (!applied) brk = Break::None;

  spbmm::BatchView<T, I> a(cs.a);
  spbmm::DenseBatchView<const T> b(cs.b_views);
  spbmm::DenseBatchView<T> c(cs.c_views);
  spbmm::Options opt;
  opt.op_a = cs.op_a;
  opt.op_b = cs.op_b;
  opt.kernel = kernel;
  opt.threads = brk == Break::BadThreads ? -1 : threads;
  opt.out_layout = out_layout;
  spbmm::PlanOptions po;
  po.op_a = cs.op_a;
  po.op_b = cs.op_b;
  po.threads = opt.threads;
  po.policy.force = kernel;
  if (na > 0 && d.flag()) {
    po.policy.per_entry.emplace_back(static_cast<std::size_t>(d.range(0, na - 1)),
                                     kKernels[d.byte() % 5]);
  }
  if (brk == Break::BadPerEntry)
    po.policy.per_entry.emplace_back(static_cast<std::size_t>(na), Kernel::Sparse);

  std::vector<std::vector<T>> c0;
  for (const auto& x : cs.c) c0.push_back(x.buf);
  const std::vector<unsigned char> before = snapshot(cs);

  std::optional<spbmm::DenseBatch<T>> returned;
  bool gpu_missing = false;
  try {
    switch (api) {
      case 0:
        spbmm::bmm_into<T, I>(c, a, b, cs.alpha, cs.beta, opt);
        break;
      case 1:
        returned.emplace(spbmm::bmm<T, I>(a, b, opt, cs.alpha));
        break;
      case 2: {
        std::vector<std::int64_t> n_hint(static_cast<std::size_t>(na));
        for (std::int64_t i = 0; i < na; ++i)
          n_hint[static_cast<std::size_t>(i)] =
              cs.n.empty() ? 0 : cs.n[static_cast<std::size_t>(nb == 1 ? 0 : i)];
        const spbmm::Plan<T, I> plan(a, n_hint, po);
        (void)plan.explain();
        plan.execute(c, b, cs.alpha, cs.beta);
        break;
      }
      default: {
        const spbmm::Plan<T, I> plan(a, cs.n.empty() ? 0 : cs.n[0], po);
        returned.emplace(plan.execute(b, cs.alpha, out_layout));
        break;
      }
    }
  } catch (const spbmm::DeviceError&) {
    gpu_missing = true;
  } catch (const spbmm::NotCompiled&) {
    gpu_missing = true;
  } catch (const spbmm::Error& e) {
    if (brk == Break::None) fail(std::string("a valid case was rejected: ") + e.what());
    if (snapshot(cs) != before) fail(std::string("a rejected call changed a buffer: ") + e.what());
    return;
  }
  if (gpu_missing) {
    // Forcing the GPU without one must fail before anything is written.
    if (kernel != Kernel::Gpu) fail("DeviceError or NotCompiled without a GPU request");
    if (snapshot(cs) != before) fail("a failed GPU request changed a buffer");
    return;
  }
  if (brk != Break::None && brk != Break::BadPerEntry) {
    fail("an invalid case was accepted (damage " + std::to_string(static_cast<int>(brk)) + ")");
  }
  if (brk == Break::BadPerEntry) fail("a per-entry override beyond the batch was accepted");

  // Compare with the plain product and with the reference kernel.
  const bool compare = cs.exact || cs.alpha == T(0);
  if (returned) {
    if (returned->size() != static_cast<std::size_t>(products))
      fail("bmm returned the wrong number of entries");
    const T beta = cs.beta;
    cs.beta = T(0);
    for (std::size_t p = 0; p < returned->size(); ++p) {
      const auto view = returned->entry(p);
      const std::size_t ia = na == 1 ? 0 : p;
      const std::size_t ib = nb == 1 ? 0 : p;
      if (view.rows != cs.m[ia] || view.cols != cs.n[ib]) fail("bmm returned a wrong shape");
      std::vector<T> zero(static_cast<std::size_t>(view.rows * view.cols), T(0));
      const auto want = expected(
          cs, p, zero, spbmm::DenseView<T>(zero.data(), view.rows, view.cols, view.layout));
      if (!compare) continue;
      for (std::int64_t i = 0; i < view.rows; ++i) {
        for (std::int64_t j = 0; j < view.cols; ++j) {
          const std::size_t at = static_cast<std::size_t>(
              view.layout == Layout::RowMajor ? i * view.cols + j : i + j * view.rows);
          if (!close_enough(view(i, j), static_cast<T>(want[at])))
            fail("bmm result differs from the plain product");
        }
      }
    }
    cs.beta = beta;
    return;
  }
  // Reference kernel on fresh copies of C.
  std::deque<std::vector<T>> ref_bufs;
  std::vector<spbmm::DenseView<T>> ref_views;
  for (std::size_t p = 0; p < cs.c.size(); ++p) {
    auto& buf = ref_bufs.emplace_back(c0[p]);
    auto v = cs.c_views[p];
    v.data = buf.empty() ? nullptr : buf.data();
    ref_views.push_back(v);
  }
  spbmm::Options ref_opt = opt;
  ref_opt.kernel = Kernel::Reference;
  spbmm::bmm_into<T, I>(spbmm::DenseBatchView<T>(ref_views), a, b, cs.alpha, cs.beta, ref_opt);
  if (!compare) return;
  for (std::size_t p = 0; p < cs.c.size(); ++p) {
    const auto want = expected(cs, p, c0[p], cs.c_views[p]);
    for (std::size_t x = 0; x < want.size(); ++x) {
      if (!close_enough(cs.c[p].buf[x], static_cast<T>(want[x]))) {
        fail("product " + std::to_string(p) + " differs from the plain product at " +
             std::to_string(x) + " (kernel " + spbmm::to_string(kernel) + ")");
      }
      if (!close_enough(ref_bufs[p][x], static_cast<T>(want[x]))) {
        fail("the reference kernel differs from the plain product at " + std::to_string(x));
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Decoder d(data, size);
  const std::uint8_t sel = d.byte();
  switch (sel & 3) {
    case 0:
      run<float, std::int32_t>(d, sel);
      break;
    case 1:
      run<float, std::int64_t>(d, sel);
      break;
    case 2:
      run<double, std::int32_t>(d, sel);
      break;
    default:
      run<double, std::int64_t>(d, sel);
      break;
  }
  return 0;
}
