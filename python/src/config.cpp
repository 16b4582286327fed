// spbmm.config(): what this build of the library has, as `spbmm --version` prints it.
#include "spbmm/config.hpp"
#include "common.hpp"
#include "kernels/cpu/isa.hpp"

namespace spbmm::python {

void init_config(py::module_& m) {
  m.attr("__version__") = SPBMM_VERSION;
  m.def(
      "config",
      [] {
        py::dict d;
        d["version"] = SPBMM_VERSION;
        d["openmp"] = static_cast<bool>(SPBMM_HAVE_OPENMP);
        d["blas"] = SPBMM_HAVE_BLAS ? py::object(py::str("OpenBLAS")) : py::object(py::none());
#if defined(SPBMM_HAVE_MKL)
        d["mkl"] = static_cast<bool>(SPBMM_HAVE_MKL);
#else
        d["mkl"] = false;
#endif
        d["xsmm"] = static_cast<bool>(SPBMM_HAVE_XSMM);
        d["cuda"] = static_cast<bool>(SPBMM_HAVE_CUDA);
        d["gpu"] = gpu::status();
        d["isa"] = kernels::cpu::to_string(kernels::cpu::active_isa());
        return d;
      },
      "The version and the features this build has: OpenMP, BLAS, MKL, LIBXSMM (xsmm), CUDA (and the GPU's "
      "status), and the instruction set the CPU sparse kernels use.");
}

}  // namespace spbmm::python
