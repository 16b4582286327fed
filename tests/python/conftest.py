"""Shared helpers of the pytest suite: random operands of every kind and their dense values."""

import os
import pathlib

import numpy as np
import pytest

try:
    import scipy.sparse as sparse
except ImportError:  # the suite runs without SciPy, skipping what needs it
    sparse = None

try:
    import torch
except ImportError:
    torch = None

DATA = pathlib.Path(os.environ.get("SPBMM_TEST_DATA",
                                   pathlib.Path(__file__).resolve().parents[2] / "data"))

needs_scipy = pytest.mark.skipif(sparse is None, reason="SciPy is not installed")
needs_torch = pytest.mark.skipif(
    torch is None,
    reason="torch is not installed (Debian's python3-torch or a pip torch runs these)")


def dense_of(x):
    """The dense NumPy value of any operand kind the package takes."""
    if torch is not None and isinstance(x, torch.Tensor):
        x = x.detach()
        return (x.to_dense() if x.layout != torch.strided else x).cpu().numpy()
    if sparse is not None and sparse.issparse(x):
        return x.toarray()
    return np.asarray(x)


def random_csr(rng, rows, cols, density=0.3, dtype=np.float64):
    a = sparse.random(rows, cols, density=density, format="csr", dtype=dtype,
                      random_state=rng)
    a.data[:] = rng.standard_normal(a.nnz)
    return a


def expected(A, B, alpha=1.0, op_a="N", op_b="N"):
    """alpha op(A_i) op(B_i) computed densely in float64, with the same broadcasting."""
    As = [dense_of(a).astype(np.float64) for a in A]
    Bs = [dense_of(b).astype(np.float64) for b in B]
    n = max(len(As), len(Bs))
    out = []
    for i in range(n):
        a = As[i if len(As) > 1 else 0]
        b = Bs[i if len(Bs) > 1 else 0]
        out.append(alpha * ((a.T if op_a == "T" else a) @ (b.T if op_b == "T" else b)))
    return out


def assert_results(got, want, rtol=1e-10, atol=1e-10):
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        g = dense_of(g)
        assert g.shape == w.shape, f"entry {i}: shape {g.shape} != {w.shape}"
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"entry {i}")


@pytest.fixture
def rng():
    return np.random.default_rng(20261206)

