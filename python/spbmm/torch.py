"""spbmm for torch autograd: batched products of sparse (or dense) A_i and dense X_i that
torch can differentiate with respect to both.

``spbmm.torch.bmm(A, X, alpha=1.0, op_a="N", op_b="N")`` returns ``alpha * op(A_i) @ op(X_i)`` as
a list of tensors. Gradients flow to X (``dX = alpha op(A)^T dY``, one more spbmm product with A
read transposed) and to A's stored values (``dY op(X)^T`` sampled at A's pattern by spbmm's
SDDMM, a sparse gradient with A's layout; torch 1.13 has it for COO only).
``spbmm.torch.sddmm(A, X, Y)`` is the differentiable batched SDDMM. A may be a list of torch sparse COO
or CSR tensors or dense tensors, of different shapes; X a list of dense tensors or one (used
with every A_i); one A is likewise used with every X_i. Works under ``torch.no_grad()`` and
``torch.inference_mode()``.

A may also be a concatenated batch (``spbmm.ConcatCsr``, ``spbmm.ConcatCoo``, made with a torch
values tensor): X is then one tensor over all nodes and so is the result, and the gradient of
the values is one tensor of the batch's nnz values (see ``bmm``).

``spbmm.torch.mm(X, W)`` is the differentiable dense product ``X @ W`` of two 2-D CPU tensors
(float32 or float64), for a layer's weights over a tall feature matrix (X of any number of rows,
e.g. all nodes of a concatenated batch): ``dX = dZ @ W^T`` and ``dW = X^T @ dZ`` run through
spbmm too, dW as a batch sum over X's row blocks, whose bits do not depend on the thread count.
Results come from ``spbmm.empty``'s pool of large blocks.
"""

import functools

import numpy as np
import torch

from . import _alloc, _api, _concat, _inputs, _spbmm, _training

__all__ = ["bmm", "BmmFunction", "ConcatBmmFunction", "mm", "MmFunction", "sddmm",
           "SddmmFunction", "ConcatSddmmFunction"]


def _sddmm_kernel(kernel):
    """The SDDMM kernel for a product's kernel option (SDDMM has the optimized and the
    reference kernel only)."""
    return "reference" if str(kernel).lower() == "reference" else "auto"


def _sampled(entries, values, ps, qs, alpha, beta, threads, kernel):
    """``alpha * (p_i @ q_i.T)`` sampled at the pattern of entry i ``+ beta * values_i``, through
    spbmm's SDDMM: a list of 1-D tensors in each entry's storage order, on ps[0]'s device."""
    raws = [(e.kind, e.rows, e.cols, e.index_a, e.index_b, _inputs.torch_numpy(v))
            for e, v in zip(entries, values)]
    x = _inputs.DenseOperand(list(ps), "X")
    y = _inputs.DenseOperand(list(qs), "Y")
    prepared, value, index = _inputs.prepare_raws(raws, x.dtypes() + y.dtypes())
    arrays = _spbmm.sddmm(prepared, x.typed(value), y.typed(value), None, float(alpha),
                          float(beta), value.char, index.itemsize, threads,
                          _sddmm_kernel(kernel))
    device = ps[0].device if ps else torch.device("cpu")
    return [torch.from_numpy(a).to(device) for a in arrays]


class _Entry:
    """One A entry without its values: kind, shape, and the index arrays the extension views."""

    __slots__ = ("kind", "rows", "cols", "index_a", "index_b", "_row", "_col")

    def __init__(self, kind, rows=0, cols=0, index_a=None, index_b=None):
        self.kind = kind
        self.rows = rows
        self.cols = cols
        self.index_a = index_a  # CSR: row pointers; COO: row indices (NumPy views)
        self.index_b = index_b  # column indices
        self._row = None
        self._col = None

    def coordinates(self):
        """The row and column of every stored value, as int64 tensors (for the values'
        gradient; made on the first backward pass only)."""
        if self._row is None:
            if self.kind == _inputs.CSR:
                counts = np.diff(self.index_a.astype(np.int64))
                row = np.repeat(np.arange(self.rows, dtype=np.int64), counts)
            else:
                row = self.index_a.astype(np.int64, copy=False)
            self._row = torch.from_numpy(row)
            self._col = torch.from_numpy(self.index_b.astype(np.int64, copy=False))
        return self._row, self._col


