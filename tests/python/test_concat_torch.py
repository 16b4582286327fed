"""spbmm.torch.bmm over concatenated (PyG ptr) batches: gradients for the features and the
values, against torch's block-diagonal products, with and without a plan."""

import numpy as np
import pytest

import spbmm
from conftest import torch
from test_concat import batch_arrays, coo_arrays

if torch is None:
    pytest.skip("torch is not installed (Debian's python3-torch or a pip torch runs these)",
                allow_module_level=True)

import spbmm.torch as st  # noqa: E402  (needs torch)


def make_batch(rng, kind, dtype=np.float64):
    """(batch maker from values, values leaf, block-diagonal dense maker, nodes)."""
    data = batch_arrays(rng, dtype=dtype)
    _, indptr, indices, values, ptr = data
    n = int(ptr[-1])
    if kind == "csr":
        ip, ix, p = (torch.from_numpy(a) for a in (indptr, indices, ptr))

        def make(v):
            return spbmm.ConcatCsr(ip, ix, v, p)

        rows = np.repeat(np.arange(n), np.diff(indptr))
        coords = torch.from_numpy(np.stack([rows, indices]))
    else:
        edge_index, _, _ = coo_arrays(data)
        ei, p = torch.from_numpy(edge_index), torch.from_numpy(ptr)

        def make(v):
            return spbmm.ConcatCoo(ei, v, p)

        coords = ei

    def dense(v):
        return torch.sparse_coo_tensor(coords, v, (n, n)).to_dense()

    dense.coords = coords  # the global (row, column) of every value, in storage order
    return make, torch.from_numpy(values.copy()), dense, n


@pytest.mark.parametrize("kind", ["csr", "coo"])
@pytest.mark.parametrize("op_a", ["N", "T"])
@pytest.mark.parametrize("op_b", ["N", "T"])
def test_gradcheck_concat(rng, kind, op_a, op_b):
    make, v, dense, n = make_batch(rng, kind)
    x = torch.randn((3, n) if op_b == "T" else (n, 3), dtype=torch.float64)
    v.requires_grad_()
    x.requires_grad_()

    def f(v, x):
        return st.bmm(make(v), x, alpha=0.7, op_a=op_a, op_b=op_b)

    assert torch.autograd.gradcheck(f, (v, x))
    a = dense(v.detach())
    want = 0.7 * (a.t() if op_a == "T" else a) @ (x.detach().t() if op_b == "T" else x.detach())
    torch.testing.assert_close(f(v, x).detach(), want)


@pytest.mark.parametrize("kind", ["csr", "coo"])
def test_concat_gradients_match_torch(rng, kind):
    make, v, dense, n = make_batch(rng, kind)
    x = torch.randn(n, 4, dtype=torch.float64, requires_grad=True)
    r = torch.randn(n, 4, dtype=torch.float64)
    v.requires_grad_()
    (st.bmm(make(v), x) * r).sum().backward()
    v2 = v.detach().clone().requires_grad_()
    x2 = x.detach().clone().requires_grad_()
    (dense(v2) @ x2 * r).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad)
    torch.testing.assert_close(v.grad, v2.grad)


def test_concat_with_a_plan_follows_values(rng):
    make, v, dense, n = make_batch(rng, "csr", np.float32)
    v.requires_grad_()
    batch = make(v)
    plan = spbmm.Plan(batch, 4, both_ops=True)
    x = torch.randn(n, 4, requires_grad=True)
    r = torch.randn(n, 4)
    for step in range(3):
        v.grad = x.grad = None
        y = st.bmm(batch, x, plan=plan)
        want = dense(v.detach()) @ x.detach()
        torch.testing.assert_close(y.detach(), want, rtol=1e-5, atol=1e-5)
        (y * r).sum().backward()
        torch.testing.assert_close(x.grad, dense(v.detach()).t() @ r, rtol=1e-5, atol=1e-5)
        with torch.no_grad():
            v -= 0.1 * v.grad  # in place: the plan sees the new values


