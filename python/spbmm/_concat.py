"""spbmm.ConcatCsr and spbmm.ConcatCoo: a concatenated (PyTorch Geometric style) batch of graphs
as a ragged batch, with the node features as one array over all nodes.

As the C++ ConcatCsrBatch / ConcatCooBatch (include/spbmm/concat.hpp): graph i holds nodes
[ptr[i], ptr[i+1]) of one block-diagonal matrix with global indices. Entry i of the batch is graph
i alone (square, local indices). The values are the caller's array, viewed in place (a plan
follows them as they change, sddmm may write them); the indices are rebased once, when the
batch is made. Features X (ptr[-1] x f) are split into row views X[ptr[i]:ptr[i+1]], and
results come back as one array over all nodes.
"""

import numpy as np

from . import _inputs, _spbmm

_INDEX_KINDS = "iu"


def _array(x, name, ndim):
    """x (a NumPy array, torch tensor or sequence) as a NumPy array viewing it where possible."""
    if _inputs.is_torch(x):
        if x.layout != _inputs._torch().strided:
            raise _spbmm.InvalidArgument(f"{name}: expected a dense tensor, not {x.layout}")
        a = _inputs.torch_numpy(x)
    else:
        a = x if isinstance(x, np.ndarray) else np.asarray(x)
    if a.ndim != ndim:
        raise _spbmm.ShapeError(f"{name}: expected a {ndim}-D array, got shape {a.shape}")
    return a


def _indices(x, name, ndim=1):
    a = _array(x, name, ndim)
    if a.dtype.kind not in _INDEX_KINDS and not (a.size == 0 and a.dtype.kind == "f"):
        raise _spbmm.InvalidArgument(f"{name}: dtype {a.dtype}; expected integers")
    return a


def _ptr(ptr, nodes, what, name="ptr", unit="rows"):
    """ptr as int64: at least one value, from 0, not decreasing, to `nodes` (None: any end)."""
    p = _indices(ptr, name).astype(np.int64, copy=False)
    if p.size == 0:
        raise _spbmm.ShapeError(f"{what}: {name} is empty; it needs graphs + 1 values")
    if p[0] != 0:
        raise _spbmm.ShapeError(f"{what}: {name}[0] is {p[0]}, not 0")
    down = np.flatnonzero(p[1:] < p[:-1])
    if down.size:
        i = int(down[0]) + 1
        raise _spbmm.ShapeError(f"{what}: {name} decreases at {i}: {p[i - 1]} then {p[i]}")
    if nodes is not None and p[-1] != nodes:
        raise _spbmm.ShapeError(f"{what}: {name} ends at {p[-1]} but there are {nodes} {unit}")
    return p


def _values(values, count, what):
    """(NumPy view of the values, the caller's object): float32 or float64, `count` of them."""
    a = _array(values, f"{what}: values", 1)
    if a.dtype not in (_inputs.FLOAT32, _inputs.FLOAT64):
        raise _spbmm.InvalidArgument(
            f"{what}: values of dtype {a.dtype}; expected float32 or float64")
    if a.shape[0] != count:
        raise _spbmm.ShapeError(f"{what}: {a.shape[0]} values for {count} stored entries")
    if a.strides[0] != a.itemsize and count > 1:
        raise _spbmm.InvalidArgument(f"{what}: values must be contiguous (a view of them is "
                                     "what the batch computes with)")
    return a


def _index_dtype(*arrays):
    """int32 when every index array is int32 (and so fits), else int64."""
    return _inputs.INT32 if all(a.dtype == _inputs.INT32 for a in arrays) else _inputs.INT64


