"""spbmm.ConcatCsr and spbmm.ConcatCoo: concatenated (PyG ptr) batches against per-graph
products, views of the caller's arrays, and every error path."""

import numpy as np
import pytest

import spbmm
from conftest import needs_torch, torch

SIZES = [5, 0, 1, 7, 3]


def batch_arrays(rng, sizes=SIZES, density=0.4, dtype=np.float64, index=np.int64):
    """(dense graphs, indptr, indices, values, ptr) of a random block-diagonal CSR matrix."""
    dense, indptr, indices, values, ptr, _ = rectangular(rng, [(n, n) for n in sizes], density)
    return ([d.astype(dtype) for d in dense], indptr.astype(index), indices.astype(index),
            values.astype(dtype), ptr.astype(np.int64))


def coo_arrays(batch_csr):
    dense, indptr, indices, values, ptr = batch_csr
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr)).astype(indices.dtype)
    return np.stack([rows, indices]), values, ptr


def stacked(dense, f, rng, dtype=np.float64):
    return rng.standard_normal((sum(d.shape[0] for d in dense), f)).astype(dtype)


def per_graph(dense, x, ptr, op_a="N"):
    out = []
    for g, d in enumerate(dense):
        a = d.T if op_a == "T" else d
        out.append(a.astype(np.float64) @ x[ptr[g]:ptr[g + 1]].astype(np.float64))
    return np.concatenate(out) if out else np.zeros((0, x.shape[1]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", [np.int32, np.int64])
@pytest.mark.parametrize("op_a", ["N", "T"])
def test_concat_csr_bmm_matches_per_graph(rng, dtype, index, op_a):
    data = batch_arrays(rng, dtype=dtype, index=index)
    dense, indptr, indices, values, ptr = data
    a = spbmm.ConcatCsr(indptr, indices, values, ptr)
    assert len(a) == len(SIZES) and a.shape == (sum(SIZES),) * 2 and a.nnz == len(values)
    x = stacked(dense, 4, rng, dtype)
    y = spbmm.bmm(a, x, op_a=op_a)
    assert isinstance(y, np.ndarray) and y.shape == x.shape and y.dtype == dtype
    assert spbmm._alloc.is_aligned(y)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, per_graph(dense, x, ptr, op_a), rtol=tol, atol=tol)
    # The same through a list of per-graph B_i: a list of per-graph results.
    parts = spbmm.bmm(a, [x[ptr[g]:ptr[g + 1]] for g in range(len(SIZES))], op_a=op_a)
    np.testing.assert_allclose(np.concatenate(parts), y, rtol=tol, atol=tol)


def test_concat_op_b_t_and_out(rng):
    dense, indptr, indices, values, ptr = batch_arrays(rng)
    a = spbmm.ConcatCsr(indptr, indices, values, ptr)
    xt = rng.standard_normal((3, ptr[-1]))  # f x nodes
    want = per_graph(dense, xt.T.copy(), ptr)
    np.testing.assert_allclose(spbmm.bmm(a, xt, op_b="T"), want, rtol=1e-12, atol=1e-12)
    out = spbmm.zeros((ptr[-1], 3), np.float64)
    out += 1.0
    got = spbmm.bmm(a, xt, op_b="T", out=out, alpha=2.0, beta=0.5)
    assert got is out
    np.testing.assert_allclose(out, 2.0 * want + 0.5, rtol=1e-12, atol=1e-12)


def test_concat_views_the_callers_arrays(rng):
    dense, indptr, indices, values, ptr = batch_arrays(rng)
    a = spbmm.ConcatCsr(indptr, indices, values, ptr)
    entries = a.raw_entries()
    for g, e in enumerate(entries):
        if e[5].size:
            assert np.shares_memory(e[5], values)
    from spbmm import _inputs
    prepared, _, _ = _inputs.prepare_raws(entries, ())
    assert all(np.shares_memory(p[5], values) for p in prepared if p[5].size)
    x = stacked(dense, 2, rng)
    parts = a.split_nodes(x, "X")
    assert all(np.shares_memory(p, x) for p in parts if p.size)


def test_concat_plan_follows_values(rng):
    dense, indptr, indices, values, ptr = batch_arrays(rng)
    a = spbmm.ConcatCsr(indptr, indices, values, ptr)
    plan = spbmm.Plan(a, 4, both_ops=True)
    x = stacked(dense, 4, rng)
    np.testing.assert_allclose(plan.execute(x), per_graph(dense, x, ptr), rtol=1e-12,
                               atol=1e-12)
    values *= 3.0  # in place: the plan sees it
    dense = [3.0 * d for d in dense]
    np.testing.assert_allclose(plan.execute(x), per_graph(dense, x, ptr), rtol=1e-12,
                               atol=1e-12)
    out = spbmm.empty(x.shape, np.float64)
    assert plan.execute(x, out, op_a="T") is out
    np.testing.assert_allclose(out, per_graph(dense, x, ptr, "T"), rtol=1e-12, atol=1e-12)


def test_concat_plan_refreshes_converted_values(rng):
    dense, indptr, indices, values, ptr = batch_arrays(rng, dtype=np.float32)
    a = spbmm.ConcatCsr(indptr, indices, values, ptr)
    plan = spbmm.Plan(a, 2, dtype=np.float64)  # a float64 copy of the values, refreshed
    x = stacked(dense, 2, rng)
    values *= 2.0
    want = per_graph([2.0 * d for d in dense], x, ptr)
    np.testing.assert_allclose(plan.execute(x), want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("given_edge_ptr", [True, False])
def test_concat_coo_matches_per_graph(rng, given_edge_ptr):
    data = batch_arrays(rng)
    dense, _, _, _, ptr = data
    edge_index, values, _ = coo_arrays(data)
    # Unsorted edges within each graph and a duplicate (they add up).
    edge_ptr = np.concatenate([[0], np.cumsum([np.count_nonzero(d) for d in dense])])
    order = np.concatenate([rng.permutation(np.arange(edge_ptr[g], edge_ptr[g + 1]))
                            for g in range(len(dense))])
    edge_index, values = edge_index[:, order], values[order]
    g0 = int(np.argmax(np.diff(edge_ptr) > 0))
    k = int(edge_ptr[g0])
    edge_index = np.insert(edge_index, k, edge_index[:, k], axis=1)
    values = np.insert(values, k, 0.5)
    edge_ptr[g0 + 1:] += 1
    r, c = edge_index[:, k] - ptr[g0]
    dense[g0][r, c] += 0.5
    a = spbmm.ConcatCoo(edge_index, values, ptr, edge_ptr if given_edge_ptr else None)
    np.testing.assert_array_equal(a.value_ptr, edge_ptr)
    x = stacked(dense, 3, rng)
    np.testing.assert_allclose(spbmm.bmm(a, x), per_graph(dense, x, ptr), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(spbmm.Plan(a, 3).execute(x, op_a="T"),
                               per_graph(dense, x, ptr, "T"), rtol=1e-12, atol=1e-12)


def test_concat_sddmm_and_in_place_update(rng):
    dense, indptr, indices, values, ptr = batch_arrays(rng)
    a = spbmm.ConcatCsr(indptr, indices, values, ptr)
    x = stacked(dense, 3, rng)
    y = stacked(dense, 3, rng)
    got = spbmm.sddmm(a, x, y)
    rows = np.repeat(np.arange(ptr[-1]), np.diff(indptr))
    want = np.einsum("ij,ij->i", x[rows], y[indices])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    before = values.copy()
    assert spbmm.sddmm(a, x, y, alpha=-0.1, beta=1.0, out=values) is values
    np.testing.assert_allclose(values, before - 0.1 * want, rtol=1e-12, atol=1e-12)


def test_concat_spmm_reduce_and_bmm_sum(rng):
    sizes = [4, 4, 4]
    dense, indptr, indices, values, ptr = batch_arrays(rng, sizes=sizes, density=0.6)
    a = spbmm.ConcatCsr(indptr, indices, values, ptr)
    x = stacked(dense, 2, rng)
    c, arg = spbmm.spmm_reduce(a, x, "max", return_arg=True)
    parts = spbmm.spmm_reduce(a, [x[ptr[g]:ptr[g + 1]] for g in range(3)], "max",
                              return_arg=True)
    np.testing.assert_array_equal(c, np.concatenate(parts[0]))
    np.testing.assert_array_equal(arg, np.concatenate(parts[1]))
    s = spbmm.bmm_sum(a, x)  # every graph 4 x 4: the sum of the three products
    want = sum(per_graph(dense, x, ptr)[ptr[g]:ptr[g + 1]] for g in range(3))
    np.testing.assert_allclose(s, want, rtol=1e-12, atol=1e-12)


def test_concat_empty_batch_and_empty_graphs(rng):
    a = spbmm.ConcatCsr(np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0), [0])
    assert len(a) == 0 and a.nnz == 0
    a = spbmm.ConcatCsr(np.zeros(4, np.int64), np.zeros(0, np.int64), np.zeros(0), [0, 3, 3])
    y = spbmm.bmm(a, np.ones((3, 2)))
    np.testing.assert_array_equal(y, np.zeros((3, 2)))


def one_line(excinfo):
    msg = str(excinfo.value)
    assert "\n" not in msg and msg
    return msg


CASES_CSR = [
    # (what to change, exception, words the message holds)
    ({"ptr": [1, 5, 5, 6, 13, 16]}, spbmm.ShapeError, "ptr[0] is 1"),
    ({"ptr": [0, 5, 4, 6, 13, 16]}, spbmm.ShapeError, "ptr decreases at 2"),
    ({"ptr": [0, 5, 5, 6, 13, 15]}, spbmm.ShapeError, "ends at 15 but there are 16 rows"),
    ({"ptr": []}, spbmm.ShapeError, "ptr is empty"),
    ({"ptr": [[0, 16]]}, spbmm.ShapeError, "1-D"),
    ({"ptr": [0.0, 16.0]}, spbmm.InvalidArgument, "expected integers"),
    ({"values": "int"}, spbmm.InvalidArgument, "values of dtype int64"),
    ({"values": "short"}, spbmm.ShapeError, "values for"),
    ({"indices": "short"}, spbmm.ShapeError, "indices for"),
    ({"indices": "float"}, spbmm.InvalidArgument, "expected integers"),
    ({"indptr": "empty"}, spbmm.ShapeError, "indptr is empty"),
    ({"indptr": "start"}, spbmm.FormatError, "indptr[0] is 1"),
    ({"indptr": "down"}, spbmm.FormatError, "indptr goes from"),
    ({"indices": "outside"}, spbmm.FormatError, "outside the graph's nodes"),
    ({"indices": "unsorted"}, spbmm.FormatError, "not strictly increasing"),
]


@pytest.mark.parametrize("change,error,words", CASES_CSR)
def test_concat_csr_errors(rng, change, error, words):
    dense, indptr, indices, values, ptr = batch_arrays(rng, density=0.7)
    kw = {"indptr": indptr, "indices": indices, "values": values, "ptr": ptr}
    for key, how in change.items():
        if not isinstance(how, str):
            kw[key] = how
        elif how == "int":
            kw[key] = np.arange(len(values), dtype=np.int64)
        elif how == "short":
            kw[key] = kw[key][:-1]
        elif how == "float":
            kw[key] = kw[key].astype(np.float64)
        elif how == "empty":
            kw[key] = kw[key][:0]
        elif how == "start":
            kw[key] = kw[key] + 1
        elif how == "down":
            kw[key] = kw[key].copy()
            kw[key][2] = kw[key][3] + 1
        elif how == "outside":
            kw[key] = kw[key].copy()
            kw[key][0] = ptr[-1] - 1  # graph 0's row 0 pointing into the last graph
        elif how == "unsorted":
            kw[key] = kw[key].copy()
            r = int(np.argmax(np.diff(indptr) >= 2))
            k = int(indptr[r])
            kw[key][[k, k + 1]] = kw[key][[k + 1, k]]
    with pytest.raises(error) as e:
        spbmm.ConcatCsr(kw["indptr"], kw["indices"], kw["values"], kw["ptr"])
    assert isinstance(e.value, ValueError)
    assert words in one_line(e)


def test_concat_coo_errors(rng):
    data = batch_arrays(rng, density=0.7)
    edge_index, values, ptr = coo_arrays(data)
    edge_ptr = np.concatenate([[0], np.cumsum([np.count_nonzero(d) for d in data[0]])])
    cases = [
        ((edge_index[:1], values, ptr), spbmm.ShapeError, "expected 2 x E"),
        ((edge_index, values[:-1], ptr), spbmm.ShapeError, "values for"),
        ((edge_index, values.astype(np.complex128), ptr), spbmm.InvalidArgument, "dtype"),
        ((edge_index.astype(np.float32), values, ptr), spbmm.InvalidArgument, "integers"),
        ((edge_index, values, ptr, edge_ptr[:-1]), spbmm.ShapeError, "edge_ptr has"),
        ((edge_index, values, ptr, edge_ptr - 1), spbmm.ShapeError, "edge_ptr[0]"),
        ((edge_index, values, ptr[:-1]), spbmm.FormatError, "outside"),
        ((edge_index[:, ::-1], values, ptr), spbmm.FormatError, "grouped by graph"),
        ((edge_index[:, ::-1], values, ptr, edge_ptr), spbmm.FormatError,
         "outside the graph's nodes"),
        ((edge_index, values, [2, 16]), spbmm.ShapeError, "ptr[0] is 2"),
    ]
    for args, error, words in cases:
        with pytest.raises(error) as e:
            spbmm.ConcatCoo(*args)
        assert isinstance(e.value, ValueError)
        assert words in one_line(e), (words, str(e.value))


def test_concat_operand_errors(rng):
    dense, indptr, indices, values, ptr = batch_arrays(rng)
    a = spbmm.ConcatCsr(indptr, indices, values, ptr)
    with pytest.raises(spbmm.ShapeError) as e:
        spbmm.bmm(a, np.ones((ptr[-1] + 1, 2)))
    assert "17 rows" in one_line(e) and "16 nodes" in str(e.value)
    with pytest.raises(spbmm.ShapeError) as e:
        spbmm.bmm(a, np.ones((ptr[-1], 2)), out=np.zeros((ptr[-1] - 1, 2)))
    assert "out" in one_line(e)
    with pytest.raises(spbmm.InvalidArgument) as e:
        spbmm.bmm(a, np.ones((ptr[-1], 2)), out=np.zeros((ptr[-1], 2), np.int64))
    assert "dtype int64" in one_line(e)
    with pytest.raises(TypeError):
        spbmm.bmm(a, np.ones((ptr[-1], 2)), out=[np.zeros((n, 2)) for n in SIZES])
    with pytest.raises(spbmm.ShapeError) as e:
        spbmm.sddmm(a, np.ones((ptr[-1], 2)), np.ones((ptr[-1], 2)), out=np.zeros(3))
    assert "stored entries" in one_line(e)
    with pytest.raises(spbmm.ShapeError) as e:
        spbmm.Plan(a, 2).execute(np.ones((3, 2)))
    assert "16 nodes" in one_line(e)


@needs_torch
@pytest.mark.parametrize("kind", ["csr", "coo"])
def test_concat_torch_tensors_are_viewed(rng, kind):
    data = batch_arrays(rng)
    dense, indptr, indices, values, ptr = data
    tv = torch.from_numpy(values.copy())
    if kind == "csr":
        a = spbmm.ConcatCsr(torch.from_numpy(indptr), torch.from_numpy(indices), tv,
                            torch.from_numpy(ptr))
    else:
        edge_index, _, _ = coo_arrays(data)
        a = spbmm.ConcatCoo(torch.from_numpy(edge_index), tv, torch.from_numpy(ptr))
    assert all(np.shares_memory(e[5], tv.numpy()) for e in a.raw_entries() if e[5].size)
    x = torch.from_numpy(stacked(dense, 3, rng))
    y = spbmm.bmm(a, x)
    assert isinstance(y, torch.Tensor) and y.data_ptr() % 64 == 0
    np.testing.assert_allclose(y.numpy(), per_graph(dense, x.numpy(), ptr), rtol=1e-12,
                               atol=1e-12)


def test_concat_more_error_paths(rng):
    data = batch_arrays(rng)
    dense, indptr, indices, values, ptr = data
    edge_index, _, _ = coo_arrays(data)
    with pytest.raises(spbmm.ShapeError) as e:
        spbmm.ConcatCoo(edge_index[0], values, ptr)  # 1-D edge_index
    assert "2-D" in one_line(e)
    with pytest.raises(spbmm.InvalidArgument) as e:
        spbmm.ConcatCsr(indptr, indices, np.repeat(values, 2)[::2], ptr)  # strided values
    assert "contiguous" in one_line(e)
    a = spbmm.ConcatCsr(indptr, indices, values, ptr)
    x = stacked(dense, 2, rng)
    with pytest.raises(TypeError):
        spbmm.sddmm(a, x, x, out=[values])
    with pytest.raises(TypeError):
        spbmm.spmm_reduce(a, x, "max", return_arg=True,
                          arg=[np.zeros((n, 2), np.int64) for n in SIZES])
    with pytest.raises(spbmm.ShapeError) as e:
        spbmm.sddmm(a, x[:-1], x)
    assert "X" in one_line(e)
    with pytest.raises(spbmm.ShapeError) as e:
        spbmm.bmm(a, np.ones((2, ptr[-1] + 3)), op_b="T")
    assert "columns" in one_line(e)


def test_concat_properties_and_plan_sum(rng):
    sizes = [3, 3, 3]
    dense, indptr, indices, values, ptr = batch_arrays(rng, sizes=sizes, density=0.6)
    a = spbmm.ConcatCsr(indptr, indices, values, ptr)
    assert a.num_graphs == 3 and a.num_nodes == 9 and list(a.sizes()) == sizes
    assert a.values is values and "3 graphs" in repr(a)
    parts = a.split_values(values)
    assert sum(p.size for p in parts) == a.nnz and all(np.shares_memory(p, values)
                                                       for p in parts if p.size)
    x = stacked(dense, 2, rng)
    plan = spbmm.Plan(a, 2)
    got = plan.execute_sum(x)
    want = sum(d @ x[ptr[g]:ptr[g + 1]] for g, d in enumerate(dense))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    coo = spbmm.ConcatCoo(*coo_arrays((dense, indptr, indices, values, ptr)))
    assert coo.nnz == a.nnz and "3 graphs" in repr(coo) and coo.shape == (9, 9)


def rectangular(rng, shapes, density=0.5):
    """(dense blocks, indptr, indices, values, ptr, col_ptr) of a block-diagonal CSR matrix."""
    dense = [rng.standard_normal(s) * (rng.random(s) < density) for s in shapes]
    ptr = np.concatenate([[0], np.cumsum([s[0] for s in shapes])])
    col_ptr = np.concatenate([[0], np.cumsum([s[1] for s in shapes])])
    indptr, indices, values = [0], [], []
    for g, d in enumerate(dense):
        for r in range(d.shape[0]):
            (cols,) = np.nonzero(d[r])
            indices.extend(cols + col_ptr[g])
            values.extend(d[r, cols])
            indptr.append(len(indices))
    return dense, np.array(indptr), np.array(indices), np.array(values), ptr, col_ptr


@pytest.mark.parametrize("kind", ["csr", "coo"])
def test_rectangular_blocks(rng, kind):
    shapes = [(4, 6), (0, 2), (3, 0), (5, 3)]
    dense, indptr, indices, values, ptr, col_ptr = rectangular(rng, shapes)
    if kind == "csr":
        a = spbmm.ConcatCsr(indptr, indices, values, ptr, col_ptr)
    else:
        rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        a = spbmm.ConcatCoo(np.stack([rows, indices]), values, ptr, col_ptr=col_ptr)
    assert a.shape == (12, 11)
    x = rng.standard_normal((11, 2))  # over the columns
    want = np.concatenate([d @ x[col_ptr[g]:col_ptr[g + 1]] for g, d in enumerate(dense)])
    np.testing.assert_allclose(spbmm.bmm(a, x), want, rtol=1e-12, atol=1e-12)
    y = rng.standard_normal((12, 2))  # over the rows, for A^T
    want_t = np.concatenate([d.T @ y[ptr[g]:ptr[g + 1]] for g, d in enumerate(dense)])
    np.testing.assert_allclose(spbmm.Plan(a, 2, both_ops=True).execute(y, op_a="T"), want_t,
                               rtol=1e-12, atol=1e-12)
    got = spbmm.sddmm(a, y, x)
    rows = np.repeat(np.arange(12), np.diff(indptr))
    if kind == "csr":
        np.testing.assert_allclose(got, np.einsum("ij,ij->i", y[rows], x[indices]),
                                   rtol=1e-12, atol=1e-12)
    with pytest.raises(spbmm.ShapeError) as e:
        spbmm.bmm(a, y)  # 12 rows where the 11 columns are expected
    assert "11 columns (col_ptr[-1])" in one_line(e)


def test_rectangular_errors(rng):
    dense, indptr, indices, values, ptr, col_ptr = rectangular(rng, [(4, 6), (5, 3)], 0.8)
    with pytest.raises(spbmm.ShapeError) as e:
        spbmm.ConcatCsr(indptr, indices, values, ptr, col_ptr[:-1])
    assert "col_ptr has 2 values but ptr has 3" in one_line(e)
    with pytest.raises(spbmm.ShapeError) as e:
        spbmm.ConcatCsr(indptr, indices, values, ptr, col_ptr[::-1])
    assert "col_ptr[0]" in one_line(e)
    with pytest.raises(spbmm.FormatError) as e:
        spbmm.ConcatCsr(indptr, indices, values, ptr, [0, 5, 9])  # graph 0's column 5 is out
    assert "outside the graph's columns" in one_line(e)
    rows = np.repeat(np.arange(9), np.diff(indptr))
    with pytest.raises(spbmm.FormatError) as e:
        spbmm.ConcatCoo(np.stack([rows, indices]), values, ptr, col_ptr=[0, 1, 9])
    assert "columns [0, 1)" in one_line(e)
