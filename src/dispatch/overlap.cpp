// Exact overlap tests between strided memory extents, and the sweep that finds aliased outputs.
#include "dispatch/overlap.hpp"

#include <algorithm>
#include <tuple>

namespace spbmm::dispatch {
namespace {

// floor(a / b) for b > 0.
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

std::int64_t signed_addr(std::uintptr_t p) { return static_cast<std::int64_t>(p); }

// Walks both run lists in address order; used only when the strides differ.
bool walk_overlap(const Extent& x, const Extent& y) {
  std::int64_t k = 0;
  std::int64_t l = 0;
  const std::int64_t bx = signed_addr(x.base);
  const std::int64_t by = signed_addr(y.base);
  while (k < x.count && l < y.count) {
    const std::int64_t xs = bx + k * x.stride;
    const std::int64_t xe = xs + x.run;
    const std::int64_t ys = by + l * y.stride;
    const std::int64_t ye = ys + y.run;
    if (xs < ye && ys < xe) return true;
    // Jump straight to the first run of the lagging extent that ends after the other one starts.
    if (xe <= ys) {
      k = std::max(k + 1, floor_div(ys - bx - x.run, x.stride) + 1);
    } else {
      l = std::max(l + 1, floor_div(xs - by - y.run, y.stride) + 1);
    }
  }
  return false;
}

}  // namespace

std::optional<Extent> contiguous_extent(const void* data, std::int64_t count, std::size_t bytes) {
  if (data == nullptr || count <= 0) return std::nullopt;
  const std::int64_t run = count * static_cast<std::int64_t>(bytes);
  return Extent{reinterpret_cast<std::uintptr_t>(data), run, run, 1};
}

bool extents_overlap(const Extent& x, const Extent& y) {
  if (x.end() <= y.base || y.end() <= x.base) return false;
  if (x.count == 1 && y.count == 1) return true;
  std::int64_t s = 0;
  if (x.count == 1) {
    s = y.stride;
  } else if (y.count == 1 || x.stride == y.stride) {
    s = x.stride;
  } else {
    return walk_overlap(x, y);
  }
  // With one stride s, run k of x meets run l of y iff t = k - l satisfies
  // d - x.run < t * s < d + y.run, where d = y.base - x.base and t ranges over
  // [-(y.count - 1), x.count - 1]; the smallest t above the lower bound decides.
  const std::int64_t d = signed_addr(y.base) - signed_addr(x.base);
  const std::int64_t t = std::max(floor_div(d - x.run, s) + 1, -(y.count - 1));
  return t <= x.count - 1 && t * s < d + y.run;
}

bool region_less(const Region& p, const Region& q) noexcept {
  const auto key = [](const Region& r) {
    return std::tie(r.extent.base, r.extent.run, r.extent.stride, r.extent.count, r.operand,
                    r.entry);
  };
  return key(p) < key(q);
}

std::optional<std::pair<Region, Region>> find_output_overlap(std::vector<Region> regions) {
  sort_regions(regions);
  return find_output_overlap_sorted(std::move(regions));
}

std::optional<std::pair<Region, Region>> find_output_overlap_sorted(std::vector<Region> regions) {
  // Shared operands (a broadcast B, a shared CSR pattern) appear once per entry; one copy is
  // enough and keeps the sweep linear for them.
  const auto same_input = [](const Region& p, const Region& q) {
    return p.operand != 'C' && q.operand != 'C' && p.extent.base == q.extent.base &&
           p.extent.run == q.extent.run && p.extent.stride == q.extent.stride &&
           p.extent.count == q.extent.count;
  };
  regions.erase(std::unique(regions.begin(), regions.end(), same_input), regions.end());

  std::vector<Region> active;
  for (const Region& r : regions) {
    std::erase_if(active, [&](const Region& a) { return a.extent.end() <= r.extent.base; });
    for (const Region& a : active) {
      if ((a.operand == 'C' || r.operand == 'C') && extents_overlap(a.extent, r.extent)) {
        return a.operand == 'C' ? std::pair{a, r} : std::pair{r, a};
      }
    }
    active.push_back(r);
  }
  return std::nullopt;
}

}  // namespace spbmm::dispatch
