"""Plans that follow A's values, batch sums, one-matrix products, SDDMM and SpMM with reduce."""

import numpy as np
import pytest

import spbmm
from conftest import assert_results, dense_of, expected, needs_scipy, needs_torch, random_csr
from conftest import sparse, torch

KERNELS = ["auto", "reference", "sparse", "dense", "eigen"]


def scale_values(x, factor):
    """Multiplies the stored values of any operand kind in place (the caller's own buffers)."""
    if torch is not None and isinstance(x, torch.Tensor):
        if x.layout == torch.sparse_coo:
            x._values().mul_(factor)
        elif x.layout == torch.sparse_csr:
            x.values().mul_(factor)
        else:
            x.mul_(factor)
    elif sparse is not None and sparse.issparse(x):
        x.data *= factor
    else:
        x *= factor


def noncanonical_csr(rng, rows, cols):
    """A SciPy CSR matrix with unsorted columns in every row (a valid SciPy matrix)."""
    a = random_csr(rng, rows, cols, 0.4)
    for r in range(rows):
        lo, hi = a.indptr[r], a.indptr[r + 1]
        a.indices[lo:hi] = a.indices[lo:hi][::-1].copy()
        a.data[lo:hi] = a.data[lo:hi][::-1].copy()
    a.has_sorted_indices = False
    return a


def scipy_batch(rng, kind):
    if kind == "csr":
        return [random_csr(rng, 7, 5), random_csr(rng, 4, 9, 0.6)]
    if kind == "coo":
        return [random_csr(rng, 7, 5).tocoo(), random_csr(rng, 4, 9, 0.6).tocoo()]
    if kind == "noncanonical":
        return [noncanonical_csr(rng, 6, 8), random_csr(rng, 5, 5)]
    if kind == "float32":  # entries converted to the plan's float64: the plan sees a copy
        return [random_csr(rng, 7, 5, dtype=np.float32), rng.standard_normal((3, 6))]
    return [rng.standard_normal((6, 4)), np.asfortranarray(rng.standard_normal((5, 7)))]


def b_for(rng, A, op_a, n=3):
    return [rng.standard_normal(((a.shape[0] if op_a == "T" else a.shape[1]), n)) for a in A]


@needs_scipy
@pytest.mark.parametrize("kind", ["csr", "coo", "noncanonical", "float32", "dense"])
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("op_a", ["N", "T"])
def test_plan_follows_values_changed_in_place(rng, kind, kernel, op_a):
    A = scipy_batch(rng, kind)
    plan = spbmm.Plan(A, 3, op_a=op_a, kernel=kernel, dtype=np.float64)
    B = b_for(rng, A, op_a)
    assert_results(plan.execute(B), expected(A, B, op_a=op_a))
    for a in A:
        scale_values(a, -2.5)
    assert_results(plan.execute(B), expected(A, B, op_a=op_a))
    # The other op on the same plan sees the new values too.
    other = "N" if op_a == "T" else "T"
    Bo = b_for(rng, A, other)
    assert_results(plan.execute(Bo, op_a=other), expected(A, Bo, op_a=other))


@needs_torch
@pytest.mark.parametrize("layout", ["coo", "uncoalesced", "csr", "dense"])
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("op_a", ["N", "T"])
def test_plan_follows_torch_values_changed_in_place(layout, kernel, op_a):
    g = torch.Generator().manual_seed(13)
    A = []
    for rows, cols in ((6, 5), (4, 8)):
        d = torch.randn(rows, cols, dtype=torch.float64, generator=g)
        d[torch.rand(rows, cols, generator=g) < 0.5] = 0
        if layout == "coo":
            A.append(d.to_sparse())
        elif layout == "uncoalesced":  # every value stored as two halves
            idx = d.nonzero().t()
            v = d[idx[0], idx[1]] / 2
            A.append(torch.sparse_coo_tensor(torch.cat([idx, idx], 1), torch.cat([v, v]), d.shape))
        elif layout == "csr":
            A.append(d.to_sparse_csr())
        else:
            A.append(d)
    plan = spbmm.Plan(A, 2, op_a=op_a, kernel=kernel, both_ops=True)
    B = [torch.randn((a.shape[0] if op_a == "T" else a.shape[1]), 2, dtype=torch.float64,
                     generator=g) for a in A]
    assert_results(plan.execute(B), expected(A, B, op_a=op_a))
    for a in A:
        scale_values(a, 3.0)
    assert_results(plan.execute(B), expected(A, B, op_a=op_a))


