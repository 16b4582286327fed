// Uses spbmm from a Meson subproject: a CSR x dense product through the dispatcher.
#include <spbmm/spbmm.hpp>

#include <cstdio>

int main() {
  // A = [[1, 0, 2], [0, 3, 0]] times B = all ones (3 x 2).
  const spbmm::CsrBatch<double, int> a({2}, {3}, {0, 2, 3}, {0, 2, 1}, {1.0, 2.0, 3.0});
  spbmm::DenseBatch<double> b({3}, {2});
  for (double& x : b.values()) x = 1.0;
  const spbmm::DenseBatch<double> c = spbmm::bmm(a, b);
  std::printf("spbmm %s from a subproject: C = [[%g, %g], [%g, %g]]\n", SPBMM_VERSION,
              c.entry(0)(0, 0), c.entry(0)(0, 1), c.entry(0)(1, 0), c.entry(0)(1, 1));
  const bool ok = c.entry(0)(0, 0) == 3 && c.entry(0)(0, 1) == 3 && c.entry(0)(1, 0) == 3 &&
                  c.entry(0)(1, 1) == 3;
  return ok ? 0 : 1;
}