class _Concat:
    """What ConcatCsr and ConcatCoo share: ptr, the per-graph entries and the features' split."""

    def __len__(self):
        return len(self.ptr) - 1

    @property
    def num_graphs(self):
        return len(self.ptr) - 1

    @property
    def num_nodes(self):
        return int(self.ptr[-1])

    @property
    def num_cols(self):
        """Columns of the block-diagonal matrix: col_ptr[-1] (the nodes, for square graphs)."""
        return int(self.col_ptr[-1])

    @property
    def shape(self):
        """The block-diagonal matrix's shape: (ptr[-1], col_ptr[-1])."""
        return (self.num_nodes, self.num_cols)

    @property
    def nnz(self):
        return int(self.value_ptr[-1])

    @property
    def values(self):
        """The caller's values (the array or tensor the batch was made with)."""
        return self._values_obj

    def sizes(self):
        """Nodes per graph."""
        return np.diff(self.ptr)

    def raw_entries(self, values=None):
        """The per-graph entries as _inputs raw entries: local indices, values viewed in place
        (`values`: another array of nnz values with the same pattern, e.g. a gradient)."""
        v = self._values_np if values is None else values
        out = []
        for i in range(len(self)):
            shape = (int(self.ptr[i + 1] - self.ptr[i]), int(self.col_ptr[i + 1] - self.col_ptr[i]))
            e0, e1 = int(self.value_ptr[i]), int(self.value_ptr[i + 1])
            out.append(self._entry(i, shape, e0, e1, v[e0:e1]))
        return out

    def split_values(self, v):
        """An array of nnz values as graph i's views v[value_ptr[i]:value_ptr[i+1]]."""
        return [v[int(self.value_ptr[i]):int(self.value_ptr[i + 1])] for i in range(len(self))]

    def split_nodes(self, x, name, axis=0, side="rows"):
        """Rows (axis 0) or columns (axis 1) [ptr[i], ptr[i+1]) of x (a 2-D array or tensor over
        all nodes) as graph i's views; side="cols" splits by col_ptr instead (the columns of a
        rectangular batch). ShapeError when x does not span them."""
        p = self.ptr if side == "rows" else self.col_ptr
        total = int(p[-1])
        if x.shape[axis] != total:
            what = "nodes" if side == "rows" or self.col_ptr is self.ptr else \
                "columns (col_ptr[-1])"
            raise _spbmm.ShapeError(
                f"{name}: {x.shape[axis]} {'rows' if axis == 0 else 'columns'} (shape "
                f"{tuple(x.shape)}), but the concatenated batch has {total} {what}")
        p = [int(v) for v in p]
        if axis == 0:
            return [x[p[i]:p[i + 1]] for i in range(len(self))]
        return [x[:, p[i]:p[i + 1]] for i in range(len(self))]

    @staticmethod
    def sides(op_a):
        """(the side op(A)'s columns split B by, the side its rows split C by)."""
        return ("rows", "cols") if op_a in ("T", "t") else ("cols", "rows")

    def count(self, side):
        return self.num_nodes if side == "rows" else self.num_cols


def _col_ptr(col_ptr, ptr, what):
    """col_ptr (graphs + 1 column offsets) checked against ptr, or ptr itself (square graphs)."""
    if col_ptr is None:
        return ptr
    c = _indices(col_ptr, f"{what}: col_ptr")
    if len(c) != len(ptr):
        raise _spbmm.ShapeError(f"{what}: col_ptr has {len(c)} values but ptr has {len(ptr)}")
    return _ptr(c, None, what, "col_ptr")