@functools.lru_cache(maxsize=None)
def csr_values_differentiable():
    """Whether this torch can take a gradient through the values of a sparse CSR tensor
    (torch 1.13 cannot: its backward of values() has no CSR kernel)."""
    try:
        v = torch.ones(1, dtype=torch.float64, requires_grad=True)
        a = torch.sparse_csr_tensor(torch.tensor([0, 1]), torch.tensor([0]), v, (1, 1))
        a.values().sum().backward()
        return v.grad is not None
    except (RuntimeError, NotImplementedError):
        return False


def _split(a, what):
    """(entry, values): the structure of one A entry and its values as a differentiable tensor."""
    if not isinstance(a, torch.Tensor):
        raise TypeError(f"{what}: spbmm.torch.bmm takes torch tensors, not {type(a).__name__}")
    if a.dim() != 2:
        raise _spbmm.ShapeError(f"{what}: expected a 2-D tensor, got shape {tuple(a.shape)}")
    rows, cols = (int(s) for s in a.shape)
    if a.layout == torch.strided:
        return _Entry(_inputs.DENSE), a
    if a.layout == torch.sparse_coo:
        if a.dense_dim() != 0:
            raise _spbmm.FormatError(f"{what}: hybrid sparse tensors are not supported")
        # values() (differentiable) needs a coalesced tensor; coalescing keeps the gradient's
        # path to the caller's values (duplicates share the gradient of their sum).
        if not a.is_coalesced():
            a = a.coalesce()
        idx = a.indices()
        return (_Entry(_inputs.COO, rows, cols, _inputs.torch_numpy(idx[0]),
                       _inputs.torch_numpy(idx[1])), a.values())
    if a.layout == torch.sparse_csr:
        if a.requires_grad and torch.is_grad_enabled() and not csr_values_differentiable():
            raise NotImplementedError(
                f"{what}: torch {torch.__version__} cannot take gradients through the values of "
                "a sparse CSR tensor; pass it as COO (.to_sparse()), or detach it")
        return (_Entry(_inputs.CSR, rows, cols, _inputs.torch_numpy(a.crow_indices()),
                       _inputs.torch_numpy(a.col_indices())), a.values())
    raise TypeError(f"{what}: layout {a.layout} is not supported (COO, CSR or dense)")


class _Spec:
    """What a product needs besides the tensors autograd tracks."""

    def __init__(self, entries, alpha, op_a, op_b, threads, kernel):
        self.entries = entries
        self.alpha = alpha
        self.op_a = op_a
        self.op_b = op_b
        self.threads = threads
        self.kernel = kernel

    def run(self, values, dense, op_a, op_b):
        """alpha * op(A_i) @ op(dense_i) with A's current values, as tensors like dense[0]."""
        raws = []
        for e, v in zip(self.entries, values):
            if e.kind == _inputs.DENSE:
                raws.append((e.kind, _inputs.torch_numpy(v)))
            else:
                raws.append((e.kind, e.rows, e.cols, e.index_a, e.index_b, _inputs.torch_numpy(v)))
        b = _inputs.DenseOperand(list(dense), "X")
        entries, value, index = _inputs.prepare_raws(raws, b.dtypes())
        b_arrays = b.typed(value)
        fresh = _alloc.batch_results(entries, b_arrays, op_a, op_b, value)
        arrays = _spbmm.bmm(entries, b_arrays, fresh, self.alpha, 0.0, value.char,
                            index.itemsize, op_a, op_b, self.threads, self.kernel)
        return _inputs.results(arrays if fresh is None else fresh, b)


def _flip(op):
    return "N" if op.upper() == "T" else "T"


