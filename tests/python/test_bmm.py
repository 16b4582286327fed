"""spbmm.bmm over every input kind, ragged and mixed batches, broadcasting, ops, alpha and beta."""

import numpy as np
import pytest

import spbmm
from conftest import (assert_results, expected, needs_scipy, needs_torch, random_csr,
                      sparse, torch)


def test_version_and_config():
    assert spbmm.__version__.count(".") == 2
    cfg = spbmm.config()
    assert cfg["version"] == spbmm.__version__
    assert set(cfg) >= {"openmp", "blas", "mkl", "xsmm", "cuda", "gpu", "isa"}
    assert cfg["isa"] in ("generic", "avx2+fma", "avx512")
    assert isinstance(cfg["openmp"], bool) and isinstance(cfg["cuda"], bool)


def test_numpy_dense_batch(rng):
    A = [rng.standard_normal((3, 4)), rng.standard_normal((5, 2))]
    B = [rng.standard_normal((4, 6)), rng.standard_normal((2, 3))]
    C = spbmm.bmm(A, B)
    assert all(isinstance(c, np.ndarray) and c.dtype == np.float64 for c in C)
    assert_results(C, expected(A, B))


@needs_scipy
@pytest.mark.parametrize("fmt", ["csr", "coo", "csc", "lil", "bsr", "dok", "dia"])
def test_scipy_formats(rng, fmt):
    a = random_csr(rng, 7, 5).asformat(fmt)
    b = rng.standard_normal((5, 3))
    assert_results(spbmm.bmm([a], [b]), expected([a], [b]))


@needs_scipy
def test_scipy_sparse_arrays(rng):
    if not hasattr(sparse, "csr_array"):
        pytest.skip("this SciPy has no sparse arrays")
    a = sparse.csr_array(random_csr(rng, 6, 4))
    c = sparse.coo_array(random_csr(rng, 3, 4))
    b = rng.standard_normal((4, 2))
    assert_results(spbmm.bmm([a, c], b), expected([a, c], [b]))


@needs_scipy
def test_scipy_non_canonical_csr_is_summed_not_changed(rng):
    # Unsorted columns and a duplicate (0, 1) in row 0; the caller's matrix stays as it is.
    data = np.array([1.0, 2.0, 3.0, 4.0])
    indices = np.array([2, 1, 1, 0], dtype=np.int32)
    indptr = np.array([0, 3, 4], dtype=np.int32)
    a = sparse.csr_matrix((data, indices, indptr), shape=(2, 3))
    b = rng.standard_normal((3, 2))
    want = np.array([[0, 5, 1], [4, 0, 0]], dtype=np.float64) @ b
    (c,) = spbmm.bmm([a], b)
    np.testing.assert_allclose(c, want, rtol=1e-12)
    np.testing.assert_array_equal(a.indices, indices)


@needs_scipy
def test_coo_duplicates_and_any_order(rng):
    a = sparse.coo_matrix((np.array([1.0, 2.0, 3.0]), (np.array([1, 0, 1]), np.array([0, 2, 0]))),
                          shape=(2, 3))
    b = rng.standard_normal((3, 4))
    np.testing.assert_allclose(spbmm.bmm([a], b)[0], a.toarray() @ b, rtol=1e-12)


@needs_scipy
def test_ragged_mixed_batch(rng):
    A = [random_csr(rng, 30, 20, 0.1), rng.standard_normal((4, 7)),
         random_csr(rng, 9, 11, 0.5).tocoo(), random_csr(rng, 1, 1, 1.0),
         np.asfortranarray(rng.standard_normal((8, 3)))]
    B = [rng.standard_normal((a.shape[1], k)) for a, k in zip(A, [5, 1, 3, 2, 6])]
    assert_results(spbmm.bmm(A, B), expected(A, B))


def test_empty_batch_and_empty_entries(rng):
    assert spbmm.bmm([], []) == []
    A = [np.zeros((0, 3)), rng.standard_normal((2, 0)), rng.standard_normal((2, 3))]
    B = [rng.standard_normal((3, 4)), np.zeros((0, 4)), rng.standard_normal((3, 0))]
    C = spbmm.bmm(A, B)
    assert [c.shape for c in C] == [(0, 4), (2, 4), (2, 0)]
    np.testing.assert_array_equal(C[1], 0)