def test_concat_torch_errors(rng):
    make, v, _, n = make_batch(rng, "csr")
    batch = make(v)
    with pytest.raises(TypeError, match="one dense 2-D tensor"):
        st.bmm(batch, [torch.ones(2, 2)])
    with pytest.raises(spbmm.ShapeError, match="nodes"):
        st.bmm(batch, torch.ones(n + 1, 2, dtype=torch.float64))
    other = make(v.clone())
    with pytest.raises(spbmm.InvalidArgument, match="another batch"):
        st.bmm(batch, torch.ones(n, 2, dtype=torch.float64), plan=spbmm.Plan(other, 2))
    with pytest.raises(spbmm.InvalidArgument, match="computes in float32"):
        st.bmm(batch, torch.ones(n, 2, dtype=torch.float64),
               plan=spbmm.Plan(batch, 2, dtype=np.float32))
    with pytest.raises(spbmm.InvalidArgument, match="concatenated A only"):
        st.bmm([torch.eye(2)], torch.eye(2), plan=spbmm.Plan(batch, 2))


def test_concat_numpy_values_have_no_gradient(rng):
    _, indptr, indices, values, ptr = batch_arrays(rng)
    batch = spbmm.ConcatCsr(indptr, indices, values, ptr)
    x = torch.randn(int(ptr[-1]), 2, dtype=torch.float64, requires_grad=True)
    y = st.bmm(batch, x)
    y.sum().backward()
    assert x.grad is not None and y.shape == x.shape


def test_concat_mixed_precision(rng):
    make, v, dense, n = make_batch(rng, "coo", np.float32)
    v.requires_grad_()
    x = torch.randn(n, 3, dtype=torch.float64, requires_grad=True)
    y = st.bmm(make(v), x)
    assert y.dtype == torch.float64
    y.sum().backward()
    assert v.grad.dtype == torch.float32 and x.grad.dtype == torch.float64
    torch.testing.assert_close(y.detach(), dense(v.detach()).double() @ x.detach())


def test_concat_plan_with_op_b_t_is_refused(rng):
    make, v, _, n = make_batch(rng, "csr")
    batch = make(v)
    with pytest.raises(spbmm.InvalidArgument, match="op_b") as e:
        st.bmm(batch, torch.ones(n, 2, dtype=torch.float64),
               plan=spbmm.Plan(batch, 2, op_b="T"))
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("kind", ["csr", "coo"])
def test_concat_sddmm_gradcheck(rng, kind):
    make, v, dense, n = make_batch(rng, kind)
    x = torch.randn(n, 2, dtype=torch.float64, requires_grad=True)
    y = torch.randn(n, 2, dtype=torch.float64, requires_grad=True)
    v.requires_grad_()

    def f(v, x, y):
        return st.sddmm(make(v), x, y, alpha=0.7, beta=-1.3)

    assert torch.autograd.gradcheck(f, (v, x, y))
    row, col = dense.coords
    want = 0.7 * (x.detach() @ y.detach().t())[row, col] - 1.3 * v.detach()
    torch.testing.assert_close(f(v, x, y).detach(), want)


def test_concat_sddmm_errors(rng):
    make, v, _, n = make_batch(rng, "csr")
    with pytest.raises(TypeError, match="over all nodes"):
        st.sddmm(make(v), [torch.ones(2, 2)], torch.ones(n, 2))


@pytest.mark.parametrize("op_a", ["N", "T"])
def test_gradcheck_rectangular_blocks(rng, op_a):
    from test_concat import rectangular
    dense, indptr, indices, values, ptr, col_ptr = rectangular(rng, [(4, 6), (0, 2), (5, 3)])
    v = torch.from_numpy(values.copy()).requires_grad_()
    x = torch.randn(int(ptr[-1] if op_a == "T" else col_ptr[-1]), 2, dtype=torch.float64,
                    requires_grad=True)

    def f(v, x):
        return st.bmm(spbmm.ConcatCsr(indptr, indices, v, ptr, col_ptr), x, op_a=op_a)

    assert torch.autograd.gradcheck(f, (v, x))
    y = st.sddmm(spbmm.ConcatCsr(indptr, indices, v, ptr, col_ptr),
                 torch.randn(int(ptr[-1]), 2, dtype=torch.float64),
                 torch.randn(int(col_ptr[-1]), 2, dtype=torch.float64))
    assert y.shape == v.shape
