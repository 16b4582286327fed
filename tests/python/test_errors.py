"""Every error path: the exception type, that it is also the expected built-in, and the message;
and that a failed call leaves out untouched."""

import numpy as np
import pytest

import spbmm
from conftest import DATA, needs_scipy, needs_torch, sparse, torch


def test_hierarchy():
    for cls, builtin in [(spbmm.ShapeError, ValueError), (spbmm.FormatError, ValueError),
                         (spbmm.ParseError, ValueError), (spbmm.InvalidArgument, ValueError),
                         (spbmm.LimitError, OverflowError), (spbmm.LimitError, MemoryError),
                         (spbmm.IoError, OSError), (spbmm.DeviceError, RuntimeError),
                         (spbmm.NotCompiled, NotImplementedError)]:
        assert issubclass(cls, spbmm.Error) and issubclass(cls, builtin)
        assert cls.__module__ == "spbmm"


def test_shape_error_names_entry_and_shapes(rng):
    out = np.full((3, 2), 7.0)
    with pytest.raises(spbmm.ShapeError) as e:
        spbmm.bmm([rng.standard_normal((3, 4)), rng.standard_normal((2, 5))],
                  [rng.standard_normal((4, 2)), rng.standard_normal((4, 2))],
                  out=[out, np.zeros((2, 2))])
    assert str(e.value) == "entry 1: op(A) is 2x5 but op(B) is 4x2 (inner dimensions 5 != 4)"
    assert "\n" not in str(e.value)
    np.testing.assert_array_equal(out, 7.0)  # entry 0 was not written either


def test_batch_sizes_that_cannot_broadcast(rng):
    with pytest.raises(ValueError, match="batch"):
        spbmm.bmm([np.eye(2)] * 2, [np.eye(2)] * 3)


def test_out_shape_and_count(rng):
    with pytest.raises(spbmm.ShapeError):
        spbmm.bmm([np.eye(2)], [np.eye(2)], out=[np.zeros((3, 2))])
    with pytest.raises(ValueError):
        spbmm.bmm([np.eye(2)], [np.eye(2)], out=[np.zeros((2, 2))] * 2)


@needs_scipy
def test_format_error_column_out_of_range():
    a = sparse.csr_matrix((np.array([1.0]), np.array([9], dtype=np.int32),
                           np.array([0, 0, 1], dtype=np.int32)), shape=(2, 3))
    with pytest.raises(spbmm.FormatError, match=r"row 1: column index 9 >= cols 3"):
        spbmm.bmm([a], np.eye(3))


@needs_scipy
def test_format_error_coo_index():
    a = sparse.coo_matrix((np.array([1.0]), (np.array([5]), np.array([0]))), shape=(6, 2))
    a.row[0] = -1
    with pytest.raises(spbmm.FormatError, match="entry 0"):
        spbmm.bmm([a], np.eye(2))


@needs_scipy
def test_format_error_short_arrays():
    a = sparse.csr_matrix((np.array([1.0]), np.array([0], dtype=np.int32),
                           np.array([0, 1, 1], dtype=np.int32)), shape=(2, 3))
    a.indptr[2] = 5  # claims 5 stored entries, the arrays hold 1
    with pytest.raises(spbmm.FormatError, match="needs 5"):
        spbmm.bmm([a], np.eye(3))


def test_not_a_matrix():
    with pytest.raises(spbmm.ShapeError, match="A entry 0: expected a 2-D matrix"):
        spbmm.bmm([np.ones(3)], np.eye(3))
    with pytest.raises(spbmm.ShapeError, match="B entry 0"):
        spbmm.bmm([np.eye(3)], [np.ones(3)])
    with pytest.raises(TypeError, match="real numbers"):
        spbmm.bmm([np.eye(2, dtype=complex)], np.eye(2))
    with pytest.raises(TypeError, match="sequence of matrices"):
        spbmm.bmm(3.0, np.eye(2))


@needs_scipy
def test_sparse_b_is_rejected():
    with pytest.raises(TypeError, match="must be dense"):
        spbmm.bmm([np.eye(2)], sparse.eye(2, format="csr"))


