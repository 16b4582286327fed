"""The caller's matrices (NumPy, SciPy, torch) as the arrays the extension views, without copies.

A batch entry of A becomes a tuple the extension reads (see python/src/common.hpp):
``(DENSE, array2d)``, ``(CSR, rows, cols, indptr, indices, data)`` or
``(COO, rows, cols, row, col, data)``. Arrays are the caller's own buffers wherever their dtype and
layout allow; a copy is made only to convert a dtype, to make a non-unit-stride array contiguous,
or to put a non-canonical SciPy CSR matrix in canonical form. torch and SciPy are never imported
here: an object is only recognised as theirs when the caller has imported them already.
"""

import numbers
import sys

import numpy as np

from . import _spbmm

DENSE, CSR, COO = 0, 1, 2

FLOAT32 = np.dtype(np.float32)
FLOAT64 = np.dtype(np.float64)
INT32 = np.dtype(np.int32)
INT64 = np.dtype(np.int64)


def _torch():
    return sys.modules.get("torch")


def is_torch(x):
    torch = _torch()
    return torch is not None and isinstance(x, torch.Tensor)


def is_scipy_sparse(x):
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(x)


def torch_numpy(t):
    """A CPU NumPy view of a torch tensor's data (a copy only for another device or dtype)."""
    t = t.detach()
    try:
        return t.numpy()  # a CPU tensor of a NumPy dtype without lazy conj/neg bits: a view
    except (TypeError, RuntimeError):
        pass
    torch = _torch()
    if t.device.type != "cpu":
        t = t.cpu()
    if t.dtype in (torch.bfloat16, torch.float16):
        t = t.to(torch.float32)
    if t.is_complex():
        raise TypeError(f"complex tensors are not supported (dtype {t.dtype})")
    if t.is_conj():
        t = t.resolve_conj()
    if t.is_neg():
        t = t.resolve_neg()
    return t.numpy()


def _value_check(dtype, what):
    if dtype.kind not in "biuf":
        raise TypeError(f"{what}: values of dtype {dtype} are not supported (real numbers only)")


def raw_entry(x, what="A entry", follow=False):
    """One matrix as (kind, parts...) with its arrays in their own dtypes.

    follow: keep the caller's values array wherever possible (for a plan that follows A's
    values): a non-canonical SciPy CSR matrix is then passed as COO (its triplets in storage
    order, which the library accepts as they are) instead of as a sorted copy.
    """
    if is_torch(x):
        return _raw_torch(x, what)
    if is_scipy_sparse(x):
        if follow and x.format == "csr" and _csr_lengths_fit(x) and not x.has_canonical_format:
            rows = np.repeat(np.arange(x.shape[0], dtype=x.indices.dtype), np.diff(x.indptr))
            return (COO, int(x.shape[0]), int(x.shape[1]), rows, x.indices, x.data)
        return _raw_scipy(x, what)
    a = x if isinstance(x, np.ndarray) else np.asarray(x)
    if a.ndim != 2:
        raise _spbmm.ShapeError(f"{what}: expected a 2-D matrix, got shape {a.shape}")
    _value_check(a.dtype, what)
    return (DENSE, a)


def _raw_torch(t, what):
    torch = _torch()
    if t.layout == torch.strided:
        if t.dim() != 2:
            raise _spbmm.ShapeError(f"{what}: expected a 2-D tensor, got shape {tuple(t.shape)}")
        return (DENSE, torch_numpy(t))
    if t.dim() != 2:
        raise _spbmm.ShapeError(
            f"{what}: expected a 2-D sparse tensor, got shape {tuple(t.shape)} "
            "(pass the entries of a batched tensor as a list)")
    rows, cols = (int(s) for s in t.shape)
    t = t.detach()
    if t.layout == torch.sparse_coo:
        if t.dense_dim() != 0:
            raise _spbmm.FormatError(f"{what}: hybrid sparse tensors are not supported")
        idx = t._indices()
        return (COO, rows, cols, torch_numpy(idx[0]), torch_numpy(idx[1]),
                torch_numpy(t._values()))
    if t.layout == torch.sparse_csr:
        return (CSR, rows, cols, torch_numpy(t.crow_indices()), torch_numpy(t.col_indices()),
                torch_numpy(t.values()))
    # CSC, BSR, BSC: the row-major pattern of the product needs CSR or COO.
    return _raw_torch(t.to_dense().to_sparse_csr(), what)


def _raw_scipy(m, what):
    fmt = m.format
    if fmt == "coo":
        row, col = (m.row, m.col) if hasattr(m, "row") else m.coords
        return (COO, int(m.shape[0]), int(m.shape[1]), row, col, m.data)
    if fmt != "csr":
        m = m.tocsr()
    elif not _csr_lengths_fit(m):
        pass  # SciPy's checks would read past the arrays; the extension reports it
    elif not m.has_canonical_format:
        # spbmm's CSR is canonical (sorted columns, no duplicates): sort and sum in a copy, never
        # in the caller's matrix.
        m = m.copy()
        m.sum_duplicates()
    return (CSR, int(m.shape[0]), int(m.shape[1]), m.indptr, m.indices, m.data)


