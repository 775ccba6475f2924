"""Test-suite set-up: every generated file goes to a temporary folder, tracking stays offline."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Set before any helper runs so notebook kernels (subprocesses) inherit the same folders.
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="nal-run-"))
    for name, sub in (("NAL_DATA", "data"), ("NAL_CHECKPOINTS", "checkpoints"), ("NAL_OUTPUTS", "outputs")):
        os.environ[name] = str(base / sub)
    os.environ["NAL_TRACKING"] = "offline"
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("TQDM_DISABLE", "1")
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Parallel workers share the cores: one thread each (kernels and subprocesses inherit it).
        os.environ["OMP_NUM_THREADS"] = "1"
        import torch

        torch.set_num_threads(1)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def sine() -> np.ndarray:
    """One second of a 440 Hz sine at -6 dBFS, 48 kHz, float32."""
    t = np.arange(48_000) / 48_000
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models: one torch thread is fastest, and far faster than two on a busy 2-core machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def gated_layers() -> list[dict]:
    """NAM layer arrays with gating (ReLU and Tanh, head bias on one): NAM gates with the array's own activation,
    ``activation(top) · sigmoid(bottom)``; exporters, readers and NAM's C++ core must agree on it."""
    return [
        {"input_size": 1, "condition_size": 1, "head_size": 3, "channels": 4, "kernel_size": 2, "dilations": [1, 2, 4],
         "activation": "ReLU", "gated": True, "head_bias": False},
        {"input_size": 4, "condition_size": 1, "head_size": 1, "channels": 3, "kernel_size": 3, "dilations": [1, 8],
         "activation": "Tanh", "gated": True, "head_bias": True},
    ]
