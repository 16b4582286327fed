// Tests of the exact memory-overlap test against a byte-by-byte brute force.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "dispatch/overlap.hpp"

namespace spbmm::dispatch {
namespace {

std::set<std::uintptr_t> bytes_of(const Extent& e) {
  std::set<std::uintptr_t> out;
  for (std::int64_t k = 0; k < e.count; ++k) {
    for (std::int64_t b = 0; b < e.run; ++b) out.insert(e.base + k * e.stride + b);
  }
  return out;
}

bool brute_overlap(const Extent& x, const Extent& y) {
  const auto bx = bytes_of(x);
  for (auto b : bytes_of(y)) {
    if (bx.count(b) != 0) return true;
  }
  return false;
}

TEST(Overlap, MatchesBruteForceOnRandomStridedExtents) {
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int> base(1000, 1120), run(1, 9), extra(0, 9), count(1, 6);
  const auto random_extent = [&](bool same_stride, std::int64_t stride) {
    Extent e;
    e.base = static_cast<std::uintptr_t>(base(rng));
    e.run = run(rng);
    e.stride = same_stride ? std::max<std::int64_t>(stride, e.run) : e.run + extra(rng);
    e.count = count(rng);
    return e;
  };
  int overlapping = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    const bool same = trial % 2 == 0;
    const Extent x = random_extent(false, 0);
    const Extent y = random_extent(same, x.stride);
    const bool want = brute_overlap(x, y);
    overlapping += want ? 1 : 0;
    ASSERT_EQ(extents_overlap(x, y), want)
        << "x = {" << x.base << ", " << x.run << ", " << x.stride << ", " << x.count << "} y = {"
        << y.base << ", " << y.run << ", " << y.stride << ", " << y.count << "}";
    ASSERT_EQ(extents_overlap(y, x), want);
  }
  // Both outcomes must be well represented for the comparison to mean anything.
  EXPECT_GT(overlapping, 2000);
  EXPECT_LT(overlapping, 18000);
}

TEST(Overlap, DenseExtentsOfSubBlocks) {
  std::vector<double> buf(24);
  // Left and right halves of a row-major 4x6 matrix, and its middle column block.
  const auto left = *dense_extent(DenseView<double>(buf.data(), 4, 3, Layout::RowMajor, 6));
  const auto right = *dense_extent(DenseView<double>(buf.data() + 3, 4, 3, Layout::RowMajor, 6));
  const auto mid = *dense_extent(DenseView<double>(buf.data() + 2, 4, 2, Layout::RowMajor, 6));
  EXPECT_FALSE(extents_overlap(left, right));
  EXPECT_TRUE(extents_overlap(left, mid));
  EXPECT_TRUE(extents_overlap(right, mid));
  // A tight view is one run; an empty one has no extent.
  const auto whole = *dense_extent(DenseView<double>(buf.data(), 4, 6));
  EXPECT_EQ(whole.count, 1);
  EXPECT_EQ(whole.run, 24 * 8);
  EXPECT_FALSE(dense_extent(DenseView<double>(buf.data(), 0, 6)).has_value());
  EXPECT_FALSE(contiguous_extent(nullptr, 3, 8).has_value());
}

TEST(Overlap, OnlyPairsWithAnOutputAreReported) {
  const auto ext = [](std::uintptr_t base, std::int64_t len) { return Extent{base, len, len, 1}; };
  // Inputs may share memory freely.
  EXPECT_FALSE(find_output_overlap({{ext(100, 50), 'A', 0},
                                    {ext(100, 50), 'B', 0},
                                    {ext(120, 50), 'B', 1},
                                    {ext(200, 8), 'C', 0}})
                   .has_value());
  const auto hit =
      find_output_overlap({{ext(100, 50), 'A', 0}, {ext(300, 8), 'C', 0}, {ext(140, 8), 'C', 3}});
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->first.operand, 'C');
  EXPECT_EQ(hit->first.entry, 3u);
  EXPECT_EQ(hit->second.operand, 'A');
  // Adjacent but disjoint outputs are fine; sharing one byte is not.
  EXPECT_FALSE(find_output_overlap({{ext(0, 8), 'C', 0}, {ext(8, 8), 'C', 1}}).has_value());
  EXPECT_TRUE(find_output_overlap({{ext(0, 9), 'C', 0}, {ext(8, 8), 'C', 1}}).has_value());
}

}  // namespace
}  // namespace spbmm::dispatch