def _csr_lengths_fit(m):
    """Whether the row pointers of a SciPy CSR matrix stay within its arrays."""
    p = m.indptr
    if len(p) != m.shape[0] + 1:
        return False
    nnz = int(p[-1])
    return 0 <= nnz <= min(len(m.indices), len(m.data))


def raw_dtypes(raw):
    """The value dtype and (for a sparse entry) index dtype of a raw entry."""
    if raw[0] == DENSE:
        return raw[1].dtype, None
    return raw[5].dtype, np.result_type(raw[3].dtype, raw[4].dtype)


def value_type(dtypes, requested=None):
    """float32 when every value is float32 (or narrower), else float64: NumPy's promotion."""
    if requested is not None:
        dt = np.dtype(requested)
        if dt not in (FLOAT32, FLOAT64):
            raise _spbmm.InvalidArgument(f"dtype must be float32 or float64, not {dt}")
        return dt
    if not dtypes:
        return FLOAT64
    dt = np.result_type(*dtypes)
    if dt.kind not in "biuf":
        raise TypeError(f"values of dtype {dt} are not supported (real numbers only)")
    return FLOAT32 if dt == FLOAT32 or (dt.kind == "f" and dt.itemsize < 4) else FLOAT64


def index_type(dtypes):
    """int32 when every sparse entry has int32 indices (SciPy's usual), else int64 (torch's)."""
    return INT32 if dtypes and all(d == INT32 for d in dtypes) else INT64


