// Tests of the pure decision model: choose_kernel on constructed statistics, MachineModel text.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "models.hpp"
#include "spbmm/error.hpp"
#include "spbmm/plan.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

// Fixed figures, so the expectations below do not move with a recalibration.
MachineModel model() {
  MachineModel m = test::small_machine();
  m.eigen_sparse_gflops = 2;
  m.eigen_dense_gflops = 40;
  return m;
}

EntryStats sparse_entry(std::int64_t rows, std::int64_t cols, std::int64_t n, double density,
                        std::size_t index = 0) {
  EntryStats s;
  s.index = index;
  s.format = Format::Csr;
  s.rows = rows;
  s.cols = cols;
  s.n = n;
  s.nnz = static_cast<std::int64_t>(std::llround(density * static_cast<double>(rows * cols)));
  s.density = density;
  return s;
}

TEST(ChooseKernel, VerySparseGoesSparse) {
  const Choice c = choose_kernel(sparse_entry(2048, 2048, 64, 0.001), {}, model());
  EXPECT_EQ(c.kernel, Kernel::Sparse);
  EXPECT_GT(c.estimated_seconds, 0);
  // The reason names the winner first and compares the estimates.
  EXPECT_EQ(c.reason.rfind("sparse ", 0), 0u) << c.reason;
  EXPECT_NE(c.reason.find(" < dense "), std::string::npos) << c.reason;
  EXPECT_NE(c.reason.find(" ms"), std::string::npos) << c.reason;
}

// One call, as bmm() prices it.
Policy single_call() {
  Policy p;
  p.expected_calls = 1;
  return p;
}

TEST(ChooseKernel, HalfDenseWithLargeNGoesDense) {
  const Choice c = choose_kernel(sparse_entry(1024, 1024, 128, 0.5), single_call(), model());
  EXPECT_EQ(c.kernel, Kernel::Dense) << c.reason;
  // The conversion at plan time is priced and said.
  EXPECT_NE(c.reason.find("includes converting A"), std::string::npos) << c.reason;
  EXPECT_NE(c.reason.find("1 expected call"), std::string::npos) << c.reason;
}

TEST(ChooseKernel, ConversionIsAmortisedOverExpectedCalls) {
  // Near the crossover, many expected calls make the dense copy worth it.
  const EntryStats s = sparse_entry(1024, 1024, 64, 0.06);
  const Policy once = single_call();
  Policy many;
  many.expected_calls = 1000;
  const Choice c1 = choose_kernel(s, once, model());
  const Choice c2 = choose_kernel(s, many, model());
  EXPECT_EQ(c1.kernel, Kernel::Sparse) << c1.reason;
  EXPECT_EQ(c2.kernel, Kernel::Dense) << c2.reason;
  EXPECT_NE(c2.reason.find("1000 expected calls"), std::string::npos) << c2.reason;
}

TEST(ChooseKernel, NarrowBIsPenalisedOnTheSparseKernel) {
  MachineModel m = model();
  const EntryStats wide = sparse_entry(512, 512, 64, 0.05);
  EntryStats narrow = wide;
  narrow.n = 2;
  Policy sparse;
  sparse.force = Kernel::Sparse;
  const double per_col_wide = choose_kernel(wide, sparse, m).estimated_seconds / 64;
  const double per_col_narrow = choose_kernel(narrow, sparse, m).estimated_seconds / 2;
  EXPECT_GT(per_col_narrow, 2 * per_col_wide);
}

TEST(ChooseKernel, DenseEntriesStayDenseUnlessMostlyZero) {
  EntryStats full = sparse_entry(300, 300, 64, 1.0);
  full.format = Format::Dense;
  EXPECT_EQ(choose_kernel(full, {}, model()).kernel, Kernel::Dense);
  // A dense-stored entry that is almost all zeros runs on a CSR copy.
  EntryStats hollow = sparse_entry(1000, 1000, 64, 0.0005);
  hollow.format = Format::Dense;
  const Choice c = choose_kernel(hollow, {}, model());
  EXPECT_EQ(c.kernel, Kernel::Sparse) << c.reason;
  EXPECT_NE(c.reason.find("sparse includes converting A"), std::string::npos) << c.reason;
}