@needs_scipy
def test_constant_values_plan_keeps_its_copies(rng):
    # A float32 entry in a float64 plan is a converted copy: with constant_values the plan
    # keeps the values it had when it was made, by the caller's promise.
    A = [random_csr(rng, 6, 5, dtype=np.float32)]
    B = rng.standard_normal((5, 2))
    plan = spbmm.Plan(A, 2, dtype=np.float64, constant_values=True)
    before = expected(A, [B])
    assert_results(plan.execute(B), before)
    A[0].data *= 2
    assert_results(plan.execute(B), before)
    follow = spbmm.Plan(A, 2, dtype=np.float64)
    assert_results(follow.execute(B), expected(A, [B]))


@needs_scipy
def test_plan_execute_with_out_alpha_beta_and_op(rng):
    A = [random_csr(rng, 6, 5), rng.standard_normal((4, 5))]
    plan = spbmm.Plan(A, 2)
    B = [rng.standard_normal((6, 2)), rng.standard_normal((4, 2))]
    out = [rng.standard_normal((5, 2)), rng.standard_normal((5, 2))]
    c0 = [o.copy() for o in out]
    assert plan.execute(B, out, alpha=2.0, beta=0.5, op_a="T") is out
    want = expected(A, B, alpha=2.0, op_a="T")
    assert_results(out, [w + 0.5 * c for w, c in zip(want, c0)])


@needs_scipy
@pytest.mark.parametrize("op_a", ["N", "T"])
def test_batch_sum_same_bits_at_any_thread_count(rng, op_a):
    A = [random_csr(rng, 30, 20), rng.standard_normal((30, 20)), random_csr(rng, 30, 20).tocoo()]
    B = [rng.standard_normal(((30 if op_a == "T" else 20), 4)) for _ in A]
    want = sum(expected(A, B, alpha=1.5, op_a=op_a))
    one = spbmm.bmm_sum(A, B, alpha=1.5, op_a=op_a, threads=1)
    two = spbmm.bmm_sum(A, B, alpha=1.5, op_a=op_a, threads=2)
    np.testing.assert_allclose(one, want, rtol=1e-12, atol=1e-12)
    assert np.array_equal(one, two)
    plan = spbmm.Plan(A, 4, threads=2)
    p = plan.execute_sum(B, alpha=1.5, op_a=op_a)
    np.testing.assert_allclose(p, want, rtol=1e-12, atol=1e-12)
    p1 = spbmm.Plan(A, 4, threads=1).execute_sum(B, alpha=1.5, op_a=op_a)
    assert np.array_equal(p, p1)
    out = np.ones(want.shape)
    assert spbmm.bmm_sum(A, B, alpha=1.5, beta=2.0, out=out, op_a=op_a) is out
    np.testing.assert_allclose(out, want + 2.0, rtol=1e-12, atol=1e-12)
    out = np.ones(want.shape)
    assert plan.execute_sum(B, out, alpha=1.5, beta=-1.0, op_a=op_a) is out
    np.testing.assert_allclose(out, want - 1.0, rtol=1e-12, atol=1e-12)


@needs_scipy
def test_batch_sum_errors(rng):
    A = [random_csr(rng, 5, 4), random_csr(rng, 6, 4)]
    B = rng.standard_normal((4, 2))
    with pytest.raises(spbmm.ShapeError) as e:
        spbmm.bmm_sum(A, B)
    assert isinstance(e.value, ValueError) and "entry 1" in str(e.value)
    out = np.full((5, 3), 7.0)
    with pytest.raises(ValueError):
        spbmm.bmm_sum(A[:1], B, out=out, beta=1.0)
    assert (out == 7.0).all()  # nothing written by a failed call
    with pytest.raises(spbmm.InvalidArgument):
        spbmm.bmm_sum(A, B, beta=1.0)
    with pytest.raises(spbmm.InvalidArgument):
        spbmm.Plan(A, 2).execute_sum(B, op_a="X")


