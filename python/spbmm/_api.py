"""spbmm.bmm, bmm_sum, multiply and spbmm.Plan: batched products over NumPy, SciPy and torch operands."""

import functools
import numbers

import numpy as np

from . import _alloc, _concat, _inputs, _spbmm


def _check_scalars(alpha, beta):
    for name, v in (("alpha", alpha), ("beta", beta)):
        if not isinstance(v, numbers.Real) or isinstance(v, bool):
            raise TypeError(f"{name} must be a real number, not {type(v).__name__}")


def _raws(A, follow=False):
    """A's entries in raw form: a concatenated batch's graphs, or the matrices of a sequence."""
    return A.raw_entries() if _concat.is_concat(A) else _inputs.raw_batch(A, follow)


def _concat_operands(A, B, out, op_a, op_b, dtype, fixed=None):
    """A concatenated A with B one 2-D array over all nodes (op_b "T": B is f x nodes): B's
    views per graph, out's views per graph (a new 64-byte aligned result over all nodes when out
    is None) and what to return. fixed: the plan's value dtype (B converted to it)."""
    axis = 1 if op_b in ("T", "t") else 0
    inner, outer = A.sides(op_a)
    b = _inputs.DenseOperand(A.split_nodes(B, "B", axis, inner), "B")
    if out is not None and not _concat.whole(out):
        raise TypeError("out must be one 2-D array or tensor over all nodes, as B is")
    if fixed is not None:
        entries, value, index = None, fixed, None
    else:
        if out is not None and dtype is None:
            dtype = _inputs.out_dtype(out)
        entries, value, index = _inputs.prepare_raws(A.raw_entries(), b.dtypes(), dtype)
    if out is None:
        result, full = _concat.new_whole((A.count(outer), int(B.shape[1 - axis])), value, B)
    else:
        result, full = out, out
    out_arrays = _inputs.output_arrays(A.split_nodes(full, "out", 0, outer), value)
    return entries, b.typed(value), out_arrays, value, index, result


def bmm(A, B, *, alpha=1.0, beta=0.0, out=None, op_a="N", op_b="N", threads=None,
        kernel="auto", dtype=None):
    """Batched products ``C_i = alpha * op(A_i) @ op(B_i) + beta * C_i``.

    A: a sequence of matrices, each a SciPy sparse matrix or array (CSR and COO are wrapped as
    they are, other formats converted to CSR), a NumPy array, or a torch tensor (sparse COO,
    sparse CSR or dense); kinds and shapes may differ from entry to entry. One matrix (or a 3-D
    array) is also accepted. B: a sequence of dense arrays or tensors, or one matrix (used with
    every A_i), or a 3-D array. A batch of one A is likewise used with every B_i.
    A may also be a concatenated batch (spbmm.ConcatCsr, spbmm.ConcatCoo): B is then one 2-D
    array over all nodes (nodes x f; f x nodes with op_b="T"), split by the batch's ptr (by
    col_ptr, for op(A) = A of a batch of rectangular graphs), and the result is one array over
    all nodes (or out, likewise); a list of B_i gives a list.

    Returns a list of new results of B's kind (torch tensors when B is torch, else NumPy arrays),
    or, with ``out`` (a list of arrays or tensors, or a 3-D one), writes the results there in place
    and returns ``out``; ``beta`` needs ``out``. Values are computed in float32 when every operand
    is float32, else in float64 (or in ``dtype``, or in out's dtype). Inputs whose dtype and
    layout the library takes (float32/float64 values, int32/int64 indices, a unit stride along one
    axis) are used without a copy.

    op_a, op_b: "N" or "T". threads: None for the OpenMP default. kernel: "auto" (the dispatcher
    chooses per entry), "reference", "sparse", "dense", "eigen", "gpu" or "mkl".

    Raises spbmm.ShapeError (a ValueError) when shapes do not fit, spbmm.FormatError for
    malformed sparse data, spbmm.InvalidArgument for a bad option, and spbmm.LimitError (an
    OverflowError and a MemoryError) beyond a size limit; nothing is written to out then.
    """
    _check_scalars(alpha, beta)
    threads = _inputs.check_threads(threads)
    if beta != 0 and out is None:
        raise _spbmm.InvalidArgument("beta != 0 needs out (the C that beta scales)")
    if _concat.is_concat(A) and _concat.whole(B):
        entries, b_arrays, out_arrays, value, index, result = _concat_operands(
            A, B, out, op_a, op_b, dtype)
        _spbmm.bmm(entries, b_arrays, out_arrays, float(alpha), float(beta), value.char,
                   index.itemsize, op_a, op_b, threads, kernel)
        return _concat.to_device(result, B) if out is None else out
    b = _inputs.DenseOperand(B, "B")
    if out is not None and dtype is None:
        dtype = _inputs.out_dtype(out)
    entries, value, index = _inputs.prepare_raws(_raws(A), b.dtypes(), dtype)
    b_arrays = b.typed(value)
    if out is None:
        fresh = _alloc.batch_results(entries, b_arrays, op_a, op_b, value)
        arrays = _spbmm.bmm(entries, b_arrays, fresh, float(alpha), 0.0, value.char,
                            index.itemsize, op_a, op_b, threads, kernel)
        return _inputs.results(arrays if fresh is None else fresh, b)
    out_arrays = _inputs.output_arrays(out, value)
    _spbmm.bmm(entries, b_arrays, out_arrays, float(alpha), float(beta), value.char,
               index.itemsize, op_a, op_b, threads, kernel)
    return out


