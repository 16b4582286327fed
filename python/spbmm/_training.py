"""spbmm.sddmm and spbmm.spmm_reduce: the products a training step needs besides bmm."""

import numpy as np

from . import _concat, _inputs, _spbmm
from ._alloc import empty
from ._api import _check_scalars, _concat_operands


def _csr_canonical(indptr, indices):
    """Whether CSR column indices increase strictly within every row."""
    if len(indices) < 2:
        return True
    rising = np.diff(indices.astype(np.int64, copy=False)) > 0
    starts = np.asarray(indptr[1:-1], dtype=np.int64)
    starts = starts[(starts > 0) & (starts < len(indices))]
    rising[starts - 1] = True  # a new row may start anywhere
    return bool(rising.all())


def _sampled_entry(x, what):
    """One A entry for sddmm: CSR or COO with the caller's values array, so that the results
    line up with A's values in their storage order (a non-canonical CSR goes as COO)."""
    if _inputs.is_torch(x):
        torch = _inputs._torch()
        if x.layout not in (torch.sparse_coo, torch.sparse_csr, torch.strided):
            raise _spbmm.InvalidArgument(
                f"{what}: sddmm takes CSR or COO matrices, not {x.layout}")
        raw = _inputs.raw_entry(x, what)
        if raw[0] == _inputs.CSR and not _csr_canonical(raw[3], raw[4]):
            rows = np.repeat(np.arange(raw[1], dtype=raw[4].dtype), np.diff(raw[3]))
            raw = (_inputs.COO, raw[1], raw[2], rows, raw[4], raw[5])
        return raw
    if _inputs.is_scipy_sparse(x) and x.format not in ("csr", "coo"):
        raise _spbmm.InvalidArgument(
            f"{what}: sddmm takes CSR or COO matrices, not {x.format.upper()} (convert it first, "
            "so that the values' order is the one you hold)")
    return _inputs.raw_entry(x, what, follow=True)


def _value_outputs(out, count, dtype, single):
    """out for sddmm as writable 1-D NumPy views of dtype (never a copy)."""
    if single and (_inputs.is_torch(out) or isinstance(out, np.ndarray)):
        items = [out]
    elif isinstance(out, (list, tuple)):
        items = list(out)
    else:
        raise TypeError("out must be a list of 1-D arrays or tensors (one per A entry)")
    arrays = []
    for i, item in enumerate(items):
        what = f"out entry {i}"
        if _inputs.is_torch(item):
            if item.layout != _inputs._torch().strided or item.device.type != "cpu":
                raise _spbmm.InvalidArgument(f"{what}: must be a dense CPU tensor")
            arr = item.detach().numpy()
        elif isinstance(item, np.ndarray):
            arr = item
        else:
            raise TypeError(f"{what}: must be a NumPy array or a torch tensor")
        if arr.dtype != dtype:
            raise _spbmm.InvalidArgument(
                f"{what}: dtype {arr.dtype}, but the product is computed in {dtype}")
        arrays.append(arr)
    return arrays


def sddmm(A, X, Y, *, alpha=1.0, beta=0.0, out=None, threads=None, kernel="auto", dtype=None):
    """Batched sampled dense-dense product: for every stored entry p = (r, c) of every A_i,
    ``out_i[p] = alpha * X_i[r, :] @ Y_i[c, :] + beta * A_i.values[p]``.

    A: a sequence of sparse matrices (SciPy CSR or COO, torch sparse COO or CSR) of their own
    shapes and patterns, or one matrix. X: the X_i (rows(A_i) x k_i), Y: the Y_i (cols(A_i) x
    k_i), as lists of dense arrays or tensors, 3-D arrays, or one matrix each for one A. Returns
    the values, one 1-D array per entry in A_i's storage order (the order of ``A_i.data``,
    ``A_i.values()`` or ``A_i._values()``; a COO entry's duplicates each get their own value):
    torch tensors when A, X or Y is torch, else NumPy arrays; one array for one A. With ``out``
    (a list of 1-D arrays or tensors, one per entry, or one for one A) writes there and returns
    out; out may be A's own values (``[a.data for a in A]``), which updates A in place.
    Values are computed in float32 when every operand is float32, else in float64 (or in out's
    dtype). Raises spbmm.ShapeError naming the entry and the shapes when they do not fit.

    A may be a concatenated batch (spbmm.ConcatCsr, spbmm.ConcatCoo): X and Y are then one
    2-D array each over all nodes (or lists per graph), and the result is one array of the
    batch's nnz values in its storage order; ``out=batch.values`` updates the batch in place.
    """
    _check_scalars(alpha, beta)
    threads = _inputs.check_threads(threads)
    if _concat.is_concat(A):
        return _concat_sddmm(A, X, Y, alpha, beta, out, threads, kernel, dtype)
    single = _inputs.is_single_matrix(A)
    items = _inputs.batch_items(A)
    raws = [_sampled_entry(x, "A" if single else f"A entry {i}") for i, x in enumerate(items)]
    x = _inputs.DenseOperand(X, "X")
    y = _inputs.DenseOperand(Y, "Y")
    if out is not None and dtype is None:
        dtype = _inputs.out_dtype(out)
    entries, value, index = _inputs.prepare_raws(raws, x.dtypes() + y.dtypes(), dtype)
    out_arrays = None if out is None else _value_outputs(out, len(entries), value, single)
    result = _spbmm.sddmm(entries, x.typed(value), y.typed(value), out_arrays, float(alpha),
                          float(beta), value.char, index.itemsize, threads, kernel)
    if out is not None:
        return out
    if x.is_torch or y.is_torch or any(_inputs.is_torch(t) for t in items):
        torch = _inputs._torch()
        result = [torch.from_numpy(r) for r in result]
    return result[0] if single else result