TEST(ChooseKernel, TinyAndEmptyEntriesKeepTheirStoredFormat) {
  // Half dense but tiny: converting would cost more than the product.
  const Choice tiny = choose_kernel(sparse_entry(8, 8, 8, 0.5), {}, model());
  EXPECT_EQ(tiny.kernel, Kernel::Sparse);
  EXPECT_NE(tiny.reason.find("tiny entry (8x8x8 < 4096)"), std::string::npos) << tiny.reason;
  EntryStats tiny_dense = sparse_entry(4, 4, 4, 0.0);
  tiny_dense.format = Format::Dense;
  EXPECT_EQ(choose_kernel(tiny_dense, {}, model()).kernel, Kernel::Dense);

  const Choice no_rows = choose_kernel(sparse_entry(0, 100, 64, 0), {}, model());
  EXPECT_EQ(no_rows.kernel, Kernel::Sparse);
  EXPECT_NE(no_rows.reason.find("empty product"), std::string::npos);
  EXPECT_EQ(choose_kernel(sparse_entry(100, 100, 0, 0.5), {}, model()).kernel, Kernel::Sparse);
  EXPECT_EQ(choose_kernel(sparse_entry(100, 100, 64, 0), {}, model()).kernel, Kernel::Sparse);
}

TEST(ChooseKernel, ForcedForAllAndPerEntry) {
  const EntryStats s0 = sparse_entry(2048, 2048, 64, 0.001, 0);
  const EntryStats s3 = sparse_entry(2048, 2048, 64, 0.001, 3);
  for (Kernel k : {Kernel::Reference, Kernel::Sparse, Kernel::Dense, Kernel::Eigen, Kernel::Gpu}) {
    Policy p;
    p.force = k;
    const Choice c = choose_kernel(s0, p, model());
    EXPECT_EQ(c.kernel, k);
    EXPECT_NE(c.reason.find("Policy::force"), std::string::npos) << c.reason;
  }
  Policy p;
  p.force = Kernel::Dense;
  p.per_entry = {{3, Kernel::Eigen}, {5, Kernel::Reference}};
  EXPECT_EQ(choose_kernel(s0, p, model()).kernel, Kernel::Dense);
  const Choice c3 = choose_kernel(s3, p, model());
  EXPECT_EQ(c3.kernel, Kernel::Eigen);
  EXPECT_NE(c3.reason.find("forced for entry 3"), std::string::npos) << c3.reason;
  // A per-entry Auto hands that entry back to the model.
  p.per_entry = {{3, Kernel::Auto}};
  EXPECT_EQ(choose_kernel(s3, p, model()).kernel, Kernel::Sparse);
  // The forced estimate is that kernel's.
  Policy dense;
  dense.force = Kernel::Dense;
  EXPECT_GT(choose_kernel(s0, dense, model()).estimated_seconds,
            choose_kernel(s0, {}, model()).estimated_seconds);
}

TEST(ChooseKernel, GpuOnlyWithFiguresAndPermission) {
  // Large and dense enough that a fast device would win, whatever the transfers cost.
  const EntryStats big = sparse_entry(2048, 2048, 256, 0.1);
  MachineModel m = model();
  EXPECT_NE(choose_kernel(big, {}, m).kernel, Kernel::Gpu);
  EXPECT_NE(choose_kernel(big, {}, m).reason.find("gpu not considered"), std::string::npos);
  m.gpu_gflops = 2000;
  m.gpu_dense_gflops = 20000;
  m.gpu_transfer_gbps = 20;
  m.gpu_launch_seconds = 10e-6;
  const Choice on_gpu = choose_kernel(big, {}, m);
  EXPECT_EQ(on_gpu.kernel, Kernel::Gpu) << on_gpu.reason;
  EXPECT_NE(on_gpu.reason.find("gpu "), std::string::npos);
  Policy no_gpu;
  no_gpu.allow_gpu = false;
  const Choice cpu = choose_kernel(big, no_gpu, m);
  EXPECT_NE(cpu.kernel, Kernel::Gpu);
  EXPECT_NE(cpu.reason.find("gpu not allowed"), std::string::npos) << cpu.reason;
  // Transfers dominate a small entry: it stays on the CPU.
  EXPECT_NE(choose_kernel(sparse_entry(64, 64, 16, 0.05), {}, m).kernel, Kernel::Gpu);
  // A device with no throughput figure is never chosen.
  m.gpu_gflops = 0;
  EXPECT_NE(choose_kernel(big, {}, m).kernel, Kernel::Gpu);
}

TEST(ChooseKernel, EigenIsACandidateOnlyWithItsFigures) {
  MachineModel m = model();
  m.eigen_sparse_gflops = 100;  // an Eigen far faster than the sparse kernel
  const EntryStats s = sparse_entry(2048, 2048, 64, 0.01);
  EXPECT_EQ(choose_kernel(s, {}, m).kernel, Kernel::Eigen);
  m.eigen_sparse_gflops = 0;
  m.eigen_dense_gflops = 0;
  EXPECT_EQ(choose_kernel(s, {}, m).kernel, Kernel::Sparse);
}

