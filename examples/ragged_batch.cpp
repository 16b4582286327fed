// A ragged sparse x dense batch: two CSR entries of different shapes, one dense B per entry.
#include <spbmm/spbmm.hpp>

#include <cstdio>

int main() {
  // A_0 is 2x3 and A_1 is 3x2, stored back to back: row pointers, column indices, values.
  const spbmm::CsrBatch<float, int> a({2, 3}, {3, 2},
                                      {0, 2, 3, /* A_1: */ 0, 1, 1, 2},  // row pointers
                                      {0, 2, 1, /* A_1: */ 1, 0},        // column indices
                                      {1.f, 2.f, 3.f, /* A_1: */ 4.f, 5.f});
  // B_0 is 3x4 and B_1 is 2x4, all ones.
  spbmm::DenseBatch<float> b({3, 2}, {4, 4});
  for (float& x : b.values()) x = 1.f;

  // C_i = A_i * B_i: C_0 is 2x4, C_1 is 3x4.
  const spbmm::DenseBatch<float> c = spbmm::bmm(a, b);
  std::printf("C_0(0, 0) = %g, C_1(2, 0) = %g\n", c.entry(0)(0, 0), c.entry(1)(2, 0));
  return c.entry(0)(0, 0) == 3.f && c.entry(1)(2, 0) == 5.f ? 0 : 1;
}
