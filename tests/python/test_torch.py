"""spbmm.torch: the differentiable batched product (gradients for X and for A's values)."""

import numpy as np
import pytest

import spbmm
from conftest import torch

if torch is None:
    pytest.skip("torch is not installed (Debian's python3-torch or a pip torch runs these)",
                allow_module_level=True)

import spbmm.torch as st  # noqa: E402  (needs torch)


def sparse_values(rows, cols, density, generator, layout):
    """(make, values): a function from values to a sparse tensor of a fixed pattern, and values."""
    mask = torch.rand(rows, cols, generator=generator) < density
    idx = mask.nonzero().t()
    values = torch.randn(idx.shape[1], dtype=torch.float64, generator=generator)

    def make(v):
        coo = torch.sparse_coo_tensor(idx, v, (rows, cols))
        return coo if layout == "coo" else coo.coalesce().to_sparse_csr()

    return make, values


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(1206)


def reference(A, X, alpha, op_a, op_b):
    As = [a.to_dense() if a.layout != torch.strided else a for a in A]
    n = max(len(As), len(X))
    out = []
    for i in range(n):
        a = As[i if len(As) > 1 else 0]
        x = X[i if len(X) > 1 else 0]
        out.append(alpha * ((a.t() if op_a == "T" else a) @ (x.t() if op_b == "T" else x)))
    return out


@pytest.mark.parametrize("layout", ["coo", "csr"])
@pytest.mark.parametrize("op_a", ["N", "T"])
@pytest.mark.parametrize("op_b", ["N", "T"])
def test_gradcheck_ragged(gen, layout, op_a, op_b):
    if layout == "csr" and not st.csr_values_differentiable():
        pytest.skip(f"torch {torch.__version__} has no gradient through sparse CSR values")
    shapes = [(5, 4), (3, 6)]
    makers, values = zip(*[sparse_values(r, c, 0.5, gen, layout) for r, c in shapes])
    xs = []
    for r, c in shapes:
        k = r if op_a == "T" else c
        xs.append(torch.randn((2, k) if op_b == "T" else (k, 2), dtype=torch.float64,
                              generator=gen))
    values = [v.requires_grad_() for v in values]
    xs = [x.requires_grad_() for x in xs]

    def f(*tensors):
        A = [m(v) for m, v in zip(makers, tensors[:2])]
        return tuple(st.bmm(A, list(tensors[2:]), alpha=0.7, op_a=op_a, op_b=op_b))

    assert torch.autograd.gradcheck(f, (*values, *xs))
    got = f(*values, *xs)
    want = reference([m(v) for m, v in zip(makers, values)], xs, 0.7, op_a, op_b)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w)


