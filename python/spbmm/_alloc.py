"""spbmm.empty and spbmm.zeros: arrays and tensors whose data start on a 64-byte boundary.

The library's kernels write C with non-temporal (streaming) stores only when C's rows start on
cache-line boundaries, and read B a line at a time when B's rows do; NumPy's large arrays start
16 bytes into a page (malloc's header), so an ordinary ``np.empty`` out costs a read of C for
every write (the line must be fetched before it is partly written) and B's rows straddle one
more line each. These helpers give buffers that start on a line, as the library's own do.
"""

import numbers
import sys
import threading

import numpy as np

from . import _spbmm

ALIGNMENT = 64  # bytes: one cache line, one AVX-512 register (the library's kDenseAlignment)

# Large blocks are kept for reuse when their last array goes away: a training loop asks for the
# same result sizes at every step, and a fresh block of hundreds of MB costs its page faults
# again each time (glibc hands such blocks back to the system at every free).
POOL_MIN_BYTES = 1 << 22  # smaller blocks are malloc's business
POOL_MAX_BYTES = 1 << 30  # at most this much freed memory is kept
_pool = []  # free raw blocks, the most recently released last (guarded by _pool_lock)
_released = []  # blocks whose arrays went away, not yet in _pool (list.append is atomic)
_pool_lock = threading.Lock()


class _Block:
    """One aligned array's memory: the array's base; gives the raw block back when it dies."""

    __slots__ = ("raw", "__array_interface__")

    def __init__(self, raw, skip, dims, dt):
        self.raw = raw
        self.__array_interface__ = {"data": (raw.ctypes.data + skip, False), "shape": dims,
                                    "typestr": dt.str, "version": 3}

    def __del__(self):
        try:
            _released.append(self.raw)
        except Exception:  # noqa: BLE001  (interpreter shutdown: nothing to keep)
            pass


def _take(nbytes):
    """A free block of exactly nbytes from the pool (released blocks first moved in), or None."""
    with _pool_lock:
        while _released:
            raw = _released.pop()
            if sum(b.nbytes for b in _pool) + raw.nbytes <= POOL_MAX_BYTES:
                _pool.append(raw)
            elif _pool and raw.nbytes <= POOL_MAX_BYTES:
                _pool.pop(0)  # the oldest goes, the newest is likelier to be asked for again
                _pool.append(raw)
        for i in range(len(_pool) - 1, -1, -1):
            if _pool[i].nbytes == nbytes:
                return _pool.pop(i)
    return None


def pooled_bytes():
    """Bytes of freed blocks kept for reuse (after taking in those released since)."""
    _take(-1)
    with _pool_lock:
        return sum(b.nbytes for b in _pool)


def release_pool():
    """Gives every kept block back (to malloc, and so to the system)."""
    _take(-1)
    with _pool_lock:
        _pool.clear()


def _shape(shape):
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise _spbmm.InvalidArgument(
            f"shape must be an integer or a tuple of integers, not {type(shape).__name__}"
        ) from None
    for d in dims:
        if not isinstance(d, numbers.Integral) or isinstance(d, bool):
            raise _spbmm.InvalidArgument(f"shape {dims}: dimensions must be integers")
        if d < 0:
            raise _spbmm.InvalidArgument(f"shape {dims}: dimension {d} is negative")
    return tuple(int(d) for d in dims)


