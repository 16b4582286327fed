"""spbmm.torch.mm: the differentiable dense product X @ W (values, gradients, errors, bits)."""

import numpy as np
import pytest

import spbmm
from conftest import torch

if torch is None:
    pytest.skip("torch is not installed (Debian's python3-torch or a pip torch runs these)",
                allow_module_level=True)

import spbmm.torch as st  # noqa: E402  (needs torch)


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(1207)


def operands(gen, m, k, n, dtype):
    x = torch.randn(m, k, dtype=dtype, generator=gen).requires_grad_(True)
    w = torch.randn(k, n, dtype=dtype, generator=gen).requires_grad_(True)
    return x, w


def torch_grads(x, w, r):
    """(Z, dX, dW) of loss = sum((X W) * R) by torch's own matmul."""
    xt = x.detach().clone().requires_grad_(True)
    wt = w.detach().clone().requires_grad_(True)
    z = xt @ wt
    (z * r).sum().backward()
    return z.detach(), xt.grad, wt.grad


# (dtype, rtol, atol): fp32 against torch's own fp32 (another order of summation), fp64 tight.
TOLERANCES = [(torch.float32, 1e-4, 1e-4), (torch.float64, 1e-12, 1e-12)]


@pytest.mark.parametrize("dtype,rtol,atol", TOLERANCES)
@pytest.mark.parametrize("m,k,n", [(1, 3, 2), (37, 16, 8), (1500, 64, 48)])
def test_values_and_gradients_match_torch(gen, dtype, rtol, atol, m, k, n):
    x, w = operands(gen, m, k, n, dtype)
    r = torch.randn(m, n, dtype=dtype, generator=gen)
    z = st.mm(x, w, threads=2)
    assert z.dtype == dtype and z.shape == (m, n) and z.requires_grad
    (z * r).sum().backward()
    z_ref, dx_ref, dw_ref = torch_grads(x, w, r)
    # Scale by k: every element is a sum of k products of unit-sized numbers.
    scale = max(1.0, float(np.sqrt(k)))
    torch.testing.assert_close(z.detach(), z_ref, rtol=rtol, atol=atol * scale)
    torch.testing.assert_close(x.grad, dx_ref, rtol=rtol, atol=atol * scale)
    torch.testing.assert_close(w.grad, dw_ref, rtol=rtol, atol=atol * float(np.sqrt(m)))


def test_gradcheck_double(gen):
    x, w = operands(gen, 9, 5, 4, torch.float64)
    assert torch.autograd.gradcheck(lambda a, b: st.mm(a, b), (x, w))
    # One input requiring a gradient only.
    x2 = x.detach().requires_grad_(False)
    assert torch.autograd.gradcheck(lambda b: st.mm(x2, b), (w,))
    w2 = w.detach().requires_grad_(False)
    assert torch.autograd.gradcheck(lambda a: st.mm(a, w2), (x,))


def test_gradient_of_a_broadcast_output_gradient(gen):
    # sum()'s backward hands a stride-0 (expanded) gradient: read through a copy.
    x, w = operands(gen, 30, 6, 5, torch.float64)
    st.mm(x, w).sum().backward()
    torch.testing.assert_close(x.grad, torch.ones(30, 5, dtype=torch.float64) @ w.detach().t())
    torch.testing.assert_close(w.grad, x.detach().t() @ torch.ones(30, 5, dtype=torch.float64))


