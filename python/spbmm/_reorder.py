"""Node orders for graphs whose numbering scatters neighbours over memory."""

import numpy as np

from . import _inputs, _spbmm


def rcm_order(A):
    """Reverse Cuthill-McKee order of a graph's nodes, for relabelling the graph once.

    A is a square adjacency: a SciPy sparse matrix or array, a torch sparse (COO or CSR) tensor,
    or a dense NumPy array or torch tensor; its pattern alone counts, A + A^T is used and the
    diagonal ignored. Returns ``order`` (a NumPy integer array, a torch int64 tensor for torch
    input): ``order[k]`` is the old number of the node numbered k. Relabel the graph and its
    features once, then work in the new numbering::

        A2 = A[order][:, order]      # SciPy; torch: index_select on both dimensions
        X2 = X[order]
        # A2 @ X2 equals (A @ X)[order], with neighbours' rows of X2 close together

    Where a numbering scatters neighbours (shuffled or sampled node ids), products with the
    relabelled graph run faster once the features outgrow the caches; a graph without such
    locality gains nothing.
    """
    torch_in = _inputs.is_torch(A)
    if torch_in:
        torch = _inputs._torch()
        t = A
        if t.layout == torch.strided:
            t = t.to_sparse_csr()
        elif t.layout == torch.sparse_coo:
            t = t.coalesce().to_sparse_csr()
        elif t.layout != torch.sparse_csr:
            t = t.to_dense().to_sparse_csr()
        rows, cols = int(t.shape[0]), int(t.shape[1])
        indptr = _inputs.torch_numpy(t.crow_indices())
        indices = _inputs.torch_numpy(t.col_indices())
    else:
        if not _inputs.is_scipy_sparse(A):
            a = np.asarray(A)
            if a.ndim != 2:
                raise _spbmm.InvalidArgument(
                    f"rcm_order: A has {a.ndim} dimensions; expected a square 2-D matrix")
            import scipy.sparse

            A = scipy.sparse.csr_matrix(a)
        m = A.tocsr()
        if not m.has_canonical_format:
            m = m.copy()
            m.sum_duplicates()
        rows, cols = int(m.shape[0]), int(m.shape[1])
        indptr, indices = m.indptr, m.indices
    order = _spbmm.rcm_order(rows, cols, indptr, indices)
    if torch_in:
        return _inputs._torch().from_numpy(order.astype(np.int64, copy=False))
    return order