class ConcatCsr(_Concat):
    """A batch of graphs as one block-diagonal CSR matrix over all nodes (PyG's mini-batch).

    ``ConcatCsr(indptr, indices, values, ptr, col_ptr=None)``: indptr (nodes + 1), indices
    (global columns) and values (float32 or float64) of the block-diagonal CSR matrix, e.g.
    ``a.indptr, a.indices, a.data`` of a SciPy matrix or ``a.crow_indices(), a.col_indices(),
    a.values()`` of a torch one; ptr (graphs + 1, PyG's ``batch.ptr``): graph i holds nodes
    [ptr[i], ptr[i+1]), its rows are those rows and its columns lie in that range (sorted within
    each row). Arrays may be NumPy arrays or torch tensors. Entry i of the batch is graph i
    (square, local indices). col_ptr (graphs + 1) makes the blocks rectangular (bipartite
    graphs, user-item matrices): block i's columns are [col_ptr[i], col_ptr[i+1]), and the
    operand op(A) multiplies (B for op_a "N") is split by col_ptr.

    The values are viewed in place: spbmm.Plan over the batch follows them when they change,
    ``spbmm.sddmm(batch, ..., out=batch.values)`` writes them, and spbmm.torch.bmm differentiates
    with respect to them (a torch tensor). The indices are rebased once, here (O(nnz)). Raises
    spbmm.ShapeError for a bad ptr or mismatched sizes, spbmm.FormatError for a column outside
    its graph or an unsorted row, spbmm.InvalidArgument for a wrong dtype.
    """

    def __init__(self, indptr, indices, values, ptr, col_ptr=None):
        what = "ConcatCsr"
        rp = _indices(indptr, f"{what}: indptr")
        ci = _indices(indices, f"{what}: indices")
        if rp.size == 0:
            raise _spbmm.ShapeError(f"{what}: indptr is empty; it needs nodes + 1 values")
        rows = rp.size - 1
        self.ptr = _ptr(ptr, rows, what)
        self.col_ptr = _col_ptr(col_ptr, self.ptr, what)
        rp64 = rp.astype(np.int64, copy=False)
        if rp64[0] != 0:
            raise _spbmm.FormatError(f"{what}: indptr[0] is {rp64[0]}, not 0")
        down = np.flatnonzero(rp64[1:] < rp64[:-1])
        if down.size:
            r = int(down[0])
            raise _spbmm.FormatError(f"{what}: row {r}: indptr goes from {rp64[r]} to "
                                     f"{rp64[r + 1]}")
        nnz = int(rp64[-1])
        if ci.size != nnz:
            raise _spbmm.ShapeError(f"{what}: {ci.size} indices for {nnz} stored entries "
                                    "(indptr[-1])")
        self._values_obj = values
        self._values_np = _values(values, nnz, what)
        index = _index_dtype(rp, ci)
        # The rebased pattern: graph g's local row pointers (its rows + 1 of them, from 0) follow
        # those of the graphs before it, as in the C++ ConcatCsrBatch.
        graphs = len(self.ptr) - 1
        self.value_ptr = rp64[self.ptr]
        graph_of_row = np.repeat(np.arange(graphs, dtype=np.int64), np.diff(self.ptr))
        counts = np.diff(rp64)
        row_of = np.repeat(np.arange(rows, dtype=np.int64), counts)
        first = self.col_ptr[:-1][graph_of_row][row_of]
        last = self.col_ptr[1:][graph_of_row][row_of]
        c = ci.astype(np.int64, copy=False)
        bad = np.flatnonzero((c < first) | (c >= last))
        if bad.size:
            k = int(bad[0])
            r = int(row_of[k])
            raise _spbmm.FormatError(
                f"{what}: graph {graph_of_row[r]}: row {r}: column {c[k]} is outside the "
                f"graph's {'nodes' if col_ptr is None else 'columns'} [{first[k]}, {last[k]})")
        if nnz > 1:
            same_row = row_of[1:] == row_of[:-1]
            unsorted = np.flatnonzero(same_row & (c[1:] <= c[:-1]))
            if unsorted.size:
                k = int(unsorted[0]) + 1
                r = int(row_of[k])
                raise _spbmm.FormatError(
                    f"{what}: graph {graph_of_row[r]}: row {r}: columns not strictly increasing "
                    f"at {c[k]}")
        self.indices = (c - first).astype(index)
        local_rp = np.empty(rows + graphs, dtype=np.int64)
        # Row r of graph g sits at r + g (each graph adds one leading 0).
        at = np.arange(rows, dtype=np.int64) + graph_of_row
        local_rp[at + 1] = rp64[1:] - self.value_ptr[graph_of_row]
        local_rp[self.ptr[:-1] + np.arange(graphs)] = 0
        self.indptr = local_rp.astype(index)

    def _entry(self, i, shape, e0, e1, values):
        at = int(self.ptr[i]) + i
        return (_inputs.CSR, shape[0], shape[1], self.indptr[at:at + shape[0] + 1],
                self.indices[e0:e1], values)

    def __repr__(self):
        return (f"spbmm.ConcatCsr({self.num_graphs} graphs, {self.num_nodes} nodes, "
                f"{self.nnz} stored, values {self._values_np.dtype})")


