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
