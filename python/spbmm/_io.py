"""Matrix Market files: spbmm's parallel reader and writer, returning SciPy, NumPy or torch."""

import os

import numpy as np

from . import _inputs, _spbmm

_INT32_MAX = 2**31 - 1


def _value(dtype):
    dt = np.dtype(dtype)
    if dt not in (_inputs.FLOAT32, _inputs.FLOAT64):
        raise _spbmm.InvalidArgument(f"dtype must be float32 or float64, not {dt}")
    return dt


def _check_like(like):
    if like not in ("scipy", "torch"):
        raise _spbmm.InvalidArgument(f"like must be 'scipy' or 'torch', not {like!r}")


def _check_format(format):
    if format not in ("csr", "coo", "dense"):
        raise _spbmm.InvalidArgument(f"format must be 'csr', 'coo' or 'dense', not {format!r}")


def _index_bytes(paths, like, format):
    """int64 for torch (its native index type); for SciPy int32 where every file fits it, so that
    SciPy keeps the arrays as they are instead of narrowing them in a copy."""
    if like == "torch" or format == "dense":
        return 8
    for p in paths:
        h = _spbmm.read_header(p)
        # A symmetric file may expand to twice its stored entries.
        if max(h["rows"], h["cols"], 2 * h["nnz"]) > _INT32_MAX:
            return 8
    return 4


def _torch_sparse(factory, *args, size):
    """A torch sparse tensor of the reader's arrays, which hold every invariant torch checks
    (indices in range, CSR canonical): saying so spares torch's warning about unchecked
    invariants (the argument is newer than torch 1.13)."""
    try:
        return factory(*args, size=size, check_invariants=False)
    except TypeError:
        return factory(*args, size=size)


def _wrap_csr(t, like):
    rows, cols, indptr, indices, data = t
    if like == "torch":
        import torch

        return _torch_sparse(torch.sparse_csr_tensor, torch.from_numpy(indptr),
                             torch.from_numpy(indices), torch.from_numpy(data), size=(rows, cols))
    from scipy import sparse

    cls = getattr(sparse, "csr_array", sparse.csr_matrix)
    m = cls((data, indices, indptr), shape=(rows, cols), copy=False)
    m.has_canonical_format = True  # the reader sorts columns and sums duplicates
    return m


def _wrap_coo(t, like):
    rows, cols, row, col, data = t
    if like == "torch":
        import torch

        idx = torch.from_numpy(np.stack([row, col]))
        return _torch_sparse(torch.sparse_coo_tensor, idx, torch.from_numpy(data),
                             size=(rows, cols))
    from scipy import sparse

    cls = getattr(sparse, "coo_array", sparse.coo_matrix)
    return cls((data, (row, col)), shape=(rows, cols), copy=False)


def _wrap_dense(a, like):
    if like == "torch":
        import torch

        return torch.from_numpy(a)
    return a


def _wrap(t, format, like):
    if format == "csr":
        return _wrap_csr(t, like)
    if format == "coo":
        return _wrap_coo(t, like)
    return _wrap_dense(t, like)


def read_matrix_market(path, format="csr", like="scipy", *, dtype=np.float64,
                       expand_symmetry=True, threads=None):
    """Reads a Matrix Market file with spbmm's parallel reader.

    format: "csr" (canonical: sorted columns, duplicates summed), "coo" (the file's triplets in
    file order) or "dense". like: "scipy" (csr_array / coo_array; a NumPy array for dense) or
    "torch" (sparse CSR / COO tensors, a dense tensor). Symmetric files are expanded unless
    expand_symmetry is False. The arrays come from the reader without a copy.

    Raises spbmm.ParseError (a ValueError; its message reads "file:line: problem" and its
    attributes file and line say the same) for a malformed file, spbmm.IoError (an OSError) when
    the file cannot be read, and spbmm.LimitError beyond a size limit.
    """
    _check_format(format)
    _check_like(like)
    value = _value(dtype)
    path = os.fspath(path)
    threads = _inputs.check_threads(threads)
    index = _index_bytes([path], like, format)
    t = _spbmm.read(path, format, value.char, index, expand_symmetry, threads)
    return _wrap(t, format, like)


def read_matrix_market_header(path):
    """The banner and size line of a file: object, format, field, symmetry, rows, cols, nnz,
    banner and comments."""
    return _spbmm.read_header(os.fspath(path))


def read_batch(directory, format="csr", like="scipy", *, dtype=np.float64, expand_symmetry=True,
               threads=None):
    """Reads a ragged batch: every *.mtx file in a directory in name order (or a list of paths),
    one matrix per file, as read_matrix_market returns it. The CSR entries are views of one set
    of concatenated arrays."""
    _check_format(format)
    _check_like(like)
    value = _value(dtype)
    threads = _inputs.check_threads(threads)
    if isinstance(directory, (str, bytes, os.PathLike)):
        paths = _spbmm.list_matrix_market_files(os.fsdecode(directory))
    else:
        paths = [os.fsdecode(p) for p in directory]
    index = _index_bytes(paths, like, format)
    if format == "csr":
        tuples = _spbmm.read_csr_batch(paths, value.char, index, expand_symmetry, threads)
    else:
        tuples = [_spbmm.read(p, format, value.char, index, expand_symmetry, threads)
                  for p in paths]
    return [_wrap(t, format, like) for t in tuples]


def write_matrix_market(path, matrix, *, format=None, field="real", symmetry="general",
                        precision=0, comments=(), threads=None):
    """Writes one matrix (SciPy sparse, NumPy, or torch) as a Matrix Market file.

    format: None (coordinate for sparse input, array for dense), "coordinate" or "array".
    field: "real", "integer" (values must be integers) or "pattern" (coordinate only).
    symmetry: "general", or "symmetric" / "skew-symmetric" to write the lower triangle only (not
    verified). precision: significant digits, 0 for the shortest text that reads back exactly.
    Values are written from float64 (float32 input stays float32).
    """
    path = os.fspath(path)
    threads = _inputs.check_threads(threads)
    raw = _inputs.raw_entry(matrix, "matrix")
    v, i = _inputs.raw_dtypes(raw)
    value = _inputs.value_type([v])
    index = _inputs.index_type([i] if i is not None else [])
    entry = _inputs.final_entry(raw, value, index)
    _spbmm.write(path, entry, value.char, index.itemsize, format or "", field, symmetry,
                 int(precision), [str(c) for c in comments], threads)