def test_no_grad_and_inference_mode(gen):
    x, w = operands(gen, 40, 7, 3, torch.float64)
    want = x.detach() @ w.detach()
    with torch.no_grad():
        z = st.mm(x, w)
    assert not z.requires_grad
    torch.testing.assert_close(z, want, rtol=1e-12, atol=1e-12)
    with torch.inference_mode():
        z = st.mm(x.detach(), w.detach())
    torch.testing.assert_close(z, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("view", ["transposed", "column_slice", "row_step"])
def test_non_contiguous_inputs(gen, view):
    base = torch.randn(24, 24, dtype=torch.float64, generator=gen)
    if view == "transposed":
        x = base.t()[:, :10]  # column-major
    elif view == "column_slice":
        x = base[:, 3:13]  # row-major with a leading dimension of 24
    else:
        x = base[::2, :10]  # every other row
    assert not x.is_contiguous()
    x = x.requires_grad_(True)
    w_base = torch.randn(6, 10, dtype=torch.float64, generator=gen)
    w = w_base.t().requires_grad_(True)  # 10 x 6, column-major
    r = torch.randn(x.shape[0], 6, dtype=torch.float64, generator=gen)
    z = st.mm(x, w)
    (z * r).sum().backward()
    z_ref, dx_ref, dw_ref = torch_grads(x, w, r)
    torch.testing.assert_close(z.detach(), z_ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(x.grad, dx_ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(w.grad, dw_ref, rtol=1e-12, atol=1e-12)


def test_empty_shapes(gen):
    x = torch.randn(0, 4, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    z = st.mm(x, w)
    assert z.shape == (0, 3)
    z.sum().backward()
    assert x.grad.shape == (0, 4)
    torch.testing.assert_close(w.grad, torch.zeros(4, 3, dtype=torch.float64))
    x = torch.randn(5, 0, dtype=torch.float64)
    w = torch.randn(0, 3, dtype=torch.float64)
    torch.testing.assert_close(st.mm(x, w), torch.zeros(5, 3, dtype=torch.float64))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_weight_gradient_bits_do_not_depend_on_the_thread_count(gen, dtype):
    # Tall enough for several chunks of the stacked A^T B and several pieces of its sum.
    x, w = operands(gen, 20000, 64, 48, dtype)
    r = torch.randn(20000, 48, dtype=dtype, generator=gen)
    grads = []
    for threads in (1, 2, 3):
        x.grad = w.grad = None
        (st.mm(x, w, threads=threads) * r).sum().backward()
        grads.append(w.grad.clone())
    for g in grads[1:]:
        assert torch.equal(g, grads[0])
    _, _, dw_ref = torch_grads(x, w, r)
    tol = 1e-3 if dtype == torch.float32 else 1e-10
    torch.testing.assert_close(grads[0], dw_ref, rtol=tol, atol=tol)


def test_results_do_not_share_memory_with_live_tensors(gen):
    # Results come from spbmm.empty's pool of large blocks: a block goes to a new result only
    # after every tensor on it is gone.
    x, w = operands(gen, 9000, 128, 128, torch.float32)  # 4.6 MB results: pooled sizes
    with torch.no_grad():
        a = st.mm(x, w)
        want = a.clone()
        b = st.mm(x, w * 2)
        assert a.data_ptr() != b.data_ptr()
        torch.testing.assert_close(a, want)
        del b
        c = st.mm(x, w * 3)
        assert c.data_ptr() != a.data_ptr()
        torch.testing.assert_close(a, want)


def test_errors():
    x = torch.ones(4, 3)
    w = torch.ones(3, 2)
    with pytest.raises(spbmm.ShapeError, match=r"X is 4 x 3 and W 2 x 3"):
        st.mm(x, torch.ones(2, 3))
    with pytest.raises(ValueError):  # ShapeError is a ValueError
        st.mm(x, torch.ones(2, 3))
    with pytest.raises(spbmm.ShapeError, match=r"X: expected a 2-D tensor, got shape \(2, 4, 3\)"):
        st.mm(torch.ones(2, 4, 3), w)
    with pytest.raises(spbmm.ShapeError, match="W: expected a 2-D tensor"):
        st.mm(x, torch.ones(3))
    with pytest.raises(TypeError, match="X: spbmm.torch.mm takes torch tensors, not ndarray"):
        st.mm(np.ones((4, 3), dtype=np.float32), w)
    with pytest.raises(TypeError, match="W: expected a dense"):
        st.mm(x, w.to_sparse())
    with pytest.raises(TypeError, match="W: dtype torch.int64"):
        st.mm(x, torch.ones(3, 2, dtype=torch.int64))
    with pytest.raises(TypeError, match="X: dtype torch.float16"):
        st.mm(torch.ones(4, 3, dtype=torch.float16), w)
    with pytest.raises(TypeError, match="X is torch.float32 and W torch.float64"):
        st.mm(x, w.double())
    with pytest.raises(spbmm.InvalidArgument, match="X: a tensor on meta"):
        st.mm(torch.ones(4, 3, device="meta"), w)
    with pytest.raises(spbmm.InvalidArgument, match="threads"):
        st.mm(x, w, threads=-1)
    with pytest.raises(spbmm.InvalidArgument, match="kernel"):
        st.mm(x, w, kernel=3)