class BmmFunction(torch.autograd.Function):
    """``apply(spec, *values, *x)``: the product as an autograd Function (see spbmm.torch.bmm)."""

    @staticmethod
    def forward(ctx, spec, *tensors):
        na = len(spec.entries)
        values, xs = tensors[:na], tensors[na:]
        outs = spec.run(values, xs, spec.op_a, spec.op_b)
        ctx.spec = spec
        ctx.save_for_backward(*tensors)
        return tuple(outs)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, *grads):
        spec = ctx.spec
        na = len(spec.entries)
        tensors = ctx.saved_tensors
        values, xs = tensors[:na], tensors[na:]
        need_values = ctx.needs_input_grad[1:1 + na]
        need_x = ctx.needs_input_grad[1 + na:]
        nx, nc = len(xs), len(grads)
        transposed_b = spec.op_b.upper() == "T"

        grad_x = [None] * nx
        if any(need_x):
            # d op(X_i) = alpha op(A_i)^T dY_i: the same A, read the other way.
            d = spec.run(values, grads, _flip(spec.op_a), "N")
            if transposed_b:
                d = [t.t() for t in d]
            if nx == 1 and nc > 1:
                d = [torch.stack(d).sum(dim=0)] if d else []
            grad_x = [g.to(dtype=x.dtype, device=x.device) for g, x in zip(d, xs)]

        grad_values = [None] * na
        if any(need_values):
            b_ops = [x.t() if transposed_b else x for x in xs]
            sampled = []  # (j, p, q): the sparse entries' gradients, in one SDDMM call
            for i in range(nc):
                j = i if na > 1 else 0
                if not need_values[j]:
                    continue
                e = spec.entries[j]
                dy = grads[i]
                xb = b_ops[i if nx > 1 else 0].to(dy.dtype)
                if e.kind == _inputs.DENSE:
                    d = dy @ xb.t()
                    if spec.op_a.upper() == "T":
                        d = d.t()
                    d = spec.alpha * d
                    grad_values[j] = d if grad_values[j] is None else grad_values[j] + d
                elif spec.op_a.upper() == "N":
                    sampled.append((j, dy, xb))  # dA = alpha dY op(X)^T at A's pattern
                else:
                    sampled.append((j, xb, dy))  # dA = alpha op(X) dY^T at A's pattern
            if sampled:
                ds = _sampled([spec.entries[j] for j, _, _ in sampled],
                              [values[j] for j, _, _ in sampled],
                              [p for _, p, _ in sampled], [q for _, _, q in sampled],
                              spec.alpha, 0.0, spec.threads, spec.kernel)
                for (j, _, _), d in zip(sampled, ds):
                    grad_values[j] = d if grad_values[j] is None else grad_values[j] + d
            grad_values = [g if g is None else g.to(dtype=v.dtype, device=v.device)
                           for g, v in zip(grad_values, values)]
        return (None, *grad_values, *grad_x)


class _ConcatSpec:
    """A product over a concatenated batch: the batch, alpha, op(A), and an optional plan."""

    def __init__(self, batch, alpha, op_a, threads, kernel, plan):
        self.batch = batch
        self.alpha = alpha
        self.op_a = op_a
        self.threads = threads
        self.kernel = kernel
        self.plan = plan

    def run(self, values, dense, op_a):
        """alpha op_a(A) @ dense with A's values `values`, one tensor over all nodes."""
        if self.plan is not None:
            # The plan views the batch's values (the same storage as `values`): it follows them.
            return self.plan.execute(dense, alpha=self.alpha, op_a=op_a)
        b = self.batch
        inner, outer = b.sides(op_a)
        raws = b.raw_entries(_inputs.torch_numpy(values))
        x = _inputs.DenseOperand(b.split_nodes(dense, "X", 0, inner), "X")
        entries, value, index = _inputs.prepare_raws(raws, x.dtypes())
        result, full = _concat.new_whole((b.count(outer), int(dense.shape[1])), value, dense)
        out = _inputs.output_arrays(b.split_nodes(full, "out", 0, outer), value)
        _spbmm.bmm(entries, x.typed(value), out, self.alpha, 0.0, value.char, index.itemsize,
                   op_a, "N", self.threads, self.kernel)
        return _concat.to_device(result, dense)