@needs_scipy
def test_zero_nnz_entry(rng):
    a = sparse.csr_matrix((4, 3))
    (c,) = spbmm.bmm([a], rng.standard_normal((3, 2)))
    np.testing.assert_array_equal(c, np.zeros((4, 2)))


@needs_scipy
def test_broadcast_one_b_many_a(rng):
    A = [random_csr(rng, r, 6) for r in (3, 8, 1)]
    b = rng.standard_normal((6, 4))
    C = spbmm.bmm(A, b)
    assert len(C) == 3
    assert_results(C, expected(A, [b]))


@needs_scipy
def test_broadcast_one_a_many_b(rng):
    a = random_csr(rng, 5, 6)
    B = [rng.standard_normal((6, k)) for k in (1, 4, 2)]
    C = spbmm.bmm(a, B)  # a lone matrix is a batch of one
    assert_results(C, expected([a], B))
    C3 = spbmm.bmm([a], np.stack([rng.standard_normal((6, 3))] * 2))  # a 3-D B is a batch
    assert len(C3) == 2


def test_3d_arrays_are_batches(rng):
    A = rng.standard_normal((4, 3, 5))
    B = rng.standard_normal((4, 5, 2))
    assert_results(spbmm.bmm(A, B), expected(list(A), list(B)))


@needs_scipy
@pytest.mark.parametrize("op_a", ["N", "T"])
@pytest.mark.parametrize("op_b", ["N", "T"])
def test_ops_alpha_beta(rng, op_a, op_b):
    shapes = [(5, 3), (2, 7)]
    A = [random_csr(rng, *s) if i == 0 else rng.standard_normal(s) for i, s in enumerate(shapes)]
    n = 4
    B = []
    for a in A:
        k = a.shape[0] if op_a == "T" else a.shape[1]
        B.append(rng.standard_normal((n, k) if op_b == "T" else (k, n)))
    assert_results(spbmm.bmm(A, B, alpha=-1.5, op_a=op_a, op_b=op_b),
                   expected(A, B, -1.5, op_a, op_b))
    want = expected(A, B, 2.0, op_a, op_b)
    out = [rng.standard_normal(w.shape) for w in want]
    start = [o.copy() for o in out]
    res = spbmm.bmm(A, B, alpha=2.0, beta=0.5, out=out, op_a=op_a, op_b=op_b)
    assert res is out
    assert_results(out, [w + 0.5 * s for w, s in zip(want, start)])


