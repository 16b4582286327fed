"""spbmm: batched sparse and dense matrix products for NumPy, SciPy and torch.

``spbmm.bmm(A, B)`` computes ``C_i = alpha * op(A_i) @ op(B_i) + beta * C_i`` over a batch whose
entries may each be sparse (CSR or COO) or dense, with shapes of their own; a dispatcher picks a
kernel per entry. ``spbmm.Plan`` analyses a batch once for many products (following A's values
as they change, for op(A) = A and A^T); ``bmm_sum`` adds the products of a batch, ``multiply``
takes one matrix, ``sddmm`` samples X_i Y_i^T at A_i's pattern and ``spmm_reduce`` combines a
row's products by sum, mean, max or min. ``ConcatCsr`` and ``ConcatCoo`` view a concatenated
(PyTorch Geometric style) batch of graphs, with the features as one array over all nodes;
``empty`` and ``zeros`` make 64-byte aligned arrays for ``out``. ``spbmm.torch`` has the
differentiable versions for torch autograd, and ``spbmm.torch.mm`` a layer's dense ``X @ W``.
Matrix Market files are read and written with ``read_matrix_market``, ``read_batch`` and
``write_matrix_market``; ``rcm_order`` numbers a graph's nodes so that neighbours sit close in
memory.
"""

from ._spbmm import (
    DeviceError,
    Error,
    FormatError,
    InvalidArgument,
    IoError,
    LimitError,
    NotCompiled,
    ParseError,
    ShapeError,
    __version__,
    config,
)
from ._alloc import empty, zeros
from ._api import Plan, bmm, bmm_sum, multiply
from ._concat import ConcatCoo, ConcatCsr
from ._io import read_batch, read_matrix_market, read_matrix_market_header, write_matrix_market
from ._reorder import rcm_order
from ._training import sddmm, spmm_reduce

__all__ = [
    "__version__",
    "config",
    "bmm",
    "bmm_sum",
    "multiply",
    "sddmm",
    "spmm_reduce",
    "rcm_order",
    "Plan",
    "ConcatCsr",
    "ConcatCoo",
    "empty",
    "zeros",
    "read_matrix_market",
    "read_matrix_market_header",
    "read_batch",
    "write_matrix_market",
    "Error",
    "ShapeError",
    "FormatError",
    "ParseError",
    "InvalidArgument",
    "LimitError",
    "IoError",
    "DeviceError",
    "NotCompiled",
]