class ConcatBmmFunction(torch.autograd.Function):
    """``apply(spec, values, x)``: alpha op(A) @ x over a concatenated batch, x and the result
    one tensor over all nodes (see spbmm.torch.bmm)."""

    @staticmethod
    def forward(ctx, spec, values, x):
        ctx.spec = spec
        ctx.save_for_backward(values, x)
        return spec.run(values, x, spec.op_a)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        spec = ctx.spec
        values, x = ctx.saved_tensors
        grad_values = grad_x = None
        if ctx.needs_input_grad[2]:
            grad_x = spec.run(values, grad, _flip(spec.op_a)).to(dtype=x.dtype, device=x.device)
        if ctx.needs_input_grad[1]:
            # dA = alpha dY X^T (op N) or alpha X dY^T (op T), at A's pattern.
            p, q = (grad, x) if spec.op_a.upper() == "N" else (x, grad.to(x.dtype))
            d = _training.sddmm(spec.batch, p, q.to(p.dtype), alpha=spec.alpha,
                                threads=spec.threads, kernel=_sddmm_kernel(spec.kernel))
            grad_values = d.to(dtype=values.dtype, device=values.device)
        return None, grad_values, grad_x


def _concat_bmm(batch, x, alpha, op_a, op_b, threads, kernel, plan):
    if not isinstance(x, torch.Tensor) or x.layout != torch.strided or x.dim() != 2:
        raise TypeError("X: with a concatenated A, expected one dense 2-D tensor over all nodes")
    values = batch.values
    if not isinstance(values, torch.Tensor):
        values = torch.from_numpy(batch._values_np)  # no gradient for NumPy values
    if plan is not None:
        if getattr(plan, "_concat", None) is not batch:
            raise _spbmm.InvalidArgument("plan: made over another batch than A (spbmm.Plan(A, n) "
                                         "with this A)")
        if plan._op[1].upper() != "N":
            raise _spbmm.InvalidArgument("plan: made with op_b='T'; spbmm.torch needs op_b='N' "
                                         "(it passes op(X) itself)")
        if plan.dtype != _inputs.torch_numpy(values).dtype:
            raise _spbmm.InvalidArgument(f"plan: computes in {plan.dtype}, A's values are "
                                         f"{values.dtype}")
    spec = _ConcatSpec(batch, float(alpha), op_a.upper(), _inputs.check_threads(threads), kernel,
                       plan)
    transposed = op_b.upper() == "T"
    y = ConcatBmmFunction.apply(spec, values, x.t() if transposed else x)
    return y


def bmm(A, X, *, alpha=1.0, op_a="N", op_b="N", threads=None, kernel="auto", plan=None):
    """Differentiable ``alpha * op(A_i) @ op(X_i)`` over a batch; returns a list of tensors.

    A: a list of torch tensors (sparse COO, sparse CSR or dense; shapes may differ) or one
    tensor. X: a list of dense tensors, one 2-D tensor (used with every A_i) or a 3-D tensor.
    Values are computed in float32 when every operand is float32, else in float64. See the
    module's text for the gradients.

    A may be a concatenated batch (spbmm.ConcatCsr or spbmm.ConcatCoo; its values a torch
    tensor, which gets the gradient: one tensor of nnz values); X is then one 2-D tensor over
    all nodes (nodes x f; f x nodes with op_b="T"), and the result one tensor over all nodes.
    plan: an spbmm.Plan over that same batch (both_ops=True for training), used for the
    product and for dX instead of planning at every call; it follows the values as they change.
    """
    if isinstance(op_a, str) and isinstance(op_b, str):
        for name, op in (("op_a", op_a), ("op_b", op_b)):
            if op not in ("N", "T", "n", "t"):
                raise _spbmm.InvalidArgument(f"{name} must be 'N' or 'T', not '{op}'")
    else:
        raise _spbmm.InvalidArgument("op_a and op_b must be 'N' or 'T'")
    if _concat.is_concat(A):
        return _concat_bmm(A, X, alpha, op_a, op_b, threads, kernel, plan)
    if plan is not None:
        raise _spbmm.InvalidArgument("plan is taken with a concatenated A only")
    a_list = [A] if isinstance(A, torch.Tensor) and A.dim() == 2 else list(A)
    if isinstance(X, torch.Tensor):
        x_list = [X] if X.dim() == 2 else list(X.unbind(0))
    else:
        x_list = list(X)
    for i, x in enumerate(x_list):
        if not isinstance(x, torch.Tensor) or x.layout != torch.strided:
            raise TypeError(f"X entry {i}: expected a dense torch tensor")
    split = [_split(a, f"A entry {i}") for i, a in enumerate(a_list)]
    spec = _Spec([s[0] for s in split], float(alpha), op_a, op_b,
                 _inputs.check_threads(threads), kernel)
    return list(BmmFunction.apply(spec, *[s[1] for s in split], *x_list))