@pytest.mark.parametrize("kind", ["dense", "csr", "coo"])
@pytest.mark.parametrize("op_a", ["N", "T"])
def test_multiply_one_matrix(rng, kind, op_a):
    if kind != "dense" and sparse is None:
        pytest.skip("SciPy is not installed")
    a = rng.standard_normal((6, 4))
    if kind == "csr":
        a = random_csr(rng, 6, 4)
    elif kind == "coo":
        a = random_csr(rng, 6, 4).tocoo()
    b = rng.standard_normal(((6 if op_a == "T" else 4), 3))
    (want,) = expected([a], [b], alpha=0.5, op_a=op_a)
    np.testing.assert_allclose(spbmm.multiply(a, b, alpha=0.5, op_a=op_a), want, rtol=1e-12)
    out = np.ones(want.shape)
    assert spbmm.multiply(a, b, alpha=0.5, beta=3.0, out=out, op_a=op_a) is out
    np.testing.assert_allclose(out, want + 3.0, rtol=1e-12)
    with pytest.raises(spbmm.ShapeError, match="inner dimensions"):
        spbmm.multiply(a, rng.standard_normal((9, 3)), op_a=op_a)
    with pytest.raises(spbmm.ShapeError):
        spbmm.multiply(a, [b, b])


@needs_torch
def test_multiply_torch_in_torch_out():
    a = torch.eye(3, dtype=torch.float64).to_sparse_csr()
    b = torch.arange(6, dtype=torch.float64).reshape(3, 2)
    c = spbmm.multiply(a, b)
    assert isinstance(c, torch.Tensor)
    torch.testing.assert_close(c, b)


# ---- SDDMM ---------------------------------------------------------------------------------

def sampled_reference(a, x, y, alpha, beta):
    """alpha (X Y^T)[r, c] + beta a_rc for every stored (r, c) in a's storage order."""
    if sparse.issparse(a) and a.format == "csr":
        rows = np.repeat(np.arange(a.shape[0]), np.diff(a.indptr))
        cols = a.indices
    else:
        rows, cols = a.row, a.col
    return alpha * np.einsum("ij,ij->i", x[rows], y[cols]) + beta * a.data


@needs_scipy
@pytest.mark.parametrize("threads", [1, 2])
def test_sddmm_ragged_batch(rng, threads):
    dup = sparse.coo_matrix((rng.standard_normal(4), ([0, 2, 0, 1], [1, 1, 1, 0])), shape=(3, 2))
    A = [random_csr(rng, 9, 7), random_csr(rng, 4, 11, 0.5).tocoo(), noncanonical_csr(rng, 5, 6),
         dup, random_csr(rng, 3, 3, 0.0)]
    ks = [5, 3, 8, 2, 4]
    X = [rng.standard_normal((a.shape[0], k)) for a, k in zip(A, ks)]
    Y = [rng.standard_normal((a.shape[1], k)) for a, k in zip(A, ks)]
    Y[0] = np.asfortranarray(Y[0])  # any layout
    got = spbmm.sddmm(A, X, Y, alpha=0.5, beta=2.0, threads=threads)
    assert len(got) == len(A)
    for i, (a, x, y, g) in enumerate(zip(A, X, Y, got)):
        np.testing.assert_allclose(g, sampled_reference(a, x, y, 0.5, 2.0), rtol=1e-12,
                                   atol=1e-12, err_msg=f"entry {i}")
    # In place: out is A's own values.
    want = [sampled_reference(a, x, y, -1.0, 1.0) for a, x, y in zip(A, X, Y)]
    out = [a.data for a in A]
    assert spbmm.sddmm(A, X, Y, alpha=-1.0, beta=1.0, out=out) is out
    for i, (a, w) in enumerate(zip(A, want)):
        np.testing.assert_allclose(a.data, w, rtol=1e-12, atol=1e-12, err_msg=f"entry {i}")