TEST(ChooseKernel, DoublesUseTheFp64Factors) {
  MachineModel m = model();
  m.f64_dense_factor = 0.5;
  m.f64_sparse_factor = 1.0;
  // At a density where fp32 runs dense, fp64 halves the dense rate and tips it to sparse.
  EntryStats s = sparse_entry(1024, 1024, 64, 0.12);
  const Choice f32 = choose_kernel(s, single_call(), m);
  s.value_bytes = 8;
  const Choice f64 = choose_kernel(s, single_call(), m);
  EXPECT_EQ(f32.kernel, Kernel::Dense) << f32.reason;
  EXPECT_EQ(f64.kernel, Kernel::Sparse) << f64.reason;
}

MachineModel streaming_model() { return test::streaming_machine(64); }

TEST(ChooseKernel, OperandsOutgrowingTheCacheAreReadFromMemory) {
  // A half-dense 1024 x 1024 entry with N = 64: alone its operands fit the cache and the dense
  // kernel's flops win; in a batch whose operands take 200 MB the dense kernel reads its copy of
  // A from memory once per column panel (twice) against the sparse kernel's one CSR read, and
  // the per-call check of the converted copy reads A's values twice more.
  const MachineModel m = streaming_model();
  EntryStats s = sparse_entry(1024, 1024, 64, 0.5);
  const Choice alone = choose_kernel(s, {}, m);
  EXPECT_EQ(alone.kernel, Kernel::Dense) << alone.reason;
  EXPECT_EQ(alone.reason.find("from memory"), std::string::npos) << alone.reason;
  s.batch_bytes = 200e6;
  const Choice in_batch = choose_kernel(s, {}, m);
  EXPECT_EQ(in_batch.kernel, Kernel::Sparse) << in_batch.reason;
  EXPECT_NE(in_batch.reason.find("from memory at each call (the batch's operands, 200 MB as "
                                 "stored, with any copy of A a kernel adds, outgrow the model's "
                                 "64 MB of cache)"),
            std::string::npos)
      << in_batch.reason;
  EXPECT_NE(in_batch.reason.find("dense A 2 times and B ("), std::string::npos) << in_batch.reason;
  EXPECT_NE(in_batch.reason.find("sparse A and B ("), std::string::npos) << in_batch.reason;
  // Without the memory figures the same batch still goes dense: the term is what moves it.
  MachineModel flat = m;
  flat.stream_gbps = 0;
  EXPECT_EQ(choose_kernel(s, {}, flat).kernel, Kernel::Dense);
  // The sparse kernel reads its CSR (8 bytes per stored value, int32 indices) and B once:
  // exactly that many bytes at stream_gbps more than with the operands cached.
  Policy sparse;
  sparse.force = Kernel::Sparse;
  const double csr_bytes = 1025.0 * 4 + static_cast<double>(s.nnz) * 8;
  const double b_bytes = 1024.0 * 64 * 4;
  EXPECT_NEAR(choose_kernel(s, sparse, m).estimated_seconds -
                  choose_kernel(s, sparse, flat).estimated_seconds,
              (csr_bytes + b_bytes) / 10e9, 1e-12);
}

TEST(ChooseKernel, EntriesThatFitTheCacheKeepTheirEstimates) {
  // A 256 x 256 entry with N = 64 in a small batch: nothing outgrows the cache, so the memory
  // figures change no estimate, dense or sparse, stored dense or converted.
  const MachineModel m = streaming_model();
  MachineModel flat = m;
  flat.stream_gbps = 0;
  flat.cache_mb = 0;
  for (const Format f : {Format::Csr, Format::Dense}) {
    EntryStats s = sparse_entry(256, 256, 64, 0.3);
    s.format = f;
    s.batch_bytes = 8e6;
    for (const Kernel k : {Kernel::Auto, Kernel::Dense, Kernel::Sparse}) {
      Policy p;
      p.force = k;
      const Choice with = choose_kernel(s, p, m);
      const Choice without = choose_kernel(s, p, flat);
      EXPECT_EQ(with.kernel, without.kernel) << with.reason;
      EXPECT_EQ(with.estimated_seconds, without.estimated_seconds) << to_string(k);
      EXPECT_EQ(with.reason.find("from memory"), std::string::npos) << with.reason;
    }
  }
}

