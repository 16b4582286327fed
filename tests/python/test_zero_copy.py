"""The arrays the extension views are the caller's own buffers (no copy) wherever dtype and
layout allow, and copies are made exactly where they must be."""

import numpy as np
import pytest

from conftest import needs_scipy, needs_torch, random_csr, torch
from spbmm import _inputs


def prepared(A, extra=()):
    entries, _, _ = _inputs.prepare_batch(A, extra)
    return entries


@needs_scipy
def test_scipy_csr_and_coo_are_viewed(rng):
    a = random_csr(rng, 9, 7)
    c = random_csr(rng, 5, 7).tocoo()
    (ea, ec) = prepared([a, c])
    assert ea[0] == _inputs.CSR and ec[0] == _inputs.COO
    assert ea[3] is a.indptr and ea[4] is a.indices and ea[5] is a.data
    assert np.shares_memory(ec[3], c.row) and np.shares_memory(ec[5], c.data)


@needs_scipy
def test_copies_only_where_needed(rng):
    a = random_csr(rng, 9, 7)
    (e32,) = prepared([a.astype(np.float32)], [np.dtype(np.float64)])  # promoted: a copy
    assert e32[5].dtype == np.float64 and not np.shares_memory(e32[5], a.data)
    assert e32[3].dtype == np.int32  # the indices are still the caller's type
    csc = a.tocsc()
    (ecsc,) = prepared([csc])  # converted to CSR: new arrays
    assert not np.shares_memory(ecsc[5], csc.data)


def test_numpy_layouts_are_viewed(rng):
    c_order = rng.standard_normal((4, 6))
    f_order = np.asfortranarray(rng.standard_normal((4, 6)))
    window = rng.standard_normal((8, 9))[2:6, 1:7]
    strided = rng.standard_normal((8, 12))[::2, ::2]  # no unit stride: copied
    entries = prepared([c_order, f_order, window, strided])
    assert entries[0][1] is c_order and entries[1][1] is f_order and entries[2][1] is window
    assert not np.shares_memory(entries[3][1], strided)
    given = [f_order.T, window]
    b = _inputs.DenseOperand(given, "B")
    for got, g in zip(b.typed(np.dtype(np.float64)), given):
        assert got is g


@needs_torch
def test_torch_tensors_are_viewed():
    dense = torch.randn(4, 3, dtype=torch.float64)
    csr = torch.randn(5, 3, dtype=torch.float64).to_sparse_csr()
    coo = torch.randn(2, 3, dtype=torch.float64).to_sparse().coalesce()
    ed, ecsr, ecoo = prepared([dense, csr, coo])
    assert np.shares_memory(ed[1], dense.numpy())
    assert np.shares_memory(ecsr[5], csr.values().numpy())
    assert np.shares_memory(ecsr[3], csr.crow_indices().numpy())
    assert np.shares_memory(ecoo[5], coo.values().numpy())
    assert np.shares_memory(ecoo[3], coo.indices().numpy())
    b = _inputs.DenseOperand(dense.t(), "B")  # a transposed view stays a view
    assert np.shares_memory(b.typed(np.dtype(np.float64))[0], dense.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_out_arrays_are_the_callers(dtype):
    out = np.zeros((3, 4, 5), dtype=dtype)
    arrays = _inputs.output_arrays(out, np.dtype(dtype))
    assert len(arrays) == 3 and all(np.shares_memory(a, out) for a in arrays)