# Row blocks X^T dZ is summed over for dW: two or more make the C++ batch sum take one long
# A^T B over the stacked rows (generated kernels, an order of summation fixed by X's height
# alone); more blocks only add Python overhead.
_MM_SUM_BLOCKS = 2


def _mm_operand(t, name):
    """t checked as an operand of spbmm.torch.mm: a dense 2-D float32/float64 CPU tensor."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name}: spbmm.torch.mm takes torch tensors, not {type(t).__name__}")
    if t.layout != torch.strided:
        raise TypeError(f"{name}: expected a dense (strided) tensor, not {t.layout} "
                        "(spbmm.torch.bmm takes sparse operands)")
    if t.dim() != 2:
        raise _spbmm.ShapeError(f"{name}: expected a 2-D tensor, got shape {tuple(t.shape)}")
    if t.device.type != "cpu":
        raise _spbmm.InvalidArgument(f"{name}: a tensor on {t.device}; spbmm.torch.mm takes CPU "
                                     "tensors")
    if t.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"{name}: dtype {t.dtype}; spbmm.torch.mm takes float32 or float64")


def _mm_into(a, b, op_a, op_b, threads, kernel):
    """op(a) @ op(b) into a new tensor from spbmm.empty's pool."""
    m = a.shape[1] if op_a == "T" else a.shape[0]
    n = b.shape[0] if op_b == "T" else b.shape[1]
    out = _alloc.empty((int(m), int(n)), a.dtype, like=a)
    return _api.multiply(a, b, out=out, op_a=op_a, op_b=op_b, threads=threads, kernel=kernel)


def _mm_weight_grad(x, dz, threads, kernel):
    """X^T @ dZ as spbmm's batch sum over row blocks: the same bits at any thread count."""
    rows = int(x.shape[0])
    blocks = max(1, min(_MM_SUM_BLOCKS, rows))
    bounds = [rows * i // blocks for i in range(blocks + 1)]
    xs = [x[bounds[i]:bounds[i + 1]] for i in range(blocks)]
    dzs = [dz[bounds[i]:bounds[i + 1]] for i in range(blocks)]
    out = _alloc.empty((int(x.shape[1]), int(dz.shape[1])), x.dtype, like=x)
    return _api.bmm_sum(xs, dzs, out=out, op_a="T", threads=threads, kernel=kernel)


class MmFunction(torch.autograd.Function):
    """``apply(x, w, threads, kernel)``: ``x @ w`` as an autograd Function (see spbmm.torch.mm)."""

    @staticmethod
    def forward(ctx, x, w, threads, kernel):
        ctx.threads = threads
        ctx.kernel = kernel
        ctx.save_for_backward(x, w)
        return _mm_into(x, w, "N", "N", threads, kernel)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dz):
        x, w = ctx.saved_tensors
        dz = dz.to(dtype=x.dtype)
        dx = dw = None
        if ctx.needs_input_grad[0]:
            dx = _mm_into(dz, w, "N", "T", ctx.threads, ctx.kernel)
        if ctx.needs_input_grad[1]:
            dw = _mm_weight_grad(x, dz, ctx.threads, ctx.kernel)
        return dx, dw, None, None


