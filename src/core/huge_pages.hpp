// reserve_large: room for a large array, asked of the kernel as transparent huge pages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace spbmm::detail {

// A process that reads a large file touches every page of the arrays it fills once, and each
// 4 KiB page costs it a page fault (for the W3 file, about 10,000 of them: a tenth of `spbmm
// info`'s time). Where the kernel grants transparent huge pages on request (THP "madvise" mode,
// the common default), one fault then maps 2 MiB. Arrays below kLargeArrayBytes are left alone:
// they come from the heap and are reused, and the hint would split its mapping for nothing.
inline constexpr std::size_t kLargeArrayBytes = std::size_t{4} << 20;

// v.reserve(n), then the hint on the whole 2 MiB pages inside the new storage. The hint is
// advice: where it is refused or unknown nothing changes but the page size.
template <class X>
void reserve_large(std::vector<X>& v, std::size_t n) {
  v.reserve(n);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const std::size_t bytes = n * sizeof(X);
  if (bytes < kLargeArrayBytes || v.data() == nullptr) return;
  constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
  const auto begin = reinterpret_cast<std::uintptr_t>(v.data());
  const std::uintptr_t lo = (begin + kHuge - 1) & ~(kHuge - 1);
  const std::uintptr_t hi = (begin + bytes) & ~(kHuge - 1);
  if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
#endif
}

}  // namespace spbmm::detail
