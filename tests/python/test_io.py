"""Matrix Market reading and writing from Python: SciPy, NumPy and torch results, batches."""

import numpy as np
import pytest

import spbmm
from conftest import DATA, dense_of, needs_scipy, needs_torch, random_csr, sparse, torch

MM = DATA / "mm"
GENERAL = np.array([[1.0, 0, 0, 0.5], [0, 0, -2.25, 0], [0, 0, 0, 300.0]])


@needs_scipy
def test_read_csr_coo_dense():
    a = spbmm.read_matrix_market(MM / "coord_real_general.mtx")
    assert sparse.issparse(a) and a.format == "csr" and a.shape == (3, 4)
    assert a.indices.dtype == np.int32  # SciPy's own index type where it fits
    np.testing.assert_array_equal(a.toarray(), GENERAL)
    c = spbmm.read_matrix_market(MM / "coord_real_general.mtx", format="coo")
    assert c.format == "coo" and c.nnz == 4
    np.testing.assert_array_equal(c.toarray(), GENERAL)
    d = spbmm.read_matrix_market(str(MM / "coord_real_general.mtx"), format="dense")
    assert isinstance(d, np.ndarray)
    np.testing.assert_array_equal(d, GENERAL)
    arr = spbmm.read_matrix_market(MM / "array_general.mtx", format="dense", dtype=np.float32)
    assert arr.dtype == np.float32
    np.testing.assert_array_equal(arr, [[1, 3, 5], [2, 4, 6]])


@needs_scipy
def test_symmetry_and_duplicates():
    s = spbmm.read_matrix_market(MM / "coord_symmetric.mtx").toarray()
    np.testing.assert_array_equal(s, s.T)
    assert s[0, 1] == 2 and s[1, 0] == 2
    lower = spbmm.read_matrix_market(MM / "coord_symmetric.mtx", expand_symmetry=False)
    assert lower.nnz == 4
    dup = spbmm.read_matrix_market(MM / "duplicates.mtx")
    np.testing.assert_array_equal(dup.toarray(), [[7, 0], [0, 3]])
    coo = spbmm.read_matrix_market(MM / "duplicates.mtx", format="coo")
    assert coo.nnz == 4  # COO keeps the file's triplets; their sum is the value


def test_header():
    h = spbmm.read_matrix_market_header(MM / "coord_symmetric.mtx")
    assert (h["rows"], h["cols"], h["nnz"]) == (3, 3, 4)
    assert h["symmetry"] == "symmetric" and h["format"] == "coordinate"


@needs_torch
def test_read_like_torch():
    t = spbmm.read_matrix_market(MM / "coord_real_general.mtx", like="torch")
    assert t.layout == torch.sparse_csr and t.dtype == torch.float64
    np.testing.assert_array_equal(t.to_dense().numpy(), GENERAL)
    c = spbmm.read_matrix_market(MM / "coord_real_general.mtx", format="coo", like="torch")
    assert c.layout == torch.sparse_coo
    np.testing.assert_array_equal(c.to_dense().numpy(), GENERAL)
    d = spbmm.read_matrix_market(MM / "coord_real_general.mtx", format="dense", like="torch")
    assert d.layout == torch.strided


@needs_scipy
def test_read_batch_directory_and_list():
    demo = DATA / "demo"
    batch = spbmm.read_batch(demo)
    files = sorted(p for p in demo.iterdir() if p.suffix == ".mtx")
    assert len(batch) == len(files) == 5
    for m, f in zip(batch, files):
        np.testing.assert_array_equal(m.toarray(), spbmm.read_matrix_market(f).toarray())
    # Entries are views of one concatenated array per kind.
    assert np.shares_memory(batch[0].data, batch[1].data) or batch[0].data.base is not None
    two = spbmm.read_batch([files[4], files[0]], format="dense")
    assert [t.shape for t in two] == [batch[4].shape, batch[0].shape]
    # A batch read from files runs as it is.
    x = np.ones((batch[0].shape[1], 3))
    np.testing.assert_allclose(spbmm.bmm(batch[:1], x)[0], batch[0] @ x)


@needs_scipy
@pytest.mark.parametrize("kind", ["csr", "coo", "dense", "csr32"])
def test_write_round_trip(rng, tmp_path, kind):
    a = random_csr(rng, 9, 7, 0.3)
    m = {"csr": a, "coo": a.tocoo(), "dense": a.toarray(),
         "csr32": a.astype(np.float32)}[kind]
    path = tmp_path / f"{kind}.mtx"
    spbmm.write_matrix_market(path, m, comments=["written by the test"])
    text = path.read_text()
    assert text.startswith("%%MatrixMarket matrix")
    assert "%written by the test\n" in text  # comments are written as given
    back = spbmm.read_matrix_market(path, format="dense")
    np.testing.assert_allclose(back, dense_of(m), rtol=1e-7 if kind == "csr32" else 0)


@needs_scipy
def test_write_options(tmp_path):
    s = sparse.csr_matrix(np.array([[2.0, 1.0], [1.0, 3.0]]))
    spbmm.write_matrix_market(tmp_path / "s.mtx", s, symmetry="symmetric", field="integer")
    h = spbmm.read_matrix_market_header(tmp_path / "s.mtx")
    assert (h["symmetry"], h["field"], h["nnz"]) == ("symmetric", "integer", 3)
    np.testing.assert_array_equal(spbmm.read_matrix_market(tmp_path / "s.mtx").toarray(),
                                  s.toarray())
    spbmm.write_matrix_market(tmp_path / "a.mtx", s, format="array")
    assert spbmm.read_matrix_market_header(tmp_path / "a.mtx")["format"] == "array"
    with pytest.raises(spbmm.InvalidArgument, match="field"):
        spbmm.write_matrix_market(tmp_path / "x.mtx", s, field="complex")
    with pytest.raises(spbmm.InvalidArgument):
        spbmm.write_matrix_market(tmp_path / "x.mtx", s * 0.5, field="integer")
    with pytest.raises(spbmm.IoError):
        spbmm.write_matrix_market(tmp_path / "no" / "such" / "dir" / "x.mtx", s)


@needs_torch
def test_write_torch(tmp_path):
    t = torch.tensor([[0.0, 1.5], [2.0, 0.0]]).to_sparse()
    spbmm.write_matrix_market(tmp_path / "t.mtx", t)
    np.testing.assert_array_equal(
        spbmm.read_matrix_market(tmp_path / "t.mtx", format="dense"), t.to_dense().numpy())


def test_read_errors(tmp_path):
    with pytest.raises(spbmm.InvalidArgument, match="format"):
        spbmm.read_matrix_market(MM / "coord_real_general.mtx", format="csc")
    with pytest.raises(spbmm.InvalidArgument, match="like"):
        spbmm.read_matrix_market(MM / "coord_real_general.mtx", like="pandas")
    with pytest.raises(spbmm.InvalidArgument, match="dtype"):
        spbmm.read_matrix_market(MM / "coord_real_general.mtx", dtype=np.int64)
    with pytest.raises(spbmm.ParseError, match="complex values are not supported"):
        spbmm.read_matrix_market(MM / "err_complex.mtx", format="dense")
    big = tmp_path / "big.mtx"
    big.write_text("%%MatrixMarket matrix coordinate real general\n100000 100000 1\n1 1 1\n")
    with pytest.raises(spbmm.LimitError):
        spbmm.read_matrix_market(big, format="dense")