def test_beta_zero_does_not_read_out(rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    out = np.full((3, 2), np.nan)
    spbmm.bmm([a], [b], out=[out])
    np.testing.assert_allclose(out, a @ b, rtol=1e-12)


def test_float32_stays_float32_and_promotion(rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((4, 2)).astype(np.float32)
    (c,) = spbmm.bmm([a], [b])
    assert c.dtype == np.float32
    np.testing.assert_allclose(c, a @ b, rtol=1e-5)
    (c64,) = spbmm.bmm([a], [b.astype(np.float64)])
    assert c64.dtype == np.float64
    (ci,) = spbmm.bmm([np.arange(12).reshape(3, 4)], [b])  # integers promote to float64
    assert ci.dtype == np.float64
    (cd,) = spbmm.bmm([a], [b], dtype=np.float64)
    assert cd.dtype == np.float64
    out = np.zeros((3, 2), dtype=np.float32)
    spbmm.bmm([a.astype(np.float64)], [b], out=[out])  # out's dtype decides
    np.testing.assert_allclose(out, a @ b, rtol=1e-5)


def test_strided_and_transposed_views(rng):
    big = rng.standard_normal((10, 12))
    A = [big[1:5, 2:9], big[::2, ::3], big.T[:4, :6]]  # row-major ld, no unit stride, col-major
    B = [rng.standard_normal((a.shape[1], 3)) for a in A]
    B[0] = np.asfortranarray(B[0])
    assert_results(spbmm.bmm(A, B), expected(A, B))


def test_lists_are_converted(rng):
    C = spbmm.bmm([[[1.0, 2.0], [3.0, 4.0]]], [[[1.0], [1.0]]])
    np.testing.assert_allclose(C[0], [[3.0], [7.0]])


@needs_scipy
@pytest.mark.parametrize("kernel", ["auto", "reference", "sparse", "dense", "eigen"])
def test_forced_kernels_agree(rng, kernel):
    A = [random_csr(rng, 40, 30, 0.2), rng.standard_normal((10, 30))]
    b = rng.standard_normal((30, 8))
    assert_results(spbmm.bmm(A, b, kernel=kernel), expected(A, [b]), rtol=1e-9, atol=1e-9)


@needs_scipy
@pytest.mark.parametrize("threads", [None, 1, 2])
def test_threads(rng, threads):
    A = [random_csr(rng, 200, 150, 0.05) for _ in range(6)]
    b = rng.standard_normal((150, 16))
    assert_results(spbmm.bmm(A, b, threads=threads), expected(A, [b]), rtol=1e-9, atol=1e-9)


@needs_scipy
def test_int64_and_int32_indices_mixed(rng):
    a = random_csr(rng, 6, 5)
    a64 = a.copy()
    a64.indices = a.indices.astype(np.int64)  # SciPy narrows indices given to its constructor
    a64.indptr = a.indptr.astype(np.int64)
    assert a64.indices.dtype == np.int64
    b = rng.standard_normal((5, 2))
    assert_results(spbmm.bmm([a, a64, a.tocoo()], b), expected([a, a, a], [b]))


@needs_torch
def test_torch_inputs_give_torch_results(rng):
    a = torch.tensor(rng.standard_normal((4, 3)))
    coo = torch.tensor(rng.standard_normal((5, 3))).to_sparse()
    csr = torch.tensor(rng.standard_normal((2, 3))).to_sparse_csr()
    b = torch.tensor(rng.standard_normal((3, 6)))
    C = spbmm.bmm([a, coo, csr], b)
    assert all(isinstance(c, torch.Tensor) and c.dtype == torch.float64 for c in C)
    assert_results(C, expected([a, coo, csr], [b]))


@needs_torch
@needs_scipy
def test_mixed_kinds_one_batch(rng):
    A = [torch.tensor(rng.standard_normal((4, 3)), dtype=torch.float32).to_sparse(),
         random_csr(rng, 6, 3), rng.standard_normal((2, 3)),
         torch.tensor(rng.standard_normal((3, 3))).to_sparse_csr()]
    B = [rng.standard_normal((3, 2)) for _ in A]
    C = spbmm.bmm(A, B)  # NumPy B: NumPy results
    assert all(isinstance(c, np.ndarray) for c in C)
    assert_results(C, expected(A, B), rtol=1e-6, atol=1e-6)


@needs_torch
def test_torch_float32_and_requires_grad_inputs(rng):
    a = torch.randn(4, 3, requires_grad=True)
    b = torch.randn(3, 2)
    (c,) = spbmm.bmm([a], b)
    assert c.dtype == torch.float32 and not c.requires_grad
    np.testing.assert_allclose(c.numpy(), (a @ b).detach().numpy(), rtol=1e-5, atol=1e-6)


@needs_torch
def test_torch_out_in_place(rng):
    a = torch.randn(4, 3, dtype=torch.float64).to_sparse_csr()
    b = torch.randn(3, 5, dtype=torch.float64)
    out = torch.ones(2, 4, 5, dtype=torch.float64)
    res = spbmm.bmm([a, a], [b, 2 * b], out=out, beta=1.0)
    assert res is out
    want = a.to_dense() @ b
    torch.testing.assert_close(out[0], want + 1)
    torch.testing.assert_close(out[1], 2 * want + 1)


@needs_torch
def test_torch_uncoalesced_coo_and_transposed_dense():
    idx = torch.tensor([[1, 0, 1], [0, 2, 0]])
    a = torch.sparse_coo_tensor(idx, torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64), (2, 3))
    assert not a.is_coalesced()  # duplicates (1, 0) summed by spbmm, not by a copy here
    b = torch.randn(4, 3, dtype=torch.float64).t()  # a column-major view
    (c,) = spbmm.bmm([a], b)
    torch.testing.assert_close(c, a.to_dense() @ b)
