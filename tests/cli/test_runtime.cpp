// What a process that links libspbmm pays for it: no BLAS thread pool of its own at start, and
// BLAS products that run in the OpenMP pool rather than beside it.
#include <dirent.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "spbmm/config.hpp"
#include "spbmm/plan.hpp"
#include "spbmm/spbmm.hpp"
#include "test_util.hpp"

namespace {

int threads_now() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (const dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

std::string maps() {
  std::ifstream f("/proc/self/maps");
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Counted before gtest or anything else starts a thread.
const int kThreadsAtStart = threads_now();

TEST(Runtime, LoadingTheLibraryStartsNoThreads) {
  // OpenBLAS's pthreads build starts its pool when it loads; its OpenMP build and libgomp start
  // threads only for the first parallel region.
  EXPECT_EQ(kThreadsAtStart, 1);
}

TEST(Runtime, BlasRunsInTheOpenMpPool) {
#if !SPBMM_HAVE_BLAS
  GTEST_SKIP() << "built without BLAS";
#else
#if SPBMM_TEST_BLAS_OPENMP
  EXPECT_NE(maps().find("openblas-openmp"), std::string::npos) << "the OpenMP build of OpenBLAS "
                                                                  "is not the one loaded";
#endif
  // A product large enough for BLAS, through the dense kernel.
  std::mt19937_64 rng(5);
  const auto a = spbmm::test::random_dense<double>(384, 384, rng);
  const auto b = spbmm::test::random_dense<double>(384, 384, rng);
  spbmm::PlanOptions po;
  po.policy.force = spbmm::Kernel::Dense;
  po.threads = 2;
  const spbmm::Plan<double, std::int32_t> plan(
      spbmm::BatchView<double, std::int32_t>({spbmm::DenseView<const double>(a.view())}), 384, po);
  const auto c = plan.execute(spbmm::DenseBatchView<const double>::single(b.view()));
  ASSERT_EQ(c.size(), 1u);
  // Every thread of the process belongs to the OpenMP pool (plus the main thread).
  EXPECT_LE(threads_now(), std::max(omp_get_max_threads(), 2)) << maps();
#endif
}

}  // namespace
