// Plans: the public API over the dispatcher's engine, one engine per op(A).
#include "spbmm/plan.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/checks.hpp"
#include "dispatch/checks.hpp"
#include "dispatch/engine.hpp"
#include "spbmm/error.hpp"

namespace spbmm {

template <Value T, Index I>
struct Plan<T, I>::Impl {
  BatchView<T, I> a;
  std::vector<std::int64_t> n;
  PlanOptions options;
  std::vector<dispatch::Region> a_regions;  // sorted, for the aliasing checks
  dispatch::Span a_span;
  // One engine per op(A), each built at most once: op_a's when the plan is made, the other
  // then too (both_ops) or on its first execute.
  struct ForOp {
    std::once_flag once;
    std::unique_ptr<dispatch::Engine<T, I>> engine;
    std::vector<Shape> op_shapes;
  };
  ForOp by_op[2];

  static int slot(Op op) { return op == Op::N ? 0 : 1; }

  const ForOp& prepared(Op op) {
    ForOp& f = by_op[slot(op)];
    std::call_once(f.once, [&] {
      PlanOptions po = options;
      po.op_a = op;
      auto engine = std::make_unique<dispatch::Engine<T, I>>();
      engine->build(a, n, po);
      f.op_shapes.reserve(engine->stats.size());
      for (const EntryStats& s : engine->stats) f.op_shapes.push_back({s.rows, s.cols});
      f.engine = std::move(engine);
    });
    return f;
  }
  dispatch::KnownA known(const ForOp& f) const {
    return {&f.op_shapes, &a_regions, a_span.lo, a_span.hi};
  }
};

namespace {

void check_plan_options(const PlanOptions& o, std::size_t size) {
  dispatch::check_options(Options{o.op_a, o.op_b, Layout::RowMajor, o.threads, o.policy.force});
  for (const auto& [index, k] : o.policy.per_entry) {
    if (!dispatch::known_kernel(k)) {
      throw InvalidArgument(detail::cat("policy.per_entry: entry ", index,
                                        ": kernel has unknown value ", static_cast<int>(k)));
    }
    if (index >= size) {
      throw InvalidArgument(detail::cat("policy.per_entry names entry ", index,
                                        " but the batch has ", size, " entries"));
    }
  }
  if (o.policy.expected_calls < 1) {
    throw InvalidArgument(
        detail::cat("policy.expected_calls is ", o.policy.expected_calls, "; expected 1 or more"));
  }
}

void check_op(Op op) {
  if (op != Op::N && op != Op::T) {
    throw InvalidArgument(detail::cat("op_a has unknown value ", static_cast<int>(op)));
  }
}

}  // namespace

template <Value T, Index I>
Plan<T, I>::Plan(const BatchView<T, I>& a, std::int64_t n, const PlanOptions& options)
    : Plan(a, std::vector<std::int64_t>(a.size(), n), options) {}

template <Value T, Index I>
Plan<T, I>::Plan(const BatchView<T, I>& a, const std::vector<std::int64_t>& n,
                 const PlanOptions& options) {
  check_plan_options(options, a.size());
  if (n.size() != a.size()) {
    throw InvalidArgument(
        detail::cat("plan: ", n.size(), " values of n for a batch of ", a.size(), " entries"));
  }
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (n[i] < 0) throw InvalidArgument(detail::cat("plan: entry ", i, ": n is ", n[i]));
  }
  dispatch::validate_a(a);
  auto impl = std::make_unique<Impl>();
  impl->a = a;
  impl->n = n;
  impl->options = options;
  impl->a_regions = dispatch::sorted_a_regions(a);
  impl->a_span = dispatch::span_of(impl->a_regions);
  impl->prepared(options.op_a);
  if (options.both_ops) impl->prepared(options.op_a == Op::N ? Op::T : Op::N);
  impl_ = std::move(impl);
}

template <Value T, Index I>
Plan<T, I>::~Plan() = default;
template <Value T, Index I>
Plan<T, I>::Plan(Plan&&) noexcept = default;
template <Value T, Index I>
Plan<T, I>& Plan<T, I>::operator=(Plan&&) noexcept = default;