def unit_stride(a):
    """Whether the extension can view a 2-D array as it is (see dense_view in common.hpp)."""
    r, c = a.shape
    if r == 0 or c == 0:
        return True
    sz = a.itemsize
    s0, s1 = a.strides
    if (s1 == sz or c == 1) and (r == 1 or (s0 > 0 and s0 % sz == 0 and s0 // sz >= c)):
        return True
    return (s0 == sz or r == 1) and (c == 1 or (s1 > 0 and s1 % sz == 0 and s1 // sz >= r))


def dense(a, dtype):
    if a.dtype != dtype:
        a = a.astype(dtype)
    if not unit_stride(a):
        a = np.ascontiguousarray(a)
    return a


def vector(a, dtype):
    return np.ascontiguousarray(a, dtype=dtype)


def final_entry(raw, value, index):
    """A raw entry in the batch's value and index types, as the extension reads it."""
    if raw[0] == DENSE:
        return (DENSE, dense(raw[1], value))
    kind, rows, cols, a, b, v = raw
    return (kind, rows, cols, vector(a, index), vector(b, index), vector(v, value))


def is_single_matrix(x):
    """A lone matrix (rather than a sequence of them) where a batch is expected."""
    if is_scipy_sparse(x):
        return True
    if is_torch(x) or isinstance(x, np.ndarray):
        return x.dim() == 2 if is_torch(x) else x.ndim == 2
    return False


def batch_items(a):
    """The matrices of A: a sequence of matrices, one matrix (a batch of one) or a 3-D array."""
    if is_single_matrix(a):
        return [a]
    if is_torch(a) and a.layout != _torch().strided:
        raise _spbmm.ShapeError(
            f"A: a {a.dim()}-D sparse tensor; pass a 2-D one or a list of 2-D ones")
    if isinstance(a, (str, bytes)) or not hasattr(a, "__len__"):
        raise TypeError(f"A must be a matrix or a sequence of matrices, not {type(a).__name__}")
    return list(a)


def raw_batch(a, follow=False):
    """The entries of A (see batch_items) as raw entries."""
    if is_single_matrix(a):
        return [raw_entry(a, "A", follow)]
    return [raw_entry(x, f"A entry {i}", follow) for i, x in enumerate(batch_items(a))]


def caller_values(x):
    """The caller's own storage of a matrix's values (a NumPy view), or None when there is no
    such array to compare with (a SciPy format other than CSR and COO, a non-CPU tensor)."""
    try:
        if is_torch(x):
            torch = _torch()
            if x.layout == torch.sparse_coo:
                v = x._values()
            elif x.layout == torch.sparse_csr:
                v = x.values()
            elif x.layout == torch.strided:
                v = x
            else:
                return None
            return v.detach().numpy()
        if is_scipy_sparse(x):
            return x.data if x.format in ("csr", "coo") else None
        return x if isinstance(x, np.ndarray) else None
    except (TypeError, RuntimeError):
        return None


def entry_values(entry):
    """The values array of a prepared (or raw) entry."""
    return entry[1] if entry[0] == DENSE else entry[5]


def prepare_batch(a, extra_dtypes=(), dtype=None):
    """(entries, value dtype, index dtype) for A, promoting values with extra_dtypes (B's)."""
    return prepare_raws(raw_batch(a), extra_dtypes, dtype)


def prepare_raws(raws, extra_dtypes=(), dtype=None):
    """prepare_batch for entries already in their raw form."""
    values, indices = [], []
    for raw in raws:
        v, i = raw_dtypes(raw)
        values.append(v)
        if i is not None:
            indices.append(i)
    value = value_type(values + list(extra_dtypes), dtype)
    index = index_type(indices)
    return [final_entry(r, value, index) for r in raws], value, index


class DenseOperand:
    """B (or out): a list of 2-D NumPy views, whether one matrix was given, and its kind."""

    def __init__(self, x, name):
        self.torch_device = None
        if is_scipy_sparse(x) or (is_torch(x) and x.layout != _torch().strided):
            raise TypeError(f"{name} must be dense (NumPy arrays or strided torch tensors)")
        if is_torch(x) or isinstance(x, np.ndarray):
            if len(x.shape) not in (2, 3):
                raise _spbmm.ShapeError(
                    f"{name}: expected a 2-D matrix or a 3-D batch, got shape {tuple(x.shape)}")
            self.single = len(x.shape) == 2
            items = [x] if self.single else list(x)
        elif isinstance(x, (list, tuple)):
            self.single = False
            items = list(x)
        else:
            a = np.asarray(x)
            if a.ndim not in (2, 3):
                raise _spbmm.ShapeError(
                    f"{name}: expected a 2-D matrix or a 3-D batch, got shape {a.shape}")
            self.single = a.ndim == 2
            items = [a] if self.single else list(a)
        self.items = items
        self.arrays = []
        for i, item in enumerate(items):
            if type(item) is np.ndarray and item.ndim == 2 and item.dtype.kind == "f":
                self.arrays.append(item)  # the common case, checked first and cheaply
                continue
            if is_torch(item):
                if item.layout != _torch().strided:
                    raise TypeError(f"{name} entry {i} must be dense, not {item.layout}")
                if self.torch_device is None:
                    self.torch_device = item.device
                arr = torch_numpy(item)
            elif is_scipy_sparse(item):
                raise TypeError(f"{name} entry {i} must be dense, not a SciPy sparse matrix")
            else:
                arr = item if isinstance(item, np.ndarray) else np.asarray(item)
            if arr.ndim != 2:
                raise _spbmm.ShapeError(
                    f"{name} entry {i}: expected a 2-D matrix, got shape {arr.shape}")
            _value_check(arr.dtype, f"{name} entry {i}")
            self.arrays.append(arr)

    @property
    def is_torch(self):
        return self.torch_device is not None

    def dtypes(self):
        return [a.dtype for a in self.arrays]

    def typed(self, dtype):
        return [dense(a, dtype) for a in self.arrays]


def output_arrays(out, dtype):
    """out as writable NumPy views of dtype: never a copy, since the result must land in out."""
    if is_torch(out) or isinstance(out, np.ndarray):
        items = [out] if len(out.shape) == 2 else list(out)
    elif isinstance(out, (list, tuple)):
        items = list(out)
    else:
        raise TypeError("out must be an array, a tensor, or a list of them")
    arrays = []
    for i, item in enumerate(items):
        what = f"out entry {i}"
        if is_torch(item):
            torch = _torch()
            if item.layout != torch.strided or item.device.type != "cpu":
                raise _spbmm.InvalidArgument(f"{what}: must be a dense CPU tensor")
            arr = item.detach().numpy()
        elif isinstance(item, np.ndarray):
            arr = item
        else:
            raise TypeError(f"{what}: must be a NumPy array or a torch tensor")
        if arr.ndim != 2:
            raise _spbmm.ShapeError(f"{what}: expected a 2-D matrix, got shape {arr.shape}")
        if arr.dtype != dtype:
            raise _spbmm.InvalidArgument(
                f"{what}: dtype {arr.dtype}, but the product is computed in {dtype}")
        if not arr.flags.writeable:
            raise _spbmm.InvalidArgument(f"{what}: the array is read-only")
        if not unit_stride(arr):
            raise _spbmm.InvalidArgument(
                f"{what}: strides {arr.strides} have no unit-stride axis, so the result cannot "
                "be written in place")
        arrays.append(arr)
    return arrays


def out_dtype(out):
    """The value type out asks for (its first entry's), or None."""
    first = out
    if isinstance(out, (list, tuple)):
        if not out:
            return None
        first = out[0]
    if is_torch(first):
        torch = _torch()
        return {torch.float32: FLOAT32, torch.float64: FLOAT64}.get(first.dtype)
    if isinstance(first, np.ndarray) and first.dtype in (FLOAT32, FLOAT64):
        return first.dtype
    return None


def check_threads(threads):
    if threads is None:
        return 0
    if not isinstance(threads, numbers.Integral) or isinstance(threads, bool) or threads < 0:
        raise _spbmm.InvalidArgument(
            f"threads must be None or a non-negative integer, not {threads!r}")
    return int(threads)


def results(arrays, operand):
    """The extension's NumPy results as the kind of B: torch tensors on B's device, or NumPy."""
    if not operand.is_torch:
        return arrays
    torch = _torch()
    tensors = [torch.from_numpy(a) for a in arrays]
    if operand.torch_device.type != "cpu":
        tensors = [t.to(operand.torch_device) for t in tensors]
    return tensors