def mm(X, W, *, threads=None, kernel="auto"):
    """Differentiable dense product ``X @ W`` through spbmm: one new tensor.

    X: a dense 2-D CPU tensor (m x k, any m; strided views such as ``X.t()`` are read as they
    are); W: k x n, of X's dtype (float32 or float64). Gradients: ``dX = dZ @ W^T`` (one spbmm
    product with W read transposed) and ``dW = X^T @ dZ`` (spbmm.bmm_sum over row blocks of X
    and dZ: every bit the same at any thread count). threads: None for the OpenMP default;
    kernel as in spbmm.bmm. Works under ``torch.no_grad()`` and ``torch.inference_mode()``.

    Raises TypeError for an operand that is not a dense tensor or of another dtype than
    float32/float64 (or of another dtype than the other operand), spbmm.ShapeError (a
    ValueError) when the shapes do not fit, and spbmm.InvalidArgument (a ValueError) for a
    tensor off the CPU or a bad option.
    """
    _mm_operand(X, "X")
    _mm_operand(W, "W")
    if X.dtype != W.dtype:
        raise TypeError(f"X is {X.dtype} and W {W.dtype}: spbmm.torch.mm needs one dtype "
                        "(convert one with .to())")
    if X.shape[1] != W.shape[0]:
        raise _spbmm.ShapeError(f"X is {X.shape[0]} x {X.shape[1]} and W {W.shape[0]} x "
                                f"{W.shape[1]}: X's columns must equal W's rows")
    if not isinstance(kernel, str):
        raise _spbmm.InvalidArgument(f"kernel must be a string, not {type(kernel).__name__}")
    return MmFunction.apply(X, W, _inputs.check_threads(threads), kernel)


class SddmmFunction(torch.autograd.Function):
    """``apply(spec, *values, *x, *y)``: the sampled product as an autograd Function (see
    spbmm.torch.sddmm)."""

    @staticmethod
    def forward(ctx, spec, *tensors):
        na = len(spec.entries)
        values, xs, ys = tensors[:na], tensors[na:2 * na], tensors[2 * na:]
        outs = _sampled(spec.entries, values, xs, ys, spec.alpha, spec.beta, spec.threads,
                        spec.kernel)
        ctx.spec = spec
        ctx.save_for_backward(*tensors)
        return tuple(outs)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, *grads):
        spec = ctx.spec
        na = len(spec.entries)
        tensors = ctx.saved_tensors
        values, xs, ys = tensors[:na], tensors[na:2 * na], tensors[2 * na:]
        need = ctx.needs_input_grad[1:]
        need_values, need_x, need_y = need[:na], need[na:2 * na], need[2 * na:]
        grad_values = [spec.beta * g.to(v.dtype) if n else None
                       for g, v, n in zip(grads, values, need_values)]
        # S_i: the output gradient as values on A_i's pattern. dX_i = alpha S_i Y_i and
        # dY_i = alpha S_i^T X_i, two spbmm products over the same sparse batch.
        grad_x = [None] * na
        grad_y = [None] * na
        s_spec = _Spec(spec.entries, spec.alpha, "N", "N", spec.threads, "auto")
        if any(need_x):
            d = s_spec.run(grads, ys, "N", "N")
            grad_x = [g.to(dtype=x.dtype, device=x.device) if n else None
                      for g, x, n in zip(d, xs, need_x)]
        if any(need_y):
            d = s_spec.run(grads, xs, "T", "N")
            grad_y = [g.to(dtype=y.dtype, device=y.device) if n else None
                      for g, y, n in zip(d, ys, need_y)]
        return (None, *grad_values, *grad_x, *grad_y)


