// Over-aligned storage for dense values: an allocator and the vector the dense containers own.
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace spbmm {

// The alignment, in bytes, of the value buffers DenseMatrix and DenseBatch own: one cache line
// and one AVX-512 register.
inline constexpr std::size_t kDenseAlignment = 64;

// A std::allocator-compatible allocator whose blocks start on an Align-byte boundary.
template <class T, std::size_t Align = kDenseAlignment>
class AlignedAllocator {
  static_assert(Align >= alignof(T) && (Align & (Align - 1)) == 0,
                "Align must be a power of two no smaller than alignof(T)");

 public:
  using value_type = T;
  using size_type = std::size_t;
  using difference_type = std::ptrdiff_t;
  using is_always_equal = std::true_type;
  template <class U>
  struct rebind {
    using other = AlignedAllocator<U, Align>;
  };
  static constexpr std::size_t alignment = Align;

  AlignedAllocator() noexcept = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U, Align>&) noexcept {}  // NOLINT

  [[nodiscard]] T* allocate(std::size_t n) {
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{Align}));
  }
  void deallocate(T* p, std::size_t n) noexcept {
#ifdef __cpp_sized_deallocation
    ::operator delete (p, n * sizeof(T), std::align_val_t{Align});
#else
    // Clang before 19 leaves sized deallocation off by default.
    (void)n;
    ::operator delete (p, std::align_val_t{Align});
#endif
  }

  template <class U>
  friend bool operator==(const AlignedAllocator&, const AlignedAllocator<U, Align>&) noexcept {
    return true;
  }
};

// A std::vector whose data() starts on a kDenseAlignment-byte boundary (when it has allocated).
// It is a std::vector<T, AlignedAllocator<T>> in every respect, and also takes the values of a
// plain std::vector<T> (by copy) and compares equal to one holding the same values.
template <class T>
class AlignedVector : public std::vector<T, AlignedAllocator<T>> {
  using Base = std::vector<T, AlignedAllocator<T>>;

 public:
  using Base::Base;
  AlignedVector() = default;
  explicit AlignedVector(const std::vector<T>& v) : Base(v.begin(), v.end()) {}

  using Base::operator=;
  AlignedVector& operator=(const std::vector<T>& v) {
    this->assign(v.begin(), v.end());
    return *this;
  }

  friend bool operator==(const AlignedVector& a, const std::vector<T>& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
  }
};

}  // namespace spbmm
