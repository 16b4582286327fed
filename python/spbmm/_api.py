"""spbmm.bmm and spbmm.Plan: batched products over NumPy, SciPy and torch operands."""

import numbers

from . import _inputs, _spbmm


def _check_scalars(alpha, beta):
    for name, v in (("alpha", alpha), ("beta", beta)):
        if not isinstance(v, numbers.Real) or isinstance(v, bool):
            raise TypeError(f"{name} must be a real number, not {type(v).__name__}")


def bmm(A, B, *, alpha=1.0, beta=0.0, out=None, op_a="N", op_b="N", threads=None,
        kernel="auto", dtype=None):
    """Batched products ``C_i = alpha * op(A_i) @ op(B_i) + beta * C_i``.

    A: a sequence of matrices, each a SciPy sparse matrix or array (CSR and COO are wrapped as
    they are, other formats converted to CSR), a NumPy array, or a torch tensor (sparse COO,
    sparse CSR or dense); kinds and shapes may differ from entry to entry. One matrix (or a 3-D
    array) is also accepted. B: a sequence of dense arrays or tensors, or one matrix (used with
    every A_i), or a 3-D array. A batch of one A is likewise used with every B_i.

    Returns a list of new results of B's kind (torch tensors when B is torch, else NumPy arrays),
    or, with ``out`` (a list of arrays or tensors, or a 3-D one), writes the results there in place
    and returns ``out``; ``beta`` needs ``out``. Values are computed in float32 when every operand
    is float32, else in float64 (or in ``dtype``, or in out's dtype). Inputs whose dtype and
    layout the library takes (float32/float64 values, int32/int64 indices, a unit stride along one
    axis) are used without a copy.

    op_a, op_b: "N" or "T". threads: None for the OpenMP default. kernel: "auto" (the dispatcher
    chooses per entry), "reference", "sparse", "dense", "eigen" or "gpu".

    Raises spbmm.ShapeError (a ValueError) when shapes do not fit, spbmm.FormatError for
    malformed sparse data, spbmm.InvalidArgument for a bad option, and spbmm.LimitError (an
    OverflowError and a MemoryError) beyond a size limit; nothing is written to out then.
    """
    _check_scalars(alpha, beta)
    threads = _inputs.check_threads(threads)
    if beta != 0 and out is None:
        raise _spbmm.InvalidArgument("beta != 0 needs out (the C that beta scales)")
    b = _inputs.DenseOperand(B, "B")
    if out is not None and dtype is None:
        dtype = _inputs.out_dtype(out)
    entries, value, index = _inputs.prepare_batch(A, b.dtypes(), dtype)
    b_arrays = b.typed(value)
    if out is None:
        arrays = _spbmm.bmm(entries, b_arrays, None, float(alpha), 0.0, value.char,
                            index.itemsize, op_a, op_b, threads, kernel)
        return _inputs.results(arrays, b)
    out_arrays = _inputs.output_arrays(out, value)
    _spbmm.bmm(entries, b_arrays, out_arrays, float(alpha), float(beta), value.char,
               index.itemsize, op_a, op_b, threads, kernel)
    return out


class Plan:
    """A batch of A operands analysed once and multiplied many times.

    ``Plan(A, n, op_a="N", op_b="N", threads=None, kernel="auto", dtype=None)`` takes A as
    ``bmm`` does; n is the number of columns of op(B_i), one for every entry or a list with one
    per entry (it drives the kernel choice; ``execute`` takes any B whose shapes fit). The plan
    views A's arrays without copying and holds references to them, so they stay alive as long as
    the plan; their values must not change while the plan is used (a plan may have made
    converted copies of them). One plan may be executed from several threads at once, each with
    its own ``out``; the GIL is released while it computes.
    """

    def __init__(self, A, n, *, op_a="N", op_b="N", threads=None, kernel="auto", dtype=None):
        threads = _inputs.check_threads(threads)
        if isinstance(n, numbers.Integral) and not isinstance(n, bool):
            n = int(n)
        else:
            n = [int(x) for x in n]
        entries, value, index = _inputs.prepare_batch(A, (), dtype)
        self._plan = _spbmm.Plan(entries, n, value.char, index.itemsize, op_a, op_b, threads,
                                 kernel, A)
        self._dtype = value
        self._index_dtype = index
        self._op = (op_a, op_b)

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

    def execute(self, B, out=None, *, alpha=1.0, beta=0.0):
        """``C_i = alpha * op(A_i) @ op(B_i) + beta * C_i``: a new list of B's kind, or into out.

        B is converted to the plan's dtype when it differs (a copy); out must have that dtype.
        """
        _check_scalars(alpha, beta)
        if beta != 0 and out is None:
            raise _spbmm.InvalidArgument("beta != 0 needs out (the C that beta scales)")
        b = _inputs.DenseOperand(B, "B")
        b_arrays = b.typed(self._dtype)
        if out is None:
            return _inputs.results(self._plan.execute(b_arrays, None, float(alpha), 0.0), b)
        self._plan.execute(b_arrays, _inputs.output_arrays(out, self._dtype), float(alpha),
                           float(beta))
        return out

    def __repr__(self):
        return (f"spbmm.Plan({len(self)} entries, dtype={self._dtype}, op_a={self._op[0]!r}, "
                f"op_b={self._op[1]!r}, kernels={self.kernels})")