class ConcatSddmmFunction(torch.autograd.Function):
    """``apply(spec, values, x, y)``: alpha (X Y^T) at a concatenated batch's pattern + beta
    values, x and y over all nodes, one tensor of nnz values out (see spbmm.torch.sddmm)."""

    @staticmethod
    def forward(ctx, spec, values, x, y):
        ctx.spec = spec
        ctx.save_for_backward(values, x, y)
        return _training.sddmm(spec.batch, x, y, alpha=spec.alpha, beta=spec.beta,
                               threads=spec.threads, kernel=_sddmm_kernel(spec.kernel))

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        spec = ctx.spec
        values, x, y = ctx.saved_tensors
        # S: the output gradient as values on A's pattern; dX = alpha S Y, dY = alpha S^T X.
        s = _ConcatSpec(spec.batch, spec.alpha, "N", spec.threads, "auto", None)
        grad_values = spec.beta * grad.to(values.dtype) if ctx.needs_input_grad[1] else None
        grad_x = s.run(grad, y, "N").to(x.dtype) if ctx.needs_input_grad[2] else None
        grad_y = s.run(grad, x, "T").to(y.dtype) if ctx.needs_input_grad[3] else None
        return None, grad_values, grad_x, grad_y


def sddmm(A, X, Y, *, alpha=1.0, beta=0.0, threads=None, kernel="auto"):
    """Differentiable batched SDDMM: ``out_i = alpha * (X_i @ Y_i.T)`` sampled at A_i's pattern
    ``+ beta * A_i``'s values, through spbmm's SDDMM kernel.

    A: a list of torch sparse COO or CSR tensors (shapes and patterns may differ), or one; X_i
    is rows(A_i) x k_i and Y_i cols(A_i) x k_i (lists of dense tensors, 3-D tensors, or one
    each for one A). Returns one 1-D tensor of values per entry (one tensor for one A), in the
    order of ``A_i.values()`` (of ``A_i.coalesce()`` for an uncoalesced COO tensor): rebuild a
    sparse tensor with ``torch.sparse_coo_tensor(A_i.indices(), out_i, A_i.shape)``. Gradients
    flow to X (``dX_i = alpha S_i Y_i``), Y (``dY_i = alpha S_i^T X_i``), where S_i holds the
    output gradient on A_i's pattern (both computed by spbmm.bmm), and to A's values
    (``beta`` times the output gradient). A may be a concatenated batch (spbmm.ConcatCsr,
    spbmm.ConcatCoo) with X and Y one tensor each over all nodes: one tensor of the batch's nnz
    values comes back.
    """
    if _concat.is_concat(A):
        for name, t in (("X", X), ("Y", Y)):
            if not isinstance(t, torch.Tensor) or t.layout != torch.strided or t.dim() != 2:
                raise TypeError(f"{name}: with a concatenated A, expected one dense 2-D tensor "
                                "over all nodes")
        values = A.values
        if not isinstance(values, torch.Tensor):
            values = torch.from_numpy(A._values_np)
        spec = _ConcatSpec(A, float(alpha), "N", _inputs.check_threads(threads), kernel, None)
        spec.beta = float(beta)
        return ConcatSddmmFunction.apply(spec, values, X, Y)
    single = isinstance(A, torch.Tensor)
    a_list = [A] if single else list(A)
    x_list = _dense_list(X, "X", single)
    y_list = _dense_list(Y, "Y", single)
    split = [_split(a, "A" if single else f"A entry {i}") for i, a in enumerate(a_list)]
    for i, (e, _) in enumerate(split):
        if e.kind == _inputs.DENSE:
            raise _spbmm.InvalidArgument(
                f"A entry {i}: sddmm takes sparse COO or CSR tensors, not a dense one")
    if not len(x_list) == len(y_list) == len(split):
        raise _spbmm.ShapeError(
            f"A has {len(split)} entries, X {len(x_list)} and Y {len(y_list)}: sddmm needs one "
            "X_i and one Y_i per A_i")
    spec = _Spec([s[0] for s in split], float(alpha), "N", "N",
                 _inputs.check_threads(threads), kernel)
    spec.beta = float(beta)
    outs = list(SddmmFunction.apply(spec, *[s[1] for s in split], *x_list, *y_list))
    return outs[0] if single else outs


def _dense_list(x, name, single):
    if isinstance(x, torch.Tensor):
        items = [x] if x.dim() == 2 else list(x.unbind(0))
    else:
        items = list(x)
    for i, t in enumerate(items):
        if not isinstance(t, torch.Tensor) or t.layout != torch.strided:
            raise TypeError(f"{name} entry {i}: expected a dense torch tensor")
    return items
