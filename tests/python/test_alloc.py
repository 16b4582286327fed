"""spbmm.empty and spbmm.zeros: 64-byte aligned arrays and tensors, and their use as out."""

import numpy as np
import pytest

import spbmm
from conftest import needs_torch, torch


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.uint8])
@pytest.mark.parametrize("shape", [(0,), (1,), (3, 5), (1000, 7), (2, 0, 4), 17, ()])
def test_empty_is_aligned_with_its_dtype_and_shape(dtype, shape):
    for _ in range(4):  # several allocations: not aligned by chance
        a = spbmm.empty(shape, dtype)
        assert a.dtype == dtype
        assert a.shape == ((shape,) if isinstance(shape, int) else shape)
        assert a.ctypes.data % 64 == 0
        assert a.flags.c_contiguous and a.flags.writeable
        a[...] = 1  # the whole buffer is writable
        assert (a == 1).all()


def test_zeros_are_zero_and_the_default_dtype_is_float32():
    a = spbmm.zeros((513, 129))
    assert a.dtype == np.float32 and a.ctypes.data % 64 == 0
    assert not a.any()
    b = spbmm.zeros(10, np.float64)
    assert b.dtype == np.float64 and not b.any()


def test_aligned_arrays_as_out(rng):
    a = [rng.standard_normal((7, 5)), rng.standard_normal((3, 5))]
    b = rng.standard_normal((5, 4))
    out = [spbmm.empty((7, 4), np.float64), spbmm.empty((3, 4), np.float64)]
    assert spbmm.bmm(a, b, out=out) is out
    for x, o in zip(a, out):
        np.testing.assert_allclose(o, x @ b, rtol=1e-12)
    c = spbmm.zeros((2, 7, 4), np.float64)
    spbmm.Plan(a[:1] * 2, 4).execute([b, b], out=c)
    np.testing.assert_allclose(c[1], a[0] @ b, rtol=1e-12)
    s = spbmm.zeros((4, 4), np.float64)
    assert spbmm.bmm_sum([b, b], [b.T, b.T], op_a="T", op_b="T", out=s) is s
    np.testing.assert_allclose(s, 2 * b.T @ b, rtol=1e-12)


def test_results_the_package_allocates_are_aligned(rng):
    a = [rng.standard_normal((7, 5)), rng.standard_normal((7, 5))]
    b = [rng.standard_normal((7, 3)), rng.standard_normal((7, 3))]
    assert spbmm.bmm_sum(a, b, op_a="T").ctypes.data % 64 == 0
    assert spbmm.Plan(a, 3, op_a="T").execute_sum(b).ctypes.data % 64 == 0
    # The entries of a new batch lie back to back in one aligned buffer: the first is aligned.
    assert spbmm.bmm(a, rng.standard_normal((5, 2)))[0].ctypes.data % 64 == 0


@pytest.mark.parametrize("bad,words", [
    ((-1, 3), "negative"),
    ((2.5,), "integers"),
    ("ab", "integers"),
    (None, "integer or a tuple"),
])
def test_bad_shapes(bad, words):
    with pytest.raises(spbmm.InvalidArgument) as e:
        spbmm.empty(bad)
    assert isinstance(e.value, ValueError)
    assert words in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("bad,words", [(object, "not numeric"), ("no such type", "dtype"),
                                       (np.str_, "not numeric")])
def test_bad_dtypes(bad, words):
    with pytest.raises(spbmm.InvalidArgument) as e:
        spbmm.zeros((2, 2), bad)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_bad_like():
    with pytest.raises(spbmm.InvalidArgument) as e:
        spbmm.empty((2, 2), like="cupy")
    assert "like must be" in str(e.value)
    with pytest.raises(spbmm.InvalidArgument):
        spbmm.empty((2, 2), like=[1, 2])
    assert isinstance(spbmm.empty((2, 2), like=np.zeros(1)), np.ndarray)
    assert isinstance(spbmm.empty((2, 2), like="numpy"), np.ndarray)


@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64, torch and torch.float64,
                                   torch and torch.int64])
def test_torch_tensors(dtype):
    like = torch.zeros(1)
    for _ in range(4):
        t = spbmm.empty((100, 3), dtype, like="torch")
        assert isinstance(t, torch.Tensor) and t.data_ptr() % 64 == 0
        assert t.shape == (100, 3) and t.is_contiguous()
        z = spbmm.zeros((5, 129), dtype, like=like)
        assert isinstance(z, torch.Tensor) and z.data_ptr() % 64 == 0 and not z.any()
    want = {np.float32: torch.float32, np.float64: torch.float64}.get(dtype, dtype)
    assert spbmm.empty(3, dtype, like="torch").dtype == want


@needs_torch
def test_torch_tensor_as_out():
    a = torch.randn(6, 4, dtype=torch.float64).to_sparse_csr()
    b = torch.randn(4, 3, dtype=torch.float64)
    out = spbmm.empty((6, 3), torch.float64, like=b)
    assert spbmm.multiply(a, b, out=out) is out
    torch.testing.assert_close(out, a.to_dense() @ b)
    with pytest.raises(spbmm.InvalidArgument):
        spbmm.empty((2, 2), torch.bfloat16, like="torch")


@pytest.mark.parametrize("kernel", ["auto", "reference", "sparse", "dense", "eigen"])
def test_beta_zero_never_reads_out(rng, kernel):
    # New results come from uninitialized (aligned) memory: with beta = 0 the kernels must not
    # read it, NaN included, as BLAS does.
    a = [rng.standard_normal((6, 5)) * (rng.random((6, 5)) < 0.5), rng.standard_normal((3, 5))]
    b = rng.standard_normal((5, 4))
    out = [np.full((6, 4), np.nan), np.full((3, 4), np.nan)]
    spbmm.bmm(a, b, out=out, kernel=kernel)
    for x, o in zip(a, out):
        np.testing.assert_allclose(o, x @ b, rtol=1e-12, atol=1e-12)
    s = np.full((5, 5), np.nan)
    spbmm.bmm_sum(a, [np.ones((6, 5)), np.ones((3, 5))], op_a="T", out=s, kernel=kernel)
    assert np.isfinite(s).all()


def test_large_blocks_are_reused_only_after_their_arrays_go_away():
    from spbmm import _alloc
    _alloc.release_pool()
    shape = (1 << 20, 2)  # 8 MiB of float32: pooled
    a = spbmm.empty(shape)
    a[...] = 7
    where = a.ctypes.data
    b = spbmm.empty(shape)  # a is alive: other memory
    assert b.ctypes.data != where and b.ctypes.data % 64 == 0
    view = a[10:20]
    del a
    c = spbmm.empty(shape)  # a's block is still held by the view
    assert c.ctypes.data != where and (view == 7).all()
    del view
    assert _alloc.pooled_bytes() >= 8 << 20
    d = spbmm.zeros(shape)  # now reused, and zeroed
    assert d.ctypes.data == where and not d.any()
    assert spbmm.empty((1 << 20, 3)).ctypes.data != where  # another size: not this block
    del b, c, d
    _alloc.release_pool()
    assert _alloc.pooled_bytes() == 0


@needs_torch
def test_pooled_blocks_behind_tensors():
    from spbmm import _alloc
    _alloc.release_pool()
    t = spbmm.empty((1 << 20, 2), like="torch")
    where = t.data_ptr()
    u = t[5:]
    del t
    other = spbmm.empty((1 << 20, 2))
    assert other.ctypes.data != where  # u still views it
    del u
    assert spbmm.empty((1 << 20, 2), like="torch").data_ptr() == where
    del other
    _alloc.release_pool()