@pytest.mark.parametrize("kwargs, match", [
    ({"op_a": "X"}, "op_a must be 'N' or 'T', not 'X'"),
    ({"op_b": "C"}, "op_b must be 'N' or 'T', not 'C'"),
    ({"kernel": "fastest"}, "kernel must be one of"),
    ({"threads": -1}, "threads must be None or a non-negative integer"),
    ({"threads": 1.5}, "threads must be None or a non-negative integer"),
    ({"beta": 1.0}, "beta != 0 needs out"),
    ({"dtype": np.int32}, "dtype must be float32 or float64"),
])
def test_invalid_arguments(kwargs, match):
    with pytest.raises(spbmm.InvalidArgument, match=match):
        spbmm.bmm([np.eye(2)], np.eye(2), **kwargs)


def test_bad_out(rng):
    a, b = np.eye(2), np.eye(2)
    with pytest.raises(spbmm.InvalidArgument, match="dtype float32, but the product"):
        spbmm.bmm([a], [b], out=[np.zeros((2, 2), np.float32)], dtype=np.float64)
    ro = np.zeros((2, 2))
    ro.flags.writeable = False
    with pytest.raises(spbmm.InvalidArgument, match="read-only"):
        spbmm.bmm([a], [b], out=[ro])
    with pytest.raises(spbmm.InvalidArgument, match="no unit-stride axis"):
        spbmm.bmm([a], [b], out=[np.zeros((4, 4))[::2, ::2]])
    with pytest.raises(TypeError):
        spbmm.bmm([a], [b], out=5)


def test_out_aliasing_b_is_refused(rng):
    b = rng.standard_normal((3, 3))
    keep = b.copy()
    with pytest.raises(spbmm.InvalidArgument, match="(?i)overlap|alias|share"):
        spbmm.bmm([rng.standard_normal((3, 3))], [b], out=[b])
    np.testing.assert_array_equal(b, keep)


@needs_scipy
def test_limit_error_is_overflow_and_memory_error():
    huge = sparse.coo_matrix((np.array([1.0]), (np.array([0]), np.array([0]))),
                             shape=(100000, 100000))
    with pytest.raises(spbmm.LimitError) as e:
        spbmm.Plan([huge], 4, kernel="dense")
    assert isinstance(e.value, OverflowError) and isinstance(e.value, MemoryError)
    assert "100000x100000" in str(e.value)


def test_gpu_without_device():
    if spbmm.config()["cuda"]:
        err = (spbmm.DeviceError, spbmm.NotCompiled)
    else:
        err = spbmm.NotCompiled
    try:
        spbmm.bmm([np.eye(2)], np.eye(2), kernel="gpu")
    except err as e:
        assert str(e)
    else:
        assert spbmm.config()["cuda"], "the GPU kernel ran in a build without CUDA"


def test_parse_error_has_file_and_line():
    path = DATA / "mm" / "err_bad_value.mtx"
    with pytest.raises(spbmm.ParseError) as e:
        spbmm.read_matrix_market(path, format="dense")
    assert isinstance(e.value, ValueError)
    assert e.value.file == str(path)
    assert e.value.line > 1
    assert str(e.value).startswith(f"{path}:{e.value.line}: ")


def test_io_error_is_os_error(tmp_path):
    missing = tmp_path / "missing.mtx"
    with pytest.raises(spbmm.IoError) as e:
        spbmm.read_matrix_market(missing, format="dense")
    assert isinstance(e.value, OSError)
    assert str(missing) in str(e.value)
    with pytest.raises(OSError):
        spbmm.read_batch(tmp_path / "no_such_dir")


@needs_torch
def test_torch_errors():
    with pytest.raises(spbmm.ShapeError, match="3-D sparse tensor"):
        spbmm.bmm(torch.zeros(2, 3, 3).to_sparse(), torch.eye(3))
    with pytest.raises(TypeError, match="must be dense"):
        spbmm.bmm([torch.eye(3)], torch.eye(3).to_sparse())
    with pytest.raises(spbmm.ShapeError, match="inner dimensions"):
        spbmm.bmm([torch.eye(3).to_sparse_csr()], torch.eye(4))
