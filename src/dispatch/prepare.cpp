// Plan time: statistics, the kernel choice per entry, and the forms each kernel multiplies
// (conversions and transposes, built with their maps back to A's values).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/checks.hpp"
#include "dispatch/checks.hpp"
#include "dispatch/engine.hpp"
#include "dispatch/gpu_cache.hpp"
#include "dispatch/parallel.hpp"
#include "dispatch/schedule.hpp"
#include "dispatch/split.hpp"
#include "dispatch/stats.hpp"
#include "kernels/cpu/dense_dense.hpp"
#include "spbmm/convert.hpp"
#include "spbmm/error.hpp"

namespace spbmm::dispatch {
namespace {

using detail::cat;

// CSR of op(A): for a sparse entry unless it is a CSR used as it is, with the map back to A's
// values; for a dense entry the CSR of its nonzero elements.
template <Value T, Index I>
CsrView<T, I> sparse_form(Prepared<T, I>& p, const MatrixView<T, I>& m, Op op) {
  if (const auto* v = std::get_if<CsrView<T, I>>(&m); v != nullptr && op == Op::N) return *v;
  if (const auto* v = std::get_if<DenseView<const T>>(&m)) {
    p.csr = to_csr<I>(op_view(*v, op));
    p.dense_source = true;
  } else {
    p.csr = csr_following(m, op, p.slots);
  }
  return p.csr.view();
}

// op(A) of a sparse entry as row-major dense, with the map back to A's values.
template <Value T, Index I>
DenseView<const T> dense_form(Prepared<T, I>& p, const MatrixView<T, I>& m, Op op) {
  p.dense = dense_following(m, op, p.slots);
  return DenseView<const T>(p.dense.values().data(), p.dense.rows(), p.dense.cols(),
                            Layout::RowMajor);
}

template <Value T, Index I>
void prepare(Prepared<T, I>& p, const MatrixView<T, I>& m, Op op_a, Kernel kernel) {
  p.kernel = kernel;
  const bool stored_dense = std::holds_alternative<DenseView<const T>>(m);
  switch (kernel) {
    case Kernel::Auto:
    case Kernel::Reference:
      p.form = m;
      p.op_a = op_a;
      return;
    case Kernel::Dense:
      if (stored_dense) {
        p.form = m;
        p.op_a = op_a;
      } else {
        p.form = dense_form(p, m, op_a);
        p.op_a = Op::N;
        p.crosses = true;
      }
      return;
    case Kernel::Eigen:
    case Kernel::Gpu:
    case Kernel::Mkl:
      // Eigen, cuBLAS and MKL's gemm take a dense entry with either op as it is.
      if (stored_dense) {
        p.form = m;
        p.op_a = op_a;
        return;
      }
      [[fallthrough]];
    case Kernel::Sparse:
      p.form = sparse_form(p, m, op_a);
      p.op_a = Op::N;
      p.crosses = stored_dense;
      return;
  }
}

// Whether prepare() does more than keep the user's view (a conversion or a transpose).
template <Value T, Index I>
bool needs_conversion(const MatrixView<T, I>& m, Op op_a, Kernel kernel) {
  const bool stored_dense = std::holds_alternative<DenseView<const T>>(m);
  switch (kernel) {
    case Kernel::Auto:
    case Kernel::Reference:
      return false;
    case Kernel::Dense:
      return !stored_dense;
    case Kernel::Eigen:
    case Kernel::Gpu:
    case Kernel::Mkl:
      if (stored_dense) return false;
      [[fallthrough]];
    case Kernel::Sparse:
      return !(std::holds_alternative<CsrView<T, I>>(m) && op_a == Op::N);
  }
  return true;
}

// Whether some entry Auto chooses for may take long enough on the CPU for a device to win:
// below this even a device-resident call's launch and wait would not pay.
constexpr double kDeviceWorthSeconds = 20e-6;
bool worth_a_device(const std::vector<EntryStats>& stats, const std::vector<Choice>& choices,
                    const std::vector<Kernel>& forced, Kernel force) {
  for (std::size_t i = 0; i < stats.size(); ++i) {
    const Kernel k = forced.empty() ? force : forced[i];
    if (k == Kernel::Auto && choices[i].estimated_seconds >= kDeviceWorthSeconds) return true;
  }
  return false;
}

}  // namespace

template <Value T, Index I>
void Engine<T, I>::split_with_gpu(int threads) {
  const std::size_t size = stats.size();
  Policy cpu_only = policy;
  cpu_only.allow_gpu = false;
  std::vector<SplitEntry> entries(size);
  std::vector<Kernel> cpu_kernel(size, Kernel::Sparse);
  bool any_movable = false;
  for (std::size_t i = 0; i < size; ++i) {
    const EntryStats& st = stats[i];
    const Kernel k = forced.empty() ? policy.force : forced[i];
    const GpuEstimate g = estimate_gpu(st, policy, machine);
    SplitEntry& e = entries[i];
    const double volume =
        static_cast<double>(st.rows) * static_cast<double>(st.cols) * static_cast<double>(st.n);
    const bool tiny = st.rows == 0 || st.n == 0 || st.cols == 0 || st.nnz == 0 ||
                      volume < static_cast<double>(kTinyVolume);
    if (k != Kernel::Auto || tiny) {
      e.movable = false;
      e.on_gpu = choices[i].kernel == Kernel::Gpu;
      e.cpu_seconds = choices[i].estimated_seconds;
      e.gpu_seconds = g.compute + g.transfer;
      continue;
    }
    const Choice c = choose_resolved(st, Kernel::Auto, false, cpu_only, machine, false);
    cpu_kernel[i] = c.kernel;
    e.cpu_seconds = c.estimated_seconds;
    e.gpu_seconds = g.compute + g.transfer;
    any_movable = true;
  }
  if (!any_movable) return;
  // One call for the whole device share: one launch, one copy each way, one wait.
  const double call =
      machine.gpu_launch_seconds + machine.gpu_sync_seconds + 2 * machine.gpu_copy_seconds;
  const Split s = split_batch(entries, call, threads);
  split_moved.assign(size, 0);
  bool moved = false;
  for (std::size_t i = 0; i < size; ++i) {
    if (!entries[i].movable) continue;
    const Kernel k = s.on_gpu[i] != 0 ? Kernel::Gpu : cpu_kernel[i];
    if (k != choices[i].kernel) {
      split_moved[i] = 1;
      moved = true;
    }
    choices[i].kernel = k;
    choices[i].estimated_seconds =
        k == Kernel::Gpu ? estimate_gpu(stats[i], policy, machine).total() : entries[i].cpu_seconds;
  }
  if (s.mixed() || moved) split_note = s.str();
  if (!moved) split_moved.clear();
}

template <Value T, Index I>
void Engine<T, I>::build(const BatchView<T, I>& a_in, const std::vector<std::int64_t>& n,
                         const PlanOptions& po) {
  a = a_in;
  options.op_a = po.op_a;
  options.op_b = po.op_b;
  options.threads = po.threads;
  machine = po.machine != nullptr ? *po.machine : MachineModel::defaults();
  if (po.machine != nullptr && machine.gpu_source == MachineModel().gpu_source &&
      machine.gpu_gflops > 0) {
    machine.gpu_source = "given by the caller (PlanOptions::machine)";
  }
  // The defaults without GPU figures: the device's own figures are looked for below, once some
  // entry is large enough for a device to matter.
  const bool look_for_device =
      po.machine == nullptr && machine.gpu_gflops <= 0 && po.policy.allow_gpu;
  // The device is asked for only when Auto could choose it: the first query opens the CUDA
  // backend, which a CPU-only process should never map. A forced GPU kernel asks below.
  if (machine.gpu_gflops <= 0) {
    gpu_note = look_for_device ? "no entry is large enough to look for a device"
                               : "the machine model has no GPU figures (calibrate on this machine)";
  } else if (!po.policy.allow_gpu) {
    gpu_note = "not allowed by the policy";
  } else if (!gpu::available()) {
    // Auto must never pick a device that is not there, whatever figures the model carries.
    machine.gpu_gflops = 0;
    machine.gpu_dense_gflops = 0;
    gpu_note = gpu::status();
  }

  // MKL is considered only where the model has its figures and the backend loads: opening it
  // maps MKL's libraries, which a model without MKL figures never does. A forced Kernel::Mkl
  // asks below.
  if (machine.mkl_sparse_gflops > 0 || machine.mkl_dense_gflops_large > 0 ||
      machine.mkl_dense_gflops_small > 0) {
    if (!kernels::mkl::available()) {
      machine.mkl_sparse_gflops = 0;
      machine.mkl_sparse_gflops_small_n = 0;
      machine.mkl_dense_gflops_small = 0;
      machine.mkl_dense_gflops_large = 0;
      mkl_note = kernels::mkl::status();
    } else if (po.op_b == Op::T && machine.mkl_sparse_gflops > 0) {
      // MKL's SpMM reads B in C's layout: B^T of a row-major B would be copied at every call.
      machine.mkl_sparse_gflops = 0;
      machine.mkl_sparse_gflops_small_n = 0;
      mkl_note = "for sparse entries: op(B) = B^T, which MKL's SpMM takes only through a copy of B";
    }
  }

  const std::size_t size = a.size();
  const int threads = po.threads > 0 ? po.threads : default_threads();
  policy = po.policy;
  policy.per_entry.clear();
  if (!po.policy.per_entry.empty()) {
    forced.assign(size, po.policy.force);
    forced_per_entry.assign(size, 0);
    for (const auto& [index, k] : po.policy.per_entry) {
      forced[index] = k;
      forced_per_entry[index] = 1;
    }
  }
  stats.resize(size);
  choices.resize(size);
  prepared.resize(size);
  // Entries are analysed in blocks: most take well under a microsecond, and a block keeps the
  // shared loop counter out of the way.
  constexpr std::size_t kBlock = 32;
  // A dense entry that Auto may keep dense is first described by its shape alone (its exact
  // count of nonzeros may not be needed, see below); every other entry is analysed in full.
  std::vector<char> by_shape(size, 0);
  parallel_for((size + kBlock - 1) / kBlock, threads, [&](std::size_t block) {
    std::vector<std::int64_t> lengths;
    const std::size_t end = std::min(size, (block + 1) * kBlock);
    for (std::size_t i = block * kBlock; i < end; ++i) {
      const bool by_entry = !forced.empty() && forced_per_entry[i] != 0;
      const Kernel force = by_entry ? forced[i] : policy.force;
      const auto* d = std::get_if<DenseView<const T>>(&a[i]);
      if (!count_dense_always && force == Kernel::Auto && d != nullptr && d->rows > 0 &&
          d->cols > 0) {
        stats[i] = dense_shape_stats<T>(*d, po.op_a, n[i], i, static_cast<int>(sizeof(I)));
        by_shape[i] = 1;
        continue;
      }
      stats[i] = analyse<T, I>(a[i], po.op_a, n[i], i, lengths);
    }
  });
  // Whether the batch's operands stay cached between calls decides what each kernel reads from
  // memory, so every entry is priced with the whole batch's bytes (a dense entry's bytes depend
  // on its shape only, so the shape-only entries count exactly).
  double batch_bytes = 0;
  for (const EntryStats& s : stats) batch_bytes += operand_bytes(s);
  policy.follows_values = !po.constant_values;
  parallel_for((size + kBlock - 1) / kBlock, threads, [&](std::size_t block) {
    std::vector<std::int64_t> lengths;
    const std::size_t end = std::min(size, (block + 1) * kBlock);
    for (std::size_t i = block * kBlock; i < end; ++i) {
      stats[i].batch_bytes = batch_bytes;
      const bool by_entry = !forced.empty() && forced_per_entry[i] != 0;
      const Kernel force = by_entry ? forced[i] : policy.force;
      if (by_shape[i] != 0) {
        const auto& d = std::get<DenseView<const T>>(a[i]);
        // A count at which the dense kernel wins, within a few percent of the smallest (a
        // bisection in log scale); an entry that has at least that many nonzeros (found after
        // reading that share of a full entry) is dense at its exact count too, and keeps the
        // stats of a full entry (see dense_shape_stats).
        const EntryStats full = stats[i];
        const auto dense_at = [&](std::int64_t count) {
          EntryStats at = full;
          at.nnz = count;
          at.density = static_cast<double>(count) / static_cast<double>(full.nnz);
          return choose_resolved(at, force, by_entry, policy, machine, false).kernel ==
                 Kernel::Dense;
        };
        std::int64_t limit = 0;
        if (dense_at(full.nnz)) {
          std::int64_t lo = 1, hi = full.nnz;  // dense at hi; below lo only if lo == 1
          if (dense_at(lo)) hi = lo;
          for (int step = 0; step < 10 && hi > lo + 1 && hi > lo + lo / 16; ++step) {
            const auto mid = static_cast<std::int64_t>(
                std::sqrt(static_cast<double>(lo) * static_cast<double>(hi)));
            if (mid <= lo || mid >= hi) break;
            (dense_at(mid) ? hi : lo) = mid;
          }
          limit = hi;
        }
        if (limit > 0 && dense_nonzeros_reach(d, limit)) {
          choices[i] = choose_resolved(stats[i], force, by_entry, policy, machine, false);
          continue;
        }
        stats[i] = analyse<T, I>(a[i], po.op_a, n[i], i, lengths);
        stats[i].batch_bytes = batch_bytes;
      }
      choices[i] = choose_resolved(stats[i], force, by_entry, policy, machine, false);
    }
  });
  if (look_for_device && worth_a_device(stats, choices, forced, policy.force)) {
    const DeviceFigures& d = device_figures();
    if (d.found) {
      copy_gpu_figures(d.figures, machine);
      gpu_note.clear();
      for (std::size_t i = 0; i < size; ++i) {
        const bool by_entry = !forced.empty() && forced_per_entry[i] != 0;
        choices[i] = choose_resolved(stats[i], by_entry ? forced[i] : policy.force, by_entry,
                                     policy, machine, false);
      }
    } else {
      gpu_note = d.note;
    }
  }
  if (machine.gpu_gflops > 0 && policy.allow_gpu && gpu_note.empty()) split_with_gpu(threads);

  for (std::size_t i = 0; i < size; ++i) {
    if (choices[i].kernel != Kernel::Gpu) continue;
    try {
      gpu::require_device();
    } catch (const DeviceError& e) {
      throw DeviceError(
          cat("entry ", i, ": Kernel::Gpu was requested but no GPU is usable: ", e.what()));
    } catch (const NotCompiled& e) {
      throw NotCompiled(cat("entry ", i, ": Kernel::Gpu was requested but ", e.what()));
    }
    break;
  }

  for (std::size_t i = 0; i < size; ++i) {
    if (choices[i].kernel != Kernel::Mkl) continue;
    kernels::mkl::require(cat("entry ", i, ": Kernel::Mkl was requested"));
    break;
  }

  // A forced Dense kernel on a sparse entry must not allocate a dense copy beyond the limit;
  // every entry is checked before any is converted.
  const std::uint64_t dense_limit = detail::resolve_dense_limit(po.policy.dense_limit);
  for (std::size_t i = 0; i < size; ++i) {
    if (choices[i].kernel == Kernel::Dense && stats[i].format != Format::Dense) {
      detail::check_dense_limit(stats[i].rows, stats[i].cols, sizeof(T), dense_limit,
                                cat("entry ", i, ": Kernel::Dense converts op(A): "),
                                "Options::dense_limit, Policy::dense_limit or "
                                "spbmm::set_dense_limit");
    }
  }

  // Entries kept as they are cost next to nothing; conversions are independent per entry, and
  // the big ones (a dense copy of a large sparse entry) dominate plan time, hence the dynamic
  // schedule over them alone.
  std::vector<std::size_t> converted;
  for (std::size_t i = 0; i < size; ++i) {
    if (needs_conversion(a[i], po.op_a, choices[i].kernel)) {
      converted.push_back(i);
    } else {
      prepare(prepared[i], a[i], po.op_a, choices[i].kernel);
    }
  }
  follow_values = !po.constant_values;
  parallel_for(converted.size(), threads, [&](std::size_t k) {
    const std::size_t i = converted[k];
    Prepared<T, I>& p = prepared[i];
    prepare(p, a[i], po.op_a, choices[i].kernel);
    if (!follow_values) {
      SlotMap().swap(p.slots);
      return;
    }
    std::int64_t count = 0;
    const T* values = sparse_values(a[i], count);
    const bool folds = std::any_of(p.slots.begin(), p.slots.end(), [](auto d) { return d < 0; });
    if (p.csr.nnz() > 0 && !folds) {
      p.gather.resize(p.slots.size());
      for (std::size_t k = 0; k < p.slots.size(); ++k) {
        p.gather[static_cast<std::size_t>(p.slots[k])] = static_cast<I>(k);
      }
      SlotMap().swap(p.slots);
    } else {
      p.shadow.assign(values, values + count);
    }
  });
  if (follow_values) {
    for (const std::size_t i : converted) {
      const Prepared<T, I>& p = prepared[i];
      if (p.slots.empty() && p.gather.empty() && !p.dense_source) continue;
      following.push_back(i);
      following_elements += p.dense_source
                                ? stats[i].rows * stats[i].cols
                                : static_cast<std::int64_t>(p.slots.size() + p.gather.size());
    }
  }

  // The CPU schedule for B entries of the planned widths.
  cpu_order.reserve(size);
  for (std::size_t i = 0; i < size; ++i) {
    if (choices[i].kernel == Kernel::Gpu) continue;
    cpu_order.push_back(i);
  }
  std::stable_sort(cpu_order.begin(), cpu_order.end(), [&](std::size_t x, std::size_t y) {
    return choices[x].estimated_seconds > choices[y].estimated_seconds;
  });

  // MKL's handles, each optimized for the threads its product will run with: every thread for a
  // product the CPU schedule (for the planned widths) runs alone, one for a product of the shared
  // loop. A handle run with fewer threads than it was optimized for leaves part of C unwritten
  // while MKL reports success, so execute() runs a product whose schedule differs from the
  // plan's on the CPU sparse kernel instead.
  std::vector<std::size_t> want_mkl;
  for (const std::size_t i : cpu_order) {
    const auto* v = std::get_if<CsrView<T, I>>(&prepared[i].form);
    if (choices[i].kernel == Kernel::Mkl && v != nullptr && v->nnz() > 0 && stats[i].n > 0) {
      want_mkl.push_back(i);
    }
  }
  if (!want_mkl.empty()) {
    std::vector<Task> tasks;
    tasks.reserve(cpu_order.size());
    for (const std::size_t e : cpu_order) {
      tasks.push_back({e, choices[e].estimated_seconds, splits_threads(choices[e].kernel)});
    }
    const Schedule s = schedule(std::move(tasks), threads);
    std::vector<unsigned char> alone(size, 0);
    for (const std::size_t e : s.alone) alone[e] = 1;
    std::sort(want_mkl.begin(), want_mkl.end());
    for (const std::size_t i : want_mkl) {
      Prepared<T, I>& p = prepared[i];
      const auto& v = std::get<CsrView<T, I>>(p.form);
      try {
        p.mkl = kernels::mkl::SparseHandle::create<T, I>(v, stats[i].n, policy.expected_calls,
                                                         alone[i] != 0 ? threads : 1);
      } catch (const LimitError& e) {
        throw LimitError(cat("entry ", i, ": ", e.what()));
      }
      if (follow_values) p.mkl_shadow.assign(v.values, v.values + v.nnz());
      mkl_sparse.push_back(i);
    }
  }

  // A batch that is all CPU dense products with one op runs as one dense_batch call. A sparse
  // entry without stored entries is left out: its product must scale C without reading B.
  all_dense = size > 0;
  for (std::size_t i = 0; i < size && all_dense; ++i) {
    const bool empty_sparse = stats[i].format != Format::Dense && stats[i].nnz == 0;
    all_dense = choices[i].kernel == Kernel::Dense && !empty_sparse &&
                std::holds_alternative<DenseView<const T>>(prepared[i].form) &&
                prepared[i].op_a == prepared[0].op_a;
  }
  all_mkl_dense = size > 0;
  for (std::size_t i = 0; i < size && all_mkl_dense; ++i) {
    all_mkl_dense = choices[i].kernel == Kernel::Mkl &&
                    std::holds_alternative<DenseView<const T>>(prepared[i].form) &&
                    prepared[i].op_a == prepared[0].op_a;
  }
  if (all_mkl_dense) {
    mkl_dense_op = prepared[0].op_a;
    mkl_dense_a.reserve(size);
    for (const auto& p : prepared) mkl_dense_a.push_back(std::get<DenseView<const T>>(p.form));
  }
  any_crosses = std::any_of(prepared.begin(), prepared.end(),
                            [](const Prepared<T, I>& p) { return p.crosses; });
  if (all_dense) {
    dense_op = prepared[0].op_a;
    dense_a.reserve(size);
    for (const auto& p : prepared) dense_a.push_back(std::get<DenseView<const T>>(p.form));
    make_small_kernels();
  }

  std::vector<CsrView<T, I>> device_views;
  for (std::size_t i = 0; i < size; ++i) {
    if (choices[i].kernel != Kernel::Gpu) continue;
    if (const auto* v = std::get_if<CsrView<T, I>>(&prepared[i].form)) {
      gpu_sparse.push_back(i);
      device_views.push_back(*v);
    }
  }
  const bool any_gpu = std::any_of(choices.begin(), choices.end(),
                                   [](const Choice& c) { return c.kernel == Kernel::Gpu; });
  if (any_gpu) {
    // The device backend picks its own call shape (strided batch, block-diagonal, per entry).
    if (!device_views.empty()) {
      device_a = std::make_unique<gpu::DeviceCsrBatch<T, I>>(device_views);
      if (follow_values) {
        for (const auto& v : device_views)
          device_shadow.insert(device_shadow.end(), v.values, v.values + v.nnz());
      }
    }
    executor = std::make_unique<gpu::Executor>();
    gpu_mutex = std::make_unique<std::mutex>();
  }
}

template <Value T, Index I>
const std::vector<Choice>& Engine<T, I>::reasons() const {
  std::call_once(reasons_once, [&] {
    for (std::size_t i = 0; i < choices.size(); ++i) {
      const bool by_entry = !forced.empty() && forced_per_entry[i] != 0;
      choices[i].reason = choose_resolved(stats[i], by_entry ? forced[i] : policy.force, by_entry,
                                          policy, machine, true)
                              .reason;
      if (!split_moved.empty() && split_moved[i] != 0) {
        choices[i].reason = cat("the batch split runs it on the ", to_string(choices[i].kernel),
                                " (alone: ", choices[i].reason, ")");
      }
    }
  });
  return choices;
}

// Seconds LIBXSMM took to generate one kernel (about 20 us per shape on W5's 2000 shapes, 2-core
// Intel Xeon), and the share of a product's time its kernels saved there (W5: 13.8 -> 10.4 ms).
constexpr double kSmallGemmMakeSeconds = 25e-6;
constexpr double kSmallGemmSaving = 0.25;

template <Value T, Index I>
void Engine<T, I>::make_small_kernels() {
  namespace cpu = kernels::cpu;
  // With op_b = T the kernels serve a B shared by every product, which dense_batch transposes once:
  // only a batch whose entries all have one inner dimension and one width can be given one.
  if (!cpu::small_gemm_built() || dense_op != Op::N) return;
  if (options.op_b == Op::T) {
    for (std::size_t i = 1; i < dense_a.size(); ++i) {
      if (dense_a[i].cols != dense_a[0].cols || stats[i].n != stats[0].n) return;
    }
  }
  // Kernels are made for B and C as a batch of their own lays them out (row-major, no padding);
  // products given other strides run on the blocked kernel. Making one costs about as much as
  // computing a few products of its shape, so the kernels are made only where the plan's
  // expected calls repay them.
  const auto eligible = [&](std::size_t i) {
    const DenseView<const T>& v = dense_a[i];
    return v.layout == Layout::RowMajor && v.cols <= cpu::kSmallGemmMaxNK &&
           stats[i].n <= cpu::kSmallGemmMaxNK &&
           !cpu::dense_register_product<T>(stats[i].n, v.cols);
  };
  std::vector<std::array<std::int64_t, 4>> shapes;
  double saved = 0;
  for (std::size_t i = 0; i < dense_a.size(); ++i) {
    if (!eligible(i)) continue;
    const DenseView<const T>& v = dense_a[i];
    shapes.push_back({v.rows, v.cols, stats[i].n, v.ld});
    saved += kSmallGemmSaving * choices[i].estimated_seconds;
  }
  std::sort(shapes.begin(), shapes.end());
  const auto distinct =
      static_cast<double>(std::unique(shapes.begin(), shapes.end()) - shapes.begin());
  if (distinct == 0 || saved * static_cast<double>(std::max(1, policy.expected_calls)) <=
                           distinct * kSmallGemmMakeSeconds) {
    return;
  }
  dense_small.resize(dense_a.size());
  for (std::size_t i = 0; i < dense_a.size(); ++i) {
    if (!eligible(i)) continue;
    const DenseView<const T>& v = dense_a[i];
    const std::int64_t n = stats[i].n;
    dense_small[i] = cpu::make_small_gemm<T>(v.rows, n, v.cols, v.ld, n, n);
  }
}

template <Value T, Index I>
std::string Engine<T, I>::explain() const {
  reasons();
  std::string out = cat(
      "plan: ", stats.size(), stats.size() == 1 ? " entry" : " entries",
      ", op(A) = ", to_string(options.op_a), ", op(B) = ", to_string(options.op_b),
      ", threads = ", options.threads > 0 ? cat(options.threads) : std::string("default"), "\n");
  out += cat("gpu figures: ", machine.gpu_source, "\n");
  if (!gpu_note.empty()) out += cat("gpu not considered: ", gpu_note, "\n");
  if (!mkl_note.empty()) out += cat("mkl not considered: ", mkl_note, "\n");
  if (all_mkl_dense) {
    out += cat("mkl: ", kernels::mkl::status(), "; every entry in one gemm_batch call\n");
  }
  if (!mkl_sparse.empty()) {
    std::size_t alone = 0;
    for (const std::size_t i : mkl_sparse) alone += prepared[i].mkl->threads() > 1 ? 1 : 0;
    out += cat("mkl: ", kernels::mkl::status(), "; inspector-executor handles made for ",
               mkl_sparse.size(), mkl_sparse.size() == 1 ? " entry" : " entries", " (", alone,
               " optimized for every thread, the others for one)\n");
  }
  if (!split_note.empty()) out += cat(split_note, "\n");
  if (!dense_small.empty()) {
    const auto made =
        std::count_if(dense_small.begin(), dense_small.end(),
                      [](const kernels::cpu::SmallGemm& g) { return g.fn != nullptr; });
    out += cat("dense: kernels generated for this shape (LIBXSMM) for ", made, " of ",
               dense_small.size(), " entries (when B and C are unpadded, alpha = 1, beta = 0)\n");
  }
  char line[256];
  std::snprintf(line, sizeof(line), "%6s  %-13s %6s %11s %9s  %-9s %10s  %s\n", "entry", "op(A)",
                "n", "nnz", "density", "kernel", "estimate", "reason");
  out += line;
  for (std::size_t i = 0; i < stats.size(); ++i) {
    const EntryStats& s = stats[i];
    const std::string shape = cat(s.rows, "x", s.cols, s.format == Format::Dense ? " D" : "");
    char est[32];
    const double t = choices[i].estimated_seconds;
    if (t >= 1e-4) {
      std::snprintf(est, sizeof(est), "%.3g ms", t * 1e3);
    } else {
      std::snprintf(est, sizeof(est), "%.3g us", t * 1e6);
    }
    std::snprintf(line, sizeof(line), "%6zu  %-13s %6lld %11lld %9.4g  %-9s %10s  ", i,
                  shape.c_str(), static_cast<long long>(s.n), static_cast<long long>(s.nnz),
                  s.density, to_string(choices[i].kernel), est);
    out += line;
    out += choices[i].reason;
    out += "\n";
  }
  return out;
}

#define SPBMM_INSTANTIATE(T, I)                                                               \
  template void Engine<T, I>::build(const BatchView<T, I>&, const std::vector<std::int64_t>&, \
                                    const PlanOptions&);                                      \
  template const std::vector<Choice>& Engine<T, I>::reasons() const;                          \
  template void Engine<T, I>::split_with_gpu(int);                                            \
  template std::string Engine<T, I>::explain() const;
SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE

}  // namespace spbmm::dispatch