@needs_scipy
def test_sddmm_one_matrix_float32(rng):
    a = random_csr(rng, 8, 6, dtype=np.float32)
    x = rng.standard_normal((8, 4)).astype(np.float32)
    y = rng.standard_normal((6, 4)).astype(np.float32)
    got = spbmm.sddmm(a, x, y)
    assert got.dtype == np.float32 and got.shape == (a.nnz,)
    np.testing.assert_allclose(got, sampled_reference(a, x.astype(np.float64),
                                                      y.astype(np.float64), 1.0, 0.0),
                               rtol=1e-5, atol=1e-5)


@needs_scipy
def test_sddmm_errors(rng):
    A = [random_csr(rng, 5, 4), random_csr(rng, 3, 3)]
    X = [rng.standard_normal((5, 2)), rng.standard_normal((3, 2))]
    Y = [rng.standard_normal((4, 2)), rng.standard_normal((3, 2))]
    with pytest.raises(spbmm.ShapeError) as e:
        spbmm.sddmm(A, X, [Y[0], rng.standard_normal((3, 5))])
    assert isinstance(e.value, ValueError) and "entry 1" in str(e.value)
    with pytest.raises(spbmm.ShapeError):
        spbmm.sddmm(A, X[:1], Y)
    out = [np.full(a.nnz, 7.0) for a in A]
    out[1] = np.zeros(A[1].nnz + 1)
    with pytest.raises(spbmm.ShapeError):
        spbmm.sddmm(A, X, Y, out=out)
    assert (out[0] == 7.0).all()  # every shape checked before anything is written
    with pytest.raises(spbmm.InvalidArgument, match="CSC"):
        spbmm.sddmm([A[0].tocsc()], X[:1], Y[:1])
    with pytest.raises(ValueError):
        spbmm.sddmm([A[0].toarray()], X[:1], Y[:1])
    with pytest.raises(spbmm.InvalidArgument, match="dtype"):
        spbmm.sddmm(A, X, Y, out=[np.zeros(A[0].nnz, np.float32), np.zeros(A[1].nnz)])
    with pytest.raises(spbmm.InvalidArgument):
        spbmm.sddmm(A, X, Y, kernel="dense")


@needs_torch
def test_sddmm_torch_in_torch_out():
    g = torch.Generator().manual_seed(5)
    d = torch.randn(6, 5, dtype=torch.float64, generator=g)
    d[d.abs() < 0.6] = 0
    A = [d.to_sparse(), d.to_sparse_csr()]
    X = torch.randn(2, 6, 3, dtype=torch.float64, generator=g)
    Y = torch.randn(2, 5, 3, dtype=torch.float64, generator=g)
    got = spbmm.sddmm(A, X, Y, alpha=2.0)
    idx = A[0]._indices()  # the CSR entry stores the same pattern in the same (row-major) order
    want = [(X[i] @ Y[i].t())[idx[0], idx[1]] for i in range(2)]
    for t, w in zip(got, want):
        assert isinstance(t, torch.Tensor)
        torch.testing.assert_close(t, 2.0 * w)
    # In place into a CSR tensor's values.
    spbmm.sddmm(A[1], X[1], Y[1], beta=1.0, out=A[1].values())
    torch.testing.assert_close(A[1].values(), want[1] + d[idx[0], idx[1]])


# ---- SpMM with reduce ----------------------------------------------------------------------

def reduce_reference(a, b, reduce):
    """(C, arg) for a canonical CSR a, computed row by row."""
    a = a.tocsr()
    a.sum_duplicates()
    c = np.zeros((a.shape[0], b.shape[1]))
    arg = np.full(c.shape, -1)
    for r in range(a.shape[0]):
        lo, hi = a.indptr[r], a.indptr[r + 1]
        if lo == hi:
            continue
        prods = a.data[lo:hi, None] * b[a.indices[lo:hi]]
        if reduce == "sum":
            c[r] = prods.sum(axis=0)
        elif reduce == "mean":
            c[r] = prods.sum(axis=0) / (hi - lo)
        else:
            k = prods.argmax(axis=0) if reduce == "max" else prods.argmin(axis=0)
            c[r] = prods[k, np.arange(b.shape[1])]
            arg[r] = a.indices[lo:hi][k]
    return c, arg


