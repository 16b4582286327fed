"""examples/python/gcn_train.py trains, on a small batch, to the same losses as torch.sparse.mm."""

import os
import pathlib
import subprocess
import sys

import pytest

from conftest import torch

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python" / "gcn_train.py"


@pytest.mark.skipif(torch is None, reason="torch is not installed (the example trains with it)")
def test_gcn_train_example():
    run = subprocess.run(
        [sys.executable, str(EXAMPLE), "--graphs", "6", "--max-nodes", "120", "--epochs", "4"],
        capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "OK: same losses to 1e-5" in run.stdout
    assert "time per epoch" in run.stdout


README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_quick_start_runs():
    """The README's Python snippets run as written (the training step's plan follows G's
    values: its last product equals one computed afresh)."""
    pytest.importorskip("scipy.sparse", reason="SciPy is not installed (the snippets use it)")
    import numpy as np

    import spbmm

    text = README.read_text()
    section = text[text.index("## Quick start in Python"):]
    section = section[:section.index("\n## ", 1)]
    blocks = [b.split("```", 1)[0] for b in section.split("```python\n")[1:]]
    assert len(blocks) >= 2
    scope = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), scope)  # noqa: S102 (the README's own code)
    fresh = spbmm.bmm(scope["G"], scope["X"])
    for y, f in zip(scope["Y"], fresh):
        np.testing.assert_allclose(y, f, rtol=1e-12, atol=1e-12)