TEST(ChooseKernel, FollowingValuesIsPricedOnConvertedEntries) {
  // A plan that follows A's values compares them with a converted copy at every call; one made
  // for constant values (and bmm()) only scans B.
  const MachineModel m = streaming_model();
  const EntryStats s = sparse_entry(512, 512, 64, 0.4);
  Policy follows;
  follows.force = Kernel::Dense;
  Policy constant = follows;
  constant.follows_values = false;
  const Choice a = choose_kernel(s, follows, m);
  const Choice b = choose_kernel(s, constant, m);
  EXPECT_NEAR(a.estimated_seconds - b.estimated_seconds,
              2.0 * static_cast<double>(s.nnz) * 4 / 20e9, 1e-12);
  Policy auto_policy;
  const Choice why = choose_kernel(s, auto_policy, m);
  EXPECT_NE(why.reason.find("dense includes scanning B for Inf and NaN and comparing A's values"),
            std::string::npos)
      << why.reason;
  // The sparse kernel on a CSR entry converts nothing and pays no check.
  Policy sparse = follows;
  sparse.force = Kernel::Sparse;
  Policy sparse_constant = constant;
  sparse_constant.force = Kernel::Sparse;
  EXPECT_EQ(choose_kernel(s, sparse, m).estimated_seconds,
            choose_kernel(s, sparse_constant, m).estimated_seconds);
}

TEST(MachineModelText, RoundTripIsExact) {
  MachineModel m = model();
  m.gpu_gflops = 1234.5678901234567;
  m.gpu_transfer_gbps = 1.0 / 3.0;
  m.gpu_launch_seconds = 7.25e-6;
  m.f64_sparse_factor = 0.8123456789;
  m.stream_gbps = 12.5;
  m.cache_mb = 64;
  m.threads = 7;
  const MachineModel r = MachineModel::from_text(m.to_text());
  EXPECT_EQ(r.to_text(), m.to_text());
  EXPECT_EQ(r.gpu_gflops, m.gpu_gflops);
  EXPECT_EQ(r.gpu_transfer_gbps, m.gpu_transfer_gbps);
  EXPECT_EQ(r.sparse_gflops_small_n, m.sparse_gflops_small_n);
  EXPECT_EQ(r.stream_gbps, 12.5);
  EXPECT_EQ(r.cache_mb, 64);
  EXPECT_EQ(r.threads, 7);
}

TEST(MachineModelText, CommentsBlankLinesAndMissingKeys) {
  const MachineModel m =
      MachineModel::from_text("# saved\n\n  sparse_gflops = 2.5   # per thread\nthreads=3\n");
  EXPECT_EQ(m.sparse_gflops, 2.5);
  EXPECT_EQ(m.threads, 3);
  EXPECT_EQ(m.dense_gflops_large, 0);
  EXPECT_EQ(m.gpu_gflops, 0);
}

TEST(MachineModelText, ErrorsNameTheLine) {
  SPBMM_EXPECT_THROW_MSG(MachineModel::from_text("sparse_gflops = 1\nwarp_speed = 9\n"),
                         InvalidArgument, "line 2: unknown key 'warp_speed'");
  SPBMM_EXPECT_THROW_MSG(MachineModel::from_text("dense_gflops_small = -4\n"), InvalidArgument,
                         "line 1: value of 'dense_gflops_small' is '-4'");
  SPBMM_EXPECT_THROW_MSG(MachineModel::from_text("convert_gbps = fast\n"), InvalidArgument,
                         "value of 'convert_gbps' is 'fast'");
  SPBMM_EXPECT_THROW_MSG(MachineModel::from_text("just words\n"), InvalidArgument,
                         "line 1: expected 'key = value'");
  SPBMM_EXPECT_THROW_MSG(MachineModel::from_text("threads = 1.5\n"), InvalidArgument,
                         "threads is '1.5'");
}

TEST(MachineModelText, DefaultsAreUsable) {
  const MachineModel& d = MachineModel::defaults();
  EXPECT_GT(d.sparse_gflops, 0);
  EXPECT_GT(d.sparse_gflops_small_n, 0);
  EXPECT_GT(d.dense_gflops_small, 0);
  EXPECT_GT(d.dense_gflops_large, 0);
  EXPECT_GT(d.convert_gbps, 0);
  EXPECT_GE(d.threads, 1);
  EXPECT_EQ(&d, &MachineModel::defaults());
}

TEST(KernelNames, EveryKernelHasOne) {
  EXPECT_STREQ(to_string(Kernel::Auto), "auto");
  EXPECT_STREQ(to_string(Kernel::Reference), "reference");
  EXPECT_STREQ(to_string(Kernel::Sparse), "sparse");
  EXPECT_STREQ(to_string(Kernel::Dense), "dense");
  EXPECT_STREQ(to_string(Kernel::Eigen), "eigen");
  EXPECT_STREQ(to_string(Kernel::Gpu), "gpu");
}

}  // namespace
}  // namespace spbmm