def _concat_sddmm(A, X, Y, alpha, beta, out, threads, kernel, dtype):
    """sddmm over a concatenated batch: one values array over all its stored entries."""
    xs = A.split_nodes(X, "X") if _concat.whole(X) else X
    ys = A.split_nodes(Y, "Y", 0, "cols") if _concat.whole(Y) else Y
    x = _inputs.DenseOperand(xs, "X")
    y = _inputs.DenseOperand(ys, "Y")
    if out is not None and dtype is None:
        dtype = _inputs.out_dtype([out])
    entries, value, index = _inputs.prepare_raws(A.raw_entries(), x.dtypes() + y.dtypes(),
                                                 dtype)
    if out is None:
        # A tensor when any operand is one (on the CPU: the values' gradient of a training step).
        like = [t for t in (X, Y, A.values) if _inputs.is_torch(t)]
        like += [t for t in x.items + y.items if _inputs.is_torch(t)]
        result, full = _concat.new_whole((A.nnz,), value, like[:1] or None)
    else:
        if not (_inputs.is_torch(out) or isinstance(out, np.ndarray)) or len(out.shape) != 1:
            raise TypeError("out must be one 1-D array or tensor of the batch's nnz values")
        if out.shape[0] != A.nnz:
            raise _spbmm.ShapeError(f"out: {out.shape[0]} values for the batch's {A.nnz} "
                                    "stored entries")
        result, full = out, out
    out_arrays = _value_outputs(A.split_values(full), len(entries), value, False)
    _spbmm.sddmm(entries, x.typed(value), y.typed(value), out_arrays, float(alpha), float(beta),
                 value.char, index.itemsize, threads, kernel)
    return result


def spmm_reduce(A, B, reduce="sum", *, return_arg=False, out=None, arg=None, threads=None,
                kernel="auto", dtype=None):
    """SpMM with a reduction: ``C_i[r, :] = reduce over the stored (r, j) of A_i of
    a_rj * B_i[j, :]``, reduce one of "sum", "mean", "max", "min" (a row without stored entries
    gives zeros, as ``torch.sparse.mm(A, B, reduce=...)`` does).

    A and B as in ``bmm`` (one of either is used with every entry of the other). Returns a list
    of C_i of B's kind, or writes ``out``. With ``return_arg=True`` (max and min only) returns
    ``(C, arg)`` where arg_i[r, c] is the column j of A_i whose product gave C_i[r, c] (the first
    on ties, -1 for an empty row), in A's index dtype; ``arg`` may be given (a list of integer
    arrays of C's shapes) to be written in place. A may be a concatenated batch (spbmm.ConcatCsr,
    spbmm.ConcatCoo) with B one 2-D array over all nodes: C (and arg) are then one array over
    all nodes.
    """
    threads = _inputs.check_threads(threads)
    if not isinstance(reduce, str):
        raise _spbmm.InvalidArgument(f"reduce must be a string, not {type(reduce).__name__}")
    if arg is not None and not return_arg:
        raise _spbmm.InvalidArgument("arg is given but return_arg is False")
    if _concat.is_concat(A) and _concat.whole(B):
        entries, b_arrays, out_arrays, value, index, result = _concat_operands(
            A, B, out, "N", "N", dtype)
        arg_result = arg_arrays = None
        if return_arg:
            if arg is None:
                arg_result, arg_full = _concat.new_whole(result.shape, index, B)
            elif not _concat.whole(arg):
                raise TypeError("arg must be one 2-D integer array or tensor over all nodes")
            else:
                arg_result = arg_full = arg
            arg_arrays = _inputs.output_arrays(A.split_nodes(arg_full, "arg"), index)
        _spbmm.spmm_reduce(entries, b_arrays, out_arrays, arg_arrays, reduce, bool(return_arg),
                           value.char, index.itemsize, threads, kernel)
        c = _concat.to_device(result, B) if out is None else out
        return (c, _concat.to_device(arg_result, B)) if return_arg else c
    b = _inputs.DenseOperand(B, "B")
    if out is not None and dtype is None:
        dtype = _inputs.out_dtype(out)
    entries, value, index = _inputs.prepare_raws(
        A.raw_entries() if _concat.is_concat(A) else _inputs.raw_batch(A), b.dtypes(), dtype)
    b_arrays = b.typed(value)
    if out is None:
        cs, args = _spbmm.spmm_reduce(entries, b_arrays, None, None, reduce, bool(return_arg),
                                      value.char, index.itemsize, threads, kernel)
        cs = _inputs.results(cs, b)
        if not return_arg:
            return cs
        return cs, _inputs.results(args, b)
    out_arrays = _inputs.output_arrays(out, value)
    arg_arrays = None
    if return_arg:
        if arg is None:
            arg_arrays = [empty(o.shape, index) for o in out_arrays]
        else:
            arg_arrays = _inputs.output_arrays(arg, index)
    _spbmm.spmm_reduce(entries, b_arrays, out_arrays, arg_arrays, reduce, bool(return_arg),
                       value.char, index.itemsize, threads, kernel)
    if not return_arg:
        return out
    return out, (_inputs.results(arg_arrays, b) if arg is None else arg)