@needs_scipy
@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
def test_spmm_reduce_against_reference(rng, reduce):
    dup = sparse.coo_matrix((rng.standard_normal(4), ([0, 2, 0, 1], [1, 1, 1, 0])), shape=(4, 2))
    A = [random_csr(rng, 9, 7, 0.3), random_csr(rng, 5, 6, 0.5).tocoo(), dup]
    B = [rng.standard_normal((a.shape[1], 3)) for a in A]
    refs = [reduce_reference(a, b, reduce) for a, b in zip(A, B)]
    if reduce in ("max", "min"):
        C, arg = spbmm.spmm_reduce(A, B, reduce, return_arg=True)
        for i, ((c_ref, a_ref), g) in enumerate(zip(refs, arg)):
            np.testing.assert_array_equal(g, a_ref, err_msg=f"entry {i}")
    else:
        C = spbmm.spmm_reduce(A, B, reduce)
    assert_results(C, [r[0] for r in refs])
    out = [np.full(r[0].shape, 9.0) for r in refs]
    if reduce in ("max", "min"):
        arg = [np.zeros(r[0].shape, dtype=np.int32) for r in refs]
        got = spbmm.spmm_reduce(A, B, reduce, return_arg=True, out=out, arg=arg)
        assert got[0] is out and got[1] is arg
        for g, r in zip(arg, refs):
            np.testing.assert_array_equal(g, r[1])
    else:
        assert spbmm.spmm_reduce(A, B, reduce, out=out) is out
    assert_results(out, [r[0] for r in refs])


@needs_scipy
def test_spmm_reduce_errors(rng):
    A = [random_csr(rng, 5, 4)]
    B = rng.standard_normal((4, 2))
    with pytest.raises(spbmm.InvalidArgument, match="reduce"):
        spbmm.spmm_reduce(A, B, "prod")
    with pytest.raises(spbmm.InvalidArgument, match="max and min"):
        spbmm.spmm_reduce(A, B, "sum", return_arg=True)
    with pytest.raises(spbmm.ShapeError, match="inner dimensions") as e:
        spbmm.spmm_reduce(A, rng.standard_normal((5, 2)), "max")
    assert isinstance(e.value, ValueError)
    out = [np.full((5, 2), 4.0)]
    with pytest.raises(ValueError):
        spbmm.spmm_reduce(A, B, "max", return_arg=True, out=out,
                          arg=[np.zeros((4, 2), dtype=np.int32)])
    assert (out[0] == 4.0).all()
    with pytest.raises(spbmm.InvalidArgument):
        spbmm.spmm_reduce(A, B, "max", arg=[np.zeros((5, 2), dtype=np.int32)])


@needs_torch
def test_spmm_reduce_matches_torch():
    g = torch.Generator().manual_seed(9)
    d = torch.randn(7, 6, dtype=torch.float64, generator=g)
    d[torch.rand(7, 6, generator=g) < 0.5] = 0
    d[3] = 0  # an empty row gives zeros, as torch does
    a = d.to_sparse_csr()
    b = torch.randn(6, 4, dtype=torch.float64, generator=g)
    try:
        torch.sparse.mm(a, b, reduce="sum")
    except (TypeError, RuntimeError, NotImplementedError):
        pytest.skip(f"torch {torch.__version__} has no torch.sparse.mm(..., reduce=...)")
    for reduce in ("sum", "mean", "amax", "amin"):
        (c,) = spbmm.spmm_reduce([a], b, reduce)
        assert isinstance(c, torch.Tensor)
        torch.testing.assert_close(c, torch.sparse.mm(a, b, reduce=reduce))