def bmm_sum(A, B, *, alpha=1.0, beta=0.0, out=None, op_a="N", op_b="N", threads=None,
            kernel="auto", dtype=None):
    """The batch sum ``C = alpha * sum_i op(A_i) @ op(B_i) + beta * C``: one matrix.

    A and B as in ``bmm`` (with its broadcasting); every product must have C's shape. The
    products are added in entry order, so the result has the same bits at any thread count.
    Returns a new matrix of B's kind, or writes ``out`` (a 2-D array or tensor) and returns it;
    ``beta`` needs ``out``. Raises spbmm.ShapeError naming the entry whose product does not fit.
    """
    _check_scalars(alpha, beta)
    threads = _inputs.check_threads(threads)
    if beta != 0 and out is None:
        raise _spbmm.InvalidArgument("beta != 0 needs out (the C that beta scales)")
    if _concat.is_concat(A) and _concat.whole(B):
        B = A.split_nodes(B, "B", 1 if op_b in ("T", "t") else 0, A.sides(op_a)[0])
    b = _inputs.DenseOperand(B, "B")
    if out is not None and dtype is None:
        dtype = _inputs.out_dtype(out)
    entries, value, index = _inputs.prepare_raws(_raws(A), b.dtypes(), dtype)
    b_arrays = b.typed(value)
    if out is None:
        c = _spbmm.bmm_sum(entries, b_arrays, None, float(alpha), 0.0, value.char,
                           index.itemsize, op_a, op_b, threads, kernel)
        return _inputs.results([c], b)[0]
    (c,) = _inputs.output_arrays(_single_out(out), value)
    _spbmm.bmm_sum(entries, b_arrays, c, float(alpha), float(beta), value.char, index.itemsize,
                   op_a, op_b, threads, kernel)
    return out


def multiply(A, B, *, alpha=1.0, beta=0.0, out=None, op_a="N", op_b="N", threads=None,
             kernel="auto", dtype=None):
    """One product ``C = alpha * op(A) @ op(B) + beta * C`` for one matrix A of any kind ``bmm``
    takes (SciPy sparse, NumPy, torch sparse or dense) and one dense B. Returns a new matrix of
    B's kind, or writes ``out`` (a 2-D array or tensor) and returns it; ``beta`` needs ``out``.
    """
    _check_scalars(alpha, beta)
    threads = _inputs.check_threads(threads)
    if beta != 0 and out is None:
        raise _spbmm.InvalidArgument("beta != 0 needs out (the C that beta scales)")
    b = _inputs.DenseOperand(B, "B")
    if not b.single:
        raise _spbmm.ShapeError(f"B: expected one 2-D matrix, got {len(b.arrays)} of them "
                                "(spbmm.bmm takes batches)")
    if out is not None and dtype is None:
        dtype = _inputs.out_dtype(out)
    entries, value, index = _inputs.prepare_raws([_inputs.raw_entry(A, "A")], b.dtypes(), dtype)
    (b_array,) = b.typed(value)
    if out is None:
        c = _spbmm.multiply(entries[0], b_array, None, float(alpha), 0.0, value.char,
                            index.itemsize, op_a, op_b, threads, kernel)
        return _inputs.results([c], b)[0]
    (c,) = _inputs.output_arrays(_single_out(out), value)
    _spbmm.multiply(entries[0], b_array, c, float(alpha), float(beta), value.char,
                    index.itemsize, op_a, op_b, threads, kernel)
    return out


