"""spbmm.rcm_order: a node order that relabels a graph once (SciPy, NumPy and torch inputs)."""

import numpy as np
import pytest

import spbmm
from conftest import needs_scipy, needs_torch, sparse, torch


def shuffled_grid(k, rng):
    """A k x k grid graph (4 neighbours) with its nodes numbered at random, as SciPy CSR."""
    n = k * k
    node = np.arange(n).reshape(k, k)
    rows = np.concatenate([node[:-1].ravel(), node[1:].ravel(), node[:, :-1].ravel(),
                           node[:, 1:].ravel()])
    cols = np.concatenate([node[1:].ravel(), node[:-1].ravel(), node[:, 1:].ravel(),
                           node[:, :-1].ravel()])
    label = rng.permutation(n)
    return sparse.csr_matrix((rng.random(rows.size), (label[rows], label[cols])), shape=(n, n))


def bandwidth(m):
    m = m.tocoo()
    return int(np.abs(m.row.astype(np.int64) - m.col).max())


@needs_scipy
def test_order_narrows_a_shuffled_grid_and_products_follow():
    rng = np.random.default_rng(1)
    k = 30
    a = shuffled_grid(k, rng)
    assert bandwidth(a) > 10 * k
    order = spbmm.rcm_order(a)
    assert isinstance(order, np.ndarray) and order.dtype == np.int32
    assert np.array_equal(np.sort(order), np.arange(k * k))
    a2 = a[order][:, order]
    assert bandwidth(a2) <= 2 * k
    x = rng.random((k * k, 8))
    np.testing.assert_allclose(spbmm.bmm([a2], x[order])[0], (a @ x)[order], rtol=1e-12)
    # Unsorted and duplicated indices, and a dense input, give the same order.
    coo = a.tocoo()
    dup = sparse.coo_matrix((np.r_[coo.data, coo.data], (np.r_[coo.row, coo.row],
                                                         np.r_[coo.col, coo.col])), shape=a.shape)
    assert np.array_equal(spbmm.rcm_order(dup), order)
    assert np.array_equal(spbmm.rcm_order(a.toarray()), order)


@needs_torch
@needs_scipy
def test_torch_inputs_give_a_torch_order():
    rng = np.random.default_rng(2)
    a = shuffled_grid(12, rng)
    want = spbmm.rcm_order(a)
    dense = torch.from_numpy(a.toarray())
    for t in (dense, dense.to_sparse(), dense.to_sparse_csr()):
        got = spbmm.rcm_order(t)
        assert isinstance(got, torch.Tensor) and got.dtype == torch.int64
        assert np.array_equal(got.numpy(), want)


@needs_scipy
def test_bad_input_is_named():
    with pytest.raises(spbmm.ShapeError, match="square"):
        spbmm.rcm_order(sparse.csr_matrix((3, 4)))
    with pytest.raises(spbmm.InvalidArgument, match="2-D"):
        spbmm.rcm_order(np.zeros(5))
    assert spbmm.rcm_order(sparse.csr_matrix((0, 0))).size == 0
