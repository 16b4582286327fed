// Memory-overlap detection between the output batch and the operands of a product.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "spbmm/dense.hpp"

namespace spbmm::dispatch {

// The bytes a strided operand occupies: `count` runs of `run` bytes, run k starting at
// base + k * stride. Contiguous arrays are one run.
struct Extent {
  std::uintptr_t base = 0;
  std::int64_t run = 0;
  std::int64_t stride = 0;
  std::int64_t count = 0;

  std::uintptr_t end() const noexcept {
    return base + static_cast<std::uintptr_t>((count - 1) * stride + run);
  }
};

// One operand's memory: which operand ('A', 'B' or 'C') and which of its batch entries.
struct Region {
  Extent extent;
  char operand = 'A';
  std::size_t entry = 0;
};

// Extent of a contiguous array of `count` elements of `bytes` each; nullopt when empty.
std::optional<Extent> contiguous_extent(const void* data, std::int64_t count, std::size_t bytes);

// Extent of a (validated) dense view; nullopt when empty.
template <class T>
std::optional<Extent> dense_extent(const DenseView<T>& v) {
  if (v.empty()) return std::nullopt;
  const bool row_major = v.layout == Layout::RowMajor;
  const std::int64_t outer = row_major ? v.rows : v.cols;
  const std::int64_t inner = row_major ? v.cols : v.rows;
  const auto size = static_cast<std::int64_t>(sizeof(T));
  Extent e{reinterpret_cast<std::uintptr_t>(v.data), inner * size, v.ld * size, outer};
  // A tight view is one contiguous run, which lets the exact test below take its O(1) path.
  if (e.stride == e.run || e.count == 1) e = {e.base, e.count * e.run, e.count * e.run, 1};
  return e;
}

// True when the two extents share at least one byte; exact for strided extents, so disjoint
// sub-blocks of one buffer (say, the two column halves of a row-major matrix) do not overlap.
bool extents_overlap(const Extent& x, const Extent& y);

// The first pair of regions that share memory where at least one is a 'C' region (operands may
// share memory with each other: they are only read). nullopt when there is none.
std::optional<std::pair<Region, Region>> find_output_overlap(std::vector<Region> regions);

// The order find_output_overlap sorts by (a total order on distinct regions).
bool region_less(const Region& p, const Region& q) noexcept;
inline void sort_regions(std::vector<Region>& regions) {
  if (!std::is_sorted(regions.begin(), regions.end(), region_less)) {
    std::sort(regions.begin(), regions.end(), region_less);
  }
}
// find_output_overlap for regions already sorted by region_less.
std::optional<std::pair<Region, Region>> find_output_overlap_sorted(std::vector<Region> regions);

}  // namespace spbmm::dispatch
