"""spbmm.Plan: explain, execute, views of the caller's buffers without copies, lifetime, and use
from several Python threads."""

import gc
import sys
import threading
import weakref

import numpy as np
import pytest

import spbmm
from conftest import assert_results, expected, needs_scipy, needs_torch, random_csr, torch


@needs_scipy
def test_plan_execute_and_explain(rng):
    A = [random_csr(rng, 50, 40, 0.1), rng.standard_normal((6, 40)), random_csr(rng, 3, 40).tocoo()]
    plan = spbmm.Plan(A, n=8)
    assert len(plan) == 3
    text = plan.explain()
    assert isinstance(text, str) and "entry" in text and "kernel" in text
    assert len(plan.kernels) == 3 and all(isinstance(k, str) for k in plan.kernels)
    assert [c["shape"] for c in plan.choices()] == [(50, 40), (6, 40), (3, 40)]
    assert "spbmm.Plan(3 entries" in repr(plan)
    B = [rng.standard_normal((40, 8)) for _ in A]
    assert_results(plan.execute(B), expected(A, B))
    # n only drives the choice: another width runs too, and one B broadcasts.
    b = rng.standard_normal((40, 3))
    assert_results(plan.execute(b, alpha=2.0), expected(A, [b], 2.0))


@needs_scipy
def test_plan_ops_out_beta_and_per_entry_n(rng):
    A = [random_csr(rng, 7, 5), rng.standard_normal((4, 9))]
    plan = spbmm.Plan(A, [3, 2], op_a="T", op_b="T", threads=1)
    B = [rng.standard_normal((3, 7)), rng.standard_normal((2, 4))]
    want = expected(A, B, 1.5, "T", "T")
    out = [np.ones(w.shape) for w in want]
    assert plan.execute(B, out=out, alpha=1.5, beta=-1.0) is out
    assert_results(out, [w - 1 for w in want])


def test_plan_dtype(rng):
    a = rng.standard_normal((4, 4)).astype(np.float32)
    plan = spbmm.Plan([a], 2)
    assert plan.dtype == np.float32
    (c,) = plan.execute(np.ones((4, 2)))  # float64 B converted to the plan's float32
    assert c.dtype == np.float32
    with pytest.raises(spbmm.InvalidArgument, match="dtype float64"):
        plan.execute(np.ones((4, 2)), out=[np.zeros((4, 2))])
    assert spbmm.Plan([a], 2, dtype=np.float64).dtype == np.float64


def test_plan_errors(rng):
    with pytest.raises(spbmm.InvalidArgument, match="op_a"):
        spbmm.Plan([np.eye(2)], 2, op_a="Q")
    with pytest.raises(spbmm.ShapeError):
        spbmm.Plan([np.eye(2)], 2).execute(np.ones((3, 2)))
    with pytest.raises(spbmm.InvalidArgument, match="beta"):
        spbmm.Plan([np.eye(2)], 2).execute(np.ones((2, 2)), beta=1.0)


@needs_scipy
@pytest.mark.parametrize("kernel", ["sparse", "reference"])
def test_plan_views_scipy_values_without_copy(rng, kernel):
    # A CSR entry run by the sparse (or reference) kernel with op N is the caller's own arrays:
    # a change to the values after the plan is made shows in the next product.
    a = random_csr(rng, 20, 10, 0.3)
    plan = spbmm.Plan([a], 4, kernel=kernel)
    b = rng.standard_normal((10, 4))
    (c1,) = plan.execute(b)
    a.data *= 3.0
    (c2,) = plan.execute(b)
    np.testing.assert_allclose(c2, 3.0 * c1, rtol=1e-12)
    np.testing.assert_allclose(c2, a @ b, rtol=1e-12)


def test_plan_views_numpy_without_copy(rng):
    a = rng.standard_normal((6, 5))
    plan = spbmm.Plan([a[:, :4]], 2, kernel="dense")  # a strided view, still not copied
    b = rng.standard_normal((4, 2))
    a[:, :4] *= -2.0
    np.testing.assert_allclose(plan.execute(b)[0], a[:, :4] @ b, rtol=1e-12)


@needs_torch
def test_plan_views_torch_values_without_copy():
    a = torch.randn(8, 6, dtype=torch.float64).to_sparse_csr()
    plan = spbmm.Plan([a], 3, kernel="sparse")
    b = torch.randn(6, 3, dtype=torch.float64)
    with torch.no_grad():
        a.values().mul_(2.0)
    torch.testing.assert_close(plan.execute(b)[0], a.to_dense() @ b)


def test_out_is_written_in_place(rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    out = np.zeros((2, 3, 5))
    ptr = out.__array_interface__["data"][0]
    assert spbmm.bmm([a, 2 * a], b, out=out) is out
    assert out.__array_interface__["data"][0] == ptr
    np.testing.assert_allclose(out[1], 2 * (a @ b), rtol=1e-12)


def test_results_share_one_buffer(rng):
    C = spbmm.bmm([rng.standard_normal((3, 4)), rng.standard_normal((2, 4))], np.ones((4, 2)))
    assert C[0].base is not None and C[0].flags.writeable
    C[0][:] = 0  # results are ordinary writable arrays


@needs_scipy
def test_plan_keeps_its_operands_alive(rng):
    a = random_csr(rng, 30, 20, 0.2)
    b = rng.standard_normal((20, 4))
    want = a @ b
    data_ref = weakref.ref(a.data)
    plan = spbmm.Plan([a], 4, kernel="sparse")
    del a
    gc.collect()
    assert data_ref() is not None  # the plan holds the arrays it views
    np.testing.assert_allclose(plan.execute(b)[0], want, rtol=1e-12)
    del plan
    gc.collect()
    assert data_ref() is None


@needs_scipy
def test_one_plan_from_several_threads(rng):
    A = [random_csr(rng, 400, 300, 0.02) for _ in range(8)] + [rng.standard_normal((64, 300))]
    plan = spbmm.Plan(A, 16)
    Bs = [rng.standard_normal((300, 16)) for _ in range(8)]
    serial = [plan.execute(b) for b in Bs]
    results = [None] * len(Bs)
    errors = []

    def work(i):
        try:
            for _ in range(5):
                out = [np.empty_like(c) for c in serial[i]]
                plan.execute(Bs[i], out=out)
                results[i] = out
        except Exception as e:  # reported below, with the thread's index
            errors.append((i, e))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(Bs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i in range(len(Bs)):
        for got, want in zip(results[i], serial[i]):
            np.testing.assert_array_equal(got, want)


def test_gil_is_released_while_computing(rng):
    # With a switch interval far longer than the work, a thread that kept the GIL would run its
    # products to the end before the starting thread could go on; released, the starting thread
    # runs while the products are still being computed.
    a = rng.standard_normal((300, 300))
    b = rng.standard_normal((300, 300))
    plan = spbmm.Plan([a], 300, threads=1)
    state = {"done": False}

    def work():
        for _ in range(20):
            plan.execute(b)
        state["done"] = True

    old = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    try:
        t = threading.Thread(target=work)
        t.start()
        seen_running = not state["done"]
        t.join()
    finally:
        sys.setswitchinterval(old)
    assert seen_running and state["done"]