def test_gradcheck_broadcast_and_dense_entries(gen):
    make, v = sparse_values(6, 5, 0.4, gen, "coo")
    d = torch.randn(3, 5, dtype=torch.float64, generator=gen, requires_grad=True)
    x = torch.randn(5, 4, dtype=torch.float64, generator=gen, requires_grad=True)
    v.requires_grad_()
    # One X shared by a sparse and a dense entry: X's gradient sums over both.
    assert torch.autograd.gradcheck(lambda v, d, x: tuple(st.bmm([make(v), d], x)), (v, d, x))
    # One A shared by several X_i: A's gradient sums over them.
    xs = torch.randn(3, 5, 2, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v, xs: tuple(st.bmm(make(v), xs, op_a="N")), (v, xs))
    dt = torch.randn(5, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(lambda dt, x: tuple(st.bmm([dt], x, op_a="T", alpha=2.0)),
                                    (dt, x))


def test_gradient_of_a_leaf_sparse_tensor_has_its_pattern(gen):
    a = torch.randn(4, 3, dtype=torch.float64, generator=gen).to_sparse().requires_grad_()
    x = torch.randn(3, 2, dtype=torch.float64, generator=gen)
    (y,) = st.bmm([a], x)
    y.sum().backward()
    assert a.grad.layout == torch.sparse_coo
    dense_grad = torch.ones(4, 2, dtype=torch.float64) @ x.t()
    mask = a.detach().to_dense() != 0
    torch.testing.assert_close(a.grad.to_dense(), dense_grad * mask)


def test_csr_values_without_gradient_support(gen):
    if st.csr_values_differentiable():
        pytest.skip(f"torch {torch.__version__} differentiates sparse CSR values")
    make, v = sparse_values(4, 3, 0.5, gen, "csr")
    x = torch.randn(3, 2, dtype=torch.float64, generator=gen, requires_grad=True)
    with pytest.raises(NotImplementedError, match="pass it as COO"):
        st.bmm([make(v.requires_grad_())], x)
    (y,) = st.bmm([make(v.detach())], x)  # a CSR A without gradient works on any torch
    y.sum().backward()
    assert x.grad is not None


def test_coo_duplicates(gen):
    idx = torch.tensor([[0, 1, 0], [1, 0, 1]])
    v = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    x = torch.randn(2, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    f = lambda v, x: tuple(st.bmm([torch.sparse_coo_tensor(idx, v, (2, 2))], x))  # noqa: E731
    assert torch.autograd.gradcheck(f, (v, x))


def test_no_grad_and_inference_mode(gen):
    a = torch.randn(4, 3, generator=gen).to_sparse_csr()
    x = torch.randn(3, 5, generator=gen, requires_grad=True)
    with torch.no_grad():
        (y,) = st.bmm([a], x)
    assert not y.requires_grad
    torch.testing.assert_close(y, a.to_dense() @ x.detach())
    with torch.inference_mode():
        (z,) = st.bmm([a], torch.randn(3, 5, generator=gen))
    assert z.shape == (4, 5)


def test_float32_and_mixed_precision(gen):
    a = torch.randn(4, 3, generator=gen).to_sparse().requires_grad_()
    x = torch.randn(3, 2, dtype=torch.float64, generator=gen, requires_grad=True)
    (y,) = st.bmm([a], x)
    assert y.dtype == torch.float64
    y.sum().backward()
    assert a.grad.dtype == torch.float32 and x.grad.dtype == torch.float64
    a32 = torch.randn(4, 3, generator=gen).to_sparse()
    (y32,) = st.bmm([a32], x.detach().float())
    assert y32.dtype == torch.float32


def test_torch_errors():
    with pytest.raises(TypeError, match="torch tensors"):
        st.bmm([np.eye(2)], torch.eye(2))
    with pytest.raises(spbmm.InvalidArgument, match="op_a"):
        st.bmm([torch.eye(2)], torch.eye(2), op_a="X")
    with pytest.raises(spbmm.ShapeError):
        st.bmm([torch.eye(2).to_sparse()], torch.eye(3))


def test_sddmm_samples_the_product(gen):
    make, v = sparse_values(4, 5, 0.5, gen, "coo")
    a = make(v).coalesce()
    p = torch.randn(4, 3, dtype=torch.float64, generator=gen)
    q = torch.randn(5, 3, dtype=torch.float64, generator=gen)
    row, col = a.indices()
    torch.testing.assert_close(st.sddmm(a, p, q, alpha=0.5, beta=2.0),
                               0.5 * (p @ q.t())[row, col] + 2.0 * a.values())


@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_sddmm_gradcheck_ragged(gen, layout):
    if layout == "csr" and not st.csr_values_differentiable():
        pytest.skip(f"torch {torch.__version__} has no gradient through sparse CSR values")
    shapes = [(5, 4, 3), (3, 6, 2)]
    makers, values = zip(*[sparse_values(r, c, 0.5, gen, layout) for r, c, _ in shapes])
    xs = [torch.randn(r, k, dtype=torch.float64, generator=gen, requires_grad=True)
          for r, _, k in shapes]
    ys = [torch.randn(c, k, dtype=torch.float64, generator=gen, requires_grad=True)
          for _, c, k in shapes]
    values = [v.requires_grad_() for v in values]

    def f(*t):
        A = [m(v) for m, v in zip(makers, t[:2])]
        return tuple(st.sddmm(A, list(t[2:4]), list(t[4:]), alpha=0.7, beta=-1.3))

    assert torch.autograd.gradcheck(f, (*values, *xs, *ys))
    for a, x, y, got in zip([m(v) for m, v in zip(makers, values)], xs, ys, f(*values, *xs, *ys)):
        d = a.to_dense()
        mask = d != 0
        torch.testing.assert_close(got, (0.7 * (x @ y.t()) - 1.3 * d)[mask])


def test_sddmm_errors():
    with pytest.raises(spbmm.InvalidArgument, match="dense"):
        st.sddmm(torch.eye(2), torch.eye(2), torch.eye(2))
    with pytest.raises(spbmm.ShapeError):
        st.sddmm([torch.eye(2).to_sparse()], [torch.eye(2)], [torch.eye(2), torch.eye(2)])
    with pytest.raises(spbmm.ShapeError):
        st.sddmm(torch.eye(2).to_sparse(), torch.ones(2, 3), torch.ones(2, 4))