class ConcatCoo(_Concat):
    """A batch of graphs as one COO matrix over all nodes: PyG's ``edge_index`` with edge
    weights.

    ``ConcatCoo(edge_index, values, ptr, edge_ptr=None, col_ptr=None)``: edge_index (2 x E,
    global node indices; A[edge_index[0, e], edge_index[1, e]] = values[e], as
    ``torch.sparse_coo_tensor(edge_index, values)`` reads it), values (E, float32 or float64),
    ptr (graphs + 1 node offsets, PyG's ``batch.ptr``) and edge_ptr (graphs + 1 edge offsets:
    graph i's edges are positions [edge_ptr[i], edge_ptr[i+1]); when None, found from
    edge_index, whose edges must then be grouped by graph, as PyG's batches are). Duplicate and
    unsorted edges are allowed (duplicates add up); col_ptr as for ConcatCsr (edge_index[1]
    then lies in [col_ptr[i], col_ptr[i+1])). Values are viewed in place, indices rebased once;
    errors as for ConcatCsr (an edge outside its graph's nodes is a FormatError).
    """

    def __init__(self, edge_index, values, ptr, edge_ptr=None, col_ptr=None):
        what = "ConcatCoo"
        ei = _indices(edge_index, f"{what}: edge_index", 2)
        if ei.shape[0] != 2:
            raise _spbmm.ShapeError(f"{what}: edge_index has shape {ei.shape}; expected 2 x E")
        edges = ei.shape[1]
        self.ptr = _ptr(ptr, None, what)
        self.col_ptr = _col_ptr(col_ptr, self.ptr, what)
        nodes = int(self.ptr[-1])
        row = ei[0].astype(np.int64, copy=False)
        col = ei[1].astype(np.int64, copy=False)
        if edge_ptr is None:
            graph = np.searchsorted(self.ptr, row, side="right") - 1
            outside = np.flatnonzero((row < 0) | (row >= nodes))
            if outside.size:
                k = int(outside[0])
                raise _spbmm.FormatError(f"{what}: edge {k} ({row[k]}, {col[k]}) is outside the "
                                         f"nodes [0, {nodes})")
            back = np.flatnonzero(graph[1:] < graph[:-1])
            if back.size:
                k = int(back[0]) + 1
                raise _spbmm.FormatError(
                    f"{what}: edge {k} belongs to graph {graph[k]} after an edge of graph "
                    f"{graph[k - 1]}: edges must be grouped by graph (or pass edge_ptr)")
            self.value_ptr = np.searchsorted(graph, np.arange(len(self.ptr)), side="left")
            self.value_ptr = self.value_ptr.astype(np.int64)
        else:
            ep = _indices(edge_ptr, f"{what}: edge_ptr")
            if len(ep) != len(self.ptr):
                raise _spbmm.ShapeError(f"{what}: edge_ptr has {len(ep)} values but ptr has "
                                        f"{len(self.ptr)}")
            self.value_ptr = _ptr(ep, edges, what, "edge_ptr", "edges")
        self._values_obj = values
        self._values_np = _values(values, edges, what)
        graph = np.repeat(np.arange(len(self.ptr) - 1, dtype=np.int64), np.diff(self.value_ptr))
        first = self.ptr[:-1][graph]
        last = self.ptr[1:][graph]
        c_first = self.col_ptr[:-1][graph]
        c_last = self.col_ptr[1:][graph]
        bad = np.flatnonzero((row < first) | (row >= last) | (col < c_first) | (col >= c_last))
        if bad.size:
            k = int(bad[0])
            where = (f"nodes [{first[k]}, {last[k]})" if col_ptr is None else
                     f"rows [{first[k]}, {last[k]}) and columns [{c_first[k]}, {c_last[k]})")
            raise _spbmm.FormatError(
                f"{what}: graph {graph[k]}: edge {k} ({row[k]}, {col[k]}) is outside the "
                f"graph's {where}")
        index = _index_dtype(ei)
        self.row = (row - first).astype(index)
        self.col = (col - c_first).astype(index)

    def _entry(self, i, shape, e0, e1, values):
        return (_inputs.COO, shape[0], shape[1], self.row[e0:e1], self.col[e0:e1], values)

    def __repr__(self):
        return (f"spbmm.ConcatCoo({self.num_graphs} graphs, {self.num_nodes} nodes, "
                f"{self.nnz} edges, values {self._values_np.dtype})")


def is_concat(x):
    return isinstance(x, _Concat)


def whole(x):
    """Whether x is one 2-D dense array or tensor (over all nodes of a concatenated batch)."""
    if _inputs.is_torch(x):
        return x.layout == _inputs._torch().strided and x.dim() == 2
    return isinstance(x, np.ndarray) and x.ndim == 2


def new_whole(shape, dtype, like):
    """A new 64-byte aligned result over all nodes: a tensor on like's device when like is a
    tensor (or a list holding one), else a NumPy array; with its NumPy view."""
    from ._alloc import empty
    if isinstance(like, (list, tuple)):
        like = next((t for t in like if _inputs.is_torch(t)), None)
    if _inputs.is_torch(like):
        t = empty(shape, dtype, like="torch")
        return t, t.numpy()
    a = empty(shape, dtype)
    return a, a


def to_device(result, like):
    """result (made on the CPU) moved to like's device when like is a tensor off the CPU."""
    if isinstance(like, (list, tuple)):
        like = next((t for t in like if _inputs.is_torch(t)), None)
    if _inputs.is_torch(like) and like.device.type != "cpu":
        return result.to(like.device)
    return result