template <Value T, Index I>
void Plan<T, I>::execute(const DenseBatchView<T>& c, const DenseBatchView<const T>& b, T alpha,
                         T beta) const {
  execute(c, b, alpha, beta, impl_->options.op_a);
}

template <Value T, Index I>
void Plan<T, I>::execute(const DenseBatchView<T>& c, const DenseBatchView<const T>& b, T alpha,
                         T beta, Op op_a) const {
  check_op(op_a);
  const auto& f = impl_->prepared(op_a);
  const Options o{op_a, impl_->options.op_b, Layout::RowMajor, impl_->options.threads,
                  Kernel::Auto};
  dispatch::check_b_and_c(c, impl_->a, b, o, impl_->known(f));
  f.engine->run(c, b, alpha, beta);
}

template <Value T, Index I>
DenseBatch<T> Plan<T, I>::execute(const DenseBatchView<const T>& b, T alpha, Layout layout) const {
  return execute(b, impl_->options.op_a, alpha, layout);
}

template <Value T, Index I>
DenseBatch<T> Plan<T, I>::execute(const DenseBatchView<const T>& b, Op op_a, T alpha,
                                  Layout layout) const {
  check_op(op_a);
  if (layout != Layout::RowMajor && layout != Layout::ColMajor) {
    throw InvalidArgument(detail::cat("layout has unknown value ", static_cast<int>(layout)));
  }
  const Options o{op_a, impl_->options.op_b, layout, impl_->options.threads, Kernel::Auto};
  const std::vector<Shape> shapes = dispatch::shapes_of(impl_->a, b, o);
  std::vector<std::int64_t> rows(shapes.size());
  std::vector<std::int64_t> cols(shapes.size());
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    rows[i] = shapes[i].rows;
    cols[i] = shapes[i].cols;
  }
  DenseBatch<T> out(std::move(rows), std::move(cols), layout);
  execute(out.view(), b, alpha, T(0), op_a);
  return out;
}

template <Value T, Index I>
void Plan<T, I>::execute_sum(const DenseView<T>& c, const DenseBatchView<const T>& b, T alpha,
                             T beta) const {
  execute_sum(c, b, alpha, beta, impl_->options.op_a);
}

template <Value T, Index I>
void Plan<T, I>::execute_sum(const DenseView<T>& c, const DenseBatchView<const T>& b, T alpha,
                             T beta, Op op_a) const {
  check_op(op_a);
  const auto& f = impl_->prepared(op_a);
  const Options o{op_a, impl_->options.op_b, Layout::RowMajor, impl_->options.threads,
                  Kernel::Auto};
  dispatch::check_sum(c, impl_->a, b, o, &impl_->a_regions);
  f.engine->run_sum(c, b, alpha, beta);
}

template <Value T, Index I>
std::size_t Plan<T, I>::size() const noexcept {
  return impl_ ? impl_->a.size() : 0;
}
template <Value T, Index I>
const std::vector<EntryStats>& Plan<T, I>::stats() const noexcept {
  return impl_->by_op[Impl::slot(impl_->options.op_a)].engine->stats;
}
template <Value T, Index I>
const std::vector<Choice>& Plan<T, I>::choices() const noexcept {
  return impl_->by_op[Impl::slot(impl_->options.op_a)].engine->reasons();
}
template <Value T, Index I>
const std::vector<EntryStats>& Plan<T, I>::stats(Op op_a) const {
  check_op(op_a);
  return impl_->prepared(op_a).engine->stats;
}
template <Value T, Index I>
const std::vector<Choice>& Plan<T, I>::choices(Op op_a) const {
  check_op(op_a);
  return impl_->prepared(op_a).engine->reasons();
}
template <Value T, Index I>
std::string Plan<T, I>::explain() const {
  std::string out;
  for (const Op op : {impl_->options.op_a, impl_->options.op_a == Op::N ? Op::T : Op::N}) {
    const auto& engine = impl_->by_op[Impl::slot(op)].engine;
    if (engine) out += engine->explain();
  }
  return out;
}

#define SPBMM_INSTANTIATE(T, I) template class Plan<T, I>;

SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE

}  // namespace spbmm