def _numpy_dtype(dtype):
    """dtype as a NumPy dtype (a torch dtype is taken too); numbers and booleans only."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(dtype, torch.dtype):
        if dtype == torch.bfloat16:
            raise _spbmm.InvalidArgument("dtype torch.bfloat16 has no NumPy equivalent")
        dtype = torch.empty((), dtype=dtype).numpy().dtype
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise _spbmm.InvalidArgument(f"dtype {dtype!r} is not a NumPy or torch dtype") from None
    if dt.kind not in "biufc":
        raise _spbmm.InvalidArgument(f"dtype {dt} is not numeric")
    return dt


def _torch_like(like):
    """(torch, device) when like asks for a tensor, else (None, None)."""
    if like is None:
        return None, None
    torch = sys.modules.get("torch")
    if isinstance(like, str):
        if like == "numpy":
            return None, None
        if like != "torch":
            raise _spbmm.InvalidArgument(f"like must be None, 'numpy', 'torch' or a tensor, "
                                         f"not {like!r}")
        if torch is None:
            import torch  # noqa: F811  (like="torch" asks for it)
        return torch, torch.device("cpu")
    if torch is not None and isinstance(like, torch.Tensor):
        return torch, like.device
    if isinstance(like, np.ndarray):
        return None, None
    raise _spbmm.InvalidArgument(
        f"like must be None, 'numpy', 'torch', an array or a tensor, not {type(like).__name__}")


def empty(shape, dtype=np.float32, *, like=None):
    """A new uninitialized C-ordered array whose data start on a 64-byte boundary.

    shape: an integer or a tuple of them; dtype: a NumPy (or torch) dtype, float32 unless given.
    like: None or "numpy" for a NumPy array; "torch" or a torch tensor for a torch tensor (on the
    tensor's device; the alignment is that of CPU memory, a tensor on another device is an
    ordinary ``torch.empty``). Use it for ``out=`` and for B in loops over large batches: the
    library writes such C with streaming stores (no read of C first) and reads B's rows a cache
    line at a time when every row starts on a line (rows of a multiple of 64 bytes). Blocks of
    4 MiB and more are kept when their arrays go away (up to 1 GiB in all) and given again for
    the same size: a loop that makes the same results at every step skips their page faults
    (``spbmm._alloc.release_pool()`` gives them back).
    Raises spbmm.InvalidArgument (a ValueError) for a bad shape, dtype or like.
    """
    dims = _shape(shape)
    dt = _numpy_dtype(dtype)
    torch, device = _torch_like(like)
    count = 1
    for d in dims:
        count *= d
    nbytes = count * dt.itemsize
    if torch is not None:
        if device.type != "cpu":
            tdtype = torch.from_numpy(np.empty(0, dtype=dt)).dtype
            return torch.empty(dims, dtype=tdtype, device=device)
        # NumPy's memory, not torch.empty's: NumPy asks for transparent huge pages on large
        # blocks, which halves the first-touch cost of a result of hundreds of MB.
        return torch.from_numpy(empty(dims, dt))
    if nbytes >= POOL_MIN_BYTES:
        size = nbytes + ALIGNMENT
        raw = _take(size)
        if raw is None:
            raw = np.empty(size, dtype=np.uint8)
        return np.asarray(_Block(raw, -raw.ctypes.data % ALIGNMENT, dims, dt))
    # At least one element before the final slice: NumPy moves the data of an empty slice.
    raw = np.empty(max(nbytes, dt.itemsize) + ALIGNMENT, dtype=np.uint8)
    skip = -raw.ctypes.data % ALIGNMENT
    return raw[skip:skip + max(nbytes, dt.itemsize)].view(dt)[:count].reshape(dims)


def zeros(shape, dtype=np.float32, *, like=None):
    """``empty(shape, dtype, like=like)`` filled with zeros."""
    a = empty(shape, dtype, like=like)
    a[...] = 0
    return a


def is_aligned(a):
    """Whether the data of an array or CPU tensor start on a 64-byte boundary."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(a, torch.Tensor):
        return a.data_ptr() % ALIGNMENT == 0
    return np.asarray(a).ctypes.data % ALIGNMENT == 0


def _op_shape(shape, op):
    return (shape[1], shape[0]) if op in ("T", "t") else tuple(shape)


def batch_results(entries, b_arrays, op_a, op_b, dtype):
    """New C_i for a batch product, each starting on a 64-byte boundary in one buffer, or None
    when the shapes do not fit (the library then reports them) or the batch is empty."""
    na, nb = len(entries), len(b_arrays)
    if na == 0 or nb == 0 or (na != nb and na != 1 and nb != 1):
        return None
    if op_a not in ("N", "T", "n", "t") or op_b not in ("N", "T", "n", "t"):
        return None
    shapes = []
    for i in range(max(na, nb)):
        e = entries[i if na > 1 else 0]
        a_shape = e[1].shape if e[0] == 0 else (e[1], e[2])
        m, k = _op_shape(a_shape, op_a)
        k2, n = _op_shape(b_arrays[i if nb > 1 else 0].shape, op_b)
        if k != k2:
            return None
        shapes.append((int(m), int(n)))
    step = ALIGNMENT // np.dtype(dtype).itemsize
    offsets, total = [], 0
    for m, n in shapes:
        offsets.append(total)
        total += -(-(m * n) // step) * step
    buf = empty(max(total, 1), dtype)
    return [buf[o:o + m * n].reshape(m, n) for o, (m, n) in zip(offsets, shapes)]