def _concat_values(batch, i):
    """The current values of graph i of a concatenated batch (a view of the caller's)."""
    v = _concat._values(batch.values, batch.nnz, "A")
    return v[int(batch.value_ptr[i]):int(batch.value_ptr[i + 1])]


def _item_values(x, i):
    """The current values of batch entry x (the caller's array, or a conversion of it)."""
    return _inputs.entry_values(_inputs.raw_entry(x, f"A entry {i}", follow=True))


def _single_out(out):
    """out for a one-matrix result: a 2-D array or tensor, as a list of one."""
    if (_inputs.is_torch(out) or isinstance(out, np.ndarray)) and \
            len(out.shape) == 2:
        return [out]
    raise TypeError("out must be one 2-D array or tensor")


class Plan:
    """A batch of A operands analysed once and multiplied many times.

    ``Plan(A, n, op_a="N", op_b="N", threads=None, kernel="auto", dtype=None, both_ops=False,
    constant_values=False)`` takes A as ``bmm`` does; n is the number of columns of op(B_i), one
    for every entry or a list with one per entry (it drives the kernel choice; ``execute`` takes
    any B whose shapes fit). The plan views A's arrays without copying and holds references to
    them, so they stay alive as long as the plan. A's pattern (shapes, indices) must not change
    while the plan is used; its values may: every execute uses A's current values, for every
    entry and either op, whatever the plan converted (an entry whose values had to be copied, for
    another dtype or from another device, is copied again at each execute). With
    ``constant_values=True`` the caller promises that the values never change, and executes skip
    that refresh (they then use the values A had when the plan was made wherever a copy was made).

    ``execute(..., op_a="T")`` runs the transposed products on the same plan (the backward pass
    of a forward product); ``both_ops=True`` prepares both ops when the plan is made, else the
    other op is prepared on its first use. One plan may be executed from several threads at
    once, each with its own ``out``; the GIL is released while it computes.
    """

    def __init__(self, A, n, *, op_a="N", op_b="N", threads=None, kernel="auto", dtype=None,
                 both_ops=False, constant_values=False):
        threads = _inputs.check_threads(threads)
        if isinstance(n, numbers.Integral) and not isinstance(n, bool):
            n = int(n)
        else:
            n = [int(x) for x in n]
        self._concat = A if _concat.is_concat(A) else None
        raws = _raws(A, follow=not constant_values)
        entries, value, index = _inputs.prepare_raws(raws, (), dtype)
        self._plan = _spbmm.Plan(entries, n, value.char, index.itemsize, op_a, op_b, threads,
                                 kernel, bool(both_ops), bool(constant_values), A)
        self._entries = entries
        # Entries whose values the plan sees through a copy: refreshed before every execute
        # (i, and a function giving the caller's current values of entry i).
        self._refresh = []
        if not constant_values:
            if self._concat is not None:
                for i, e in enumerate(entries):
                    if not np.may_share_memory(raws[i][5], _inputs.entry_values(e)):
                        self._refresh.append((i, functools.partial(_concat_values, A, i)))
            else:
                for i, (x, e) in enumerate(zip(_inputs.batch_items(A), entries)):
                    own = _inputs.caller_values(x)
                    if own is None or not np.may_share_memory(own, _inputs.entry_values(e)):
                        self._refresh.append((i, functools.partial(_item_values, x, i)))
        self._dtype = value
        self._index_dtype = index
        self._op = (op_a, op_b)

    def _refresh_values(self):
        for i, source in self._refresh:
            src = source()
            dst = _inputs.entry_values(self._entries[i])
            if src.shape != dst.shape:
                raise _spbmm.ShapeError(
                    f"A entry {i}: {src.shape} values now, {dst.shape} when the plan was made "
                    "(a plan needs A's pattern unchanged)")
            np.copyto(dst, src, casting="unsafe")

    @property
    def dtype(self):
        """The value type the plan computes in (float32 or float64)."""
        return self._dtype

    @property
    def index_dtype(self):
        return self._index_dtype

    def __len__(self):
        return len(self._plan)

    def explain(self):
        """A table: entry, shape, nnz, density, the chosen kernel and why."""
        return self._plan.explain()

    def choices(self):
        """Per entry: format, shape of op(A), n, nnz, density, kernel, estimate and reason."""
        return self._plan.choices()

    @property
    def kernels(self):
        """The kernel chosen for each entry."""
        return [c["kernel"] for c in self._plan.choices()]

    def execute(self, B, out=None, *, alpha=1.0, beta=0.0, op_a=None):
        """``C_i = alpha * op(A_i) @ op(B_i) + beta * C_i``: a new list of B's kind, or into out.

        op_a: None for the plan's own op, or "N" / "T" (the same plan runs both). B is
        converted to the plan's dtype when it differs (a copy); out must have that dtype.
        """
        _check_scalars(alpha, beta)
        if beta != 0 and out is None:
            raise _spbmm.InvalidArgument("beta != 0 needs out (the C that beta scales)")
        op = self._op_arg(op_a)
        if self._concat is not None and _concat.whole(B):
            _, b_arrays, out_arrays, _, _, result = _concat_operands(
                self._concat, B, out, op or self._op[0], self._op[1], None, self._dtype)
            self._refresh_values()
            self._plan.execute(b_arrays, out_arrays, float(alpha), float(beta), op)
            return _concat.to_device(result, B) if out is None else out
        b = _inputs.DenseOperand(B, "B")
        b_arrays = b.typed(self._dtype)
        out_arrays = None if out is None else _inputs.output_arrays(out, self._dtype)
        self._refresh_values()
        if out is None:
            fresh = _alloc.batch_results(self._entries, b_arrays, op or self._op[0], self._op[1],
                                         self._dtype)
            arrays = self._plan.execute(b_arrays, fresh, float(alpha), 0.0, op)
            return _inputs.results(arrays if fresh is None else fresh, b)
        self._plan.execute(b_arrays, out_arrays, float(alpha), float(beta), op)
        return out

    def execute_sum(self, B, out=None, *, alpha=1.0, beta=0.0, op_a=None):
        """The batch sum ``C = alpha * sum_i op(A_i) @ op(B_i) + beta * C`` (one matrix, every
        product of C's shape, added in entry order: the same bits at any thread count). Returns
        a new matrix of B's kind, or writes ``out`` (a 2-D array or tensor) and returns it."""
        _check_scalars(alpha, beta)
        if beta != 0 and out is None:
            raise _spbmm.InvalidArgument("beta != 0 needs out (the C that beta scales)")
        op = self._op_arg(op_a)
        if self._concat is not None and _concat.whole(B):
            B = self._concat.split_nodes(B, "B", 1 if self._op[1] in ("T", "t") else 0,
                                         self._concat.sides(op or self._op[0])[0])
        b = _inputs.DenseOperand(B, "B")
        b_arrays = b.typed(self._dtype)
        out_arrays = None if out is None else _inputs.output_arrays(_single_out(out), self._dtype)
        self._refresh_values()
        if out is None:
            c = self._plan.execute_sum(b_arrays, None, float(alpha), 0.0, op)
            return _inputs.results([c], b)[0]
        self._plan.execute_sum(b_arrays, out_arrays[0], float(alpha), float(beta), op)
        return out

    @staticmethod
    def _op_arg(op_a):
        if op_a is None:
            return ""
        if not isinstance(op_a, str) or op_a not in ("N", "T", "n", "t"):
            raise _spbmm.InvalidArgument(f"op_a must be 'N' or 'T', not {op_a!r}")
        return op_a

    def __repr__(self):
        return (f"spbmm.Plan({len(self)} entries, dtype={self._dtype}, op_a={self._op[0]!r}, "
                f"op_b={self._op[1]!r}, kernels={self.kernels})")
