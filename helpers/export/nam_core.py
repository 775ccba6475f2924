"""NAM's C++ core as a reader of the course's ``.nam`` files: the runtime NAM plugins embed.

`NeuralAmpModelerCore <https://github.com/sdatkinson/NeuralAmpModelerCore>`_ compiled to WebAssembly
(npm ``@opendaw/nam-wasm`` 1.2.0, a recent core: file versions up to 0.7.0, ``in_channels``, FiLM) runs under
Node.js: it parses the file, checks that the weights fill the network exactly, prewarms it and processes audio
in blocks, as a plugin does. ``make test`` installs it beside the Python environment when ``npm`` is there
(``make nam-core``; ``$NAL_NAM_CORE`` points at another copy).

Two facts of this build matter when comparing outputs:

* it runs NAM's **fast tanh** (a rational approximation the plugin ships with, about 1e-4 from ``tanh``), so
  the model matches it exactly only with :func:`fast_tanh` in place of ``tanh`` (:func:`with_fast_tanh`);
* its ``process()`` hands the core **one** input channel. A knob file (``in_channels`` 1 + k) loads and runs,
  but the knob channels it reads are not ours to set; measured with this build they read as 0, i.e. every knob at
  its minimum. Playing a knob file at other settings needs a host that passes 1 + k channels (NAM's core
  API does; this package's does not).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from helpers.errors import ToolError
from helpers.export.common import ExportError, read_json

#: The npm package (and pinned version) that carries NAM's core.
NAM_CORE_PACKAGE = "@opendaw/nam-wasm@1.2.0"
_RUNNER = Path(__file__).with_name("nam_core.mjs")


class NamCoreMissingError(ToolError):
    """Node.js or the NAM core package is not installed."""


class NamCoreRefusedError(ExportError):
    """NAM's C++ core would not load a file (bad config, or weights that do not fill the network exactly)."""


def nam_core_dir() -> Path:
    """Where the package is installed: ``$NAL_NAM_CORE``, else ``nam-core/`` inside the running Python's prefix
    (``.venv/nam-core``), the folder holding ``node_modules/@opendaw/nam-wasm``."""
    return Path(os.environ.get("NAL_NAM_CORE") or Path(sys.prefix) / "nam-core")


def _package() -> Path:
    return nam_core_dir() / "node_modules" / "@opendaw" / "nam-wasm"


def nam_core_missing() -> str | None:
    """Why NAM's core cannot run here (with the fix), or ``None`` when it can."""
    if shutil.which("node") is None:
        return "Node.js is not installed (NAM's C++ core runs as WebAssembly under `node`); install nodejs"
    if not (_package() / "dist" / "nam.wasm").is_file():
        return (f"NAM's C++ core is not installed in {nam_core_dir()}; run `npm install --prefix {nam_core_dir()} "
                f"{NAM_CORE_PACKAGE}` (in a clone of the course: `make nam-core`)")
    return None


def run_nam_core(nam: dict[str, Any] | str | Path, x: np.ndarray, *, block_size: int = 64,
                 sample_rate: int = 48_000) -> tuple[np.ndarray, dict[str, Any]]:
    """Play ``x`` ``(samples,)`` through a ``.nam`` file (content or path) in NAM's C++ core, ``block_size``
    samples at a time after the core's own prewarm. Returns the output ``(samples,)`` float32 and what the core
    read (``{"loudness": dB or None}``).

    Raises :class:`NamCoreMissingError` when the core is not installed, :class:`NamCoreRefusedError` when it will
    not load the file."""
    missing = nam_core_missing()
    if missing:
        raise NamCoreMissingError(missing)
    if block_size < 1:
        raise ExportError(f"block_size must be at least 1 sample, got {block_size}")
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp, "in.f32"), Path(tmp, "out.f32")
        if isinstance(nam, (str, Path)):
            read_json(nam, ".nam")  # a missing or non-JSON file: ExportError naming it, before node runs
            model = Path(nam)
        else:
            model = Path(tmp, "model.nam")
            model.write_text(json.dumps(nam))
        np.asarray(x, dtype="<f4").tofile(inp)
        done = subprocess.run(["node", str(_RUNNER), str(_package()), str(model), str(inp), str(out), str(block_size),
                               str(sample_rate)], capture_output=True, text=True, check=False)
        if done.returncode == 3:
            name = nam if isinstance(nam, (str, Path)) else "the file"
            raise NamCoreRefusedError(f"NAM's C++ core refused {name}: its config or weight count is not one the core "
                                      "builds (compare the file with helpers.export.nam's layout)")
        if done.returncode != 0:
            raise ToolError(f"NAM's core failed (node exit status {done.returncode}): {done.stderr.strip()[-500:]}")
        return np.fromfile(out, dtype="<f4"), json.loads(done.stdout.strip().splitlines()[-1])


def fast_tanh(x: torch.Tensor) -> torch.Tensor:
    """NAM's fast tanh (``activations.h``), the rational approximation its plugin runs instead of ``tanh``."""
    ax, x2 = x.abs(), x * x
    return (x * (2.45550750702956 + 2.45550750702956 * ax + (0.893229853513558 + 0.821226666969744 * ax) * x2)
            / (2.44506634652299 + (2.44506634652299 + x2) * (x + 0.814642734961073 * x * ax).abs()))


@contextlib.contextmanager
def with_fast_tanh(model: nn.Module) -> Iterator[nn.Module]:
    """Run ``model``'s layers whose ``activation`` is ``torch.tanh`` with :func:`fast_tanh` (as NAM's core does);
    restored on exit."""
    swapped: list[Any] = [m for m in model.modules() if getattr(m, "activation", None) is torch.tanh]
    for m in swapped:
        m.activation = fast_tanh  # a plain attribute of the layer (not a submodule)
    try:
        yield model
    finally:
        for m in swapped:
            m.activation = torch.tanh


def core_parity(path: str | Path, model: Any, x: np.ndarray, *, tolerance: float = 1e-5,
                block_size: int = 64) -> dict[str, Any]:
    """Play the ``.nam`` at ``path`` in NAM's C++ core and compare with ``model`` (a ``CausalModel`` with the file's
    level gains already folded in) run with NAM's fast tanh on ``x`` ``(samples,)``.

    Returns ``{"reader", "max_abs_diff", "max_abs_diff_exact_tanh", "ok"}`` (``ok``: the core's output within
    ``tolerance`` of the model's), or ``{"skipped": why}`` when the core is not installed here."""
    missing = nam_core_missing()
    if missing:
        return {"skipped": missing}
    xs = np.asarray(x, dtype=np.float32)
    got, _ = run_nam_core(path, xs, block_size=block_size)
    with torch.no_grad():
        exact = model.process(torch.from_numpy(xs)).numpy()
        with with_fast_tanh(model):
            expected = model.process(torch.from_numpy(xs)).numpy()
    diff = float(np.max(np.abs(got - expected)))
    return {"reader": f"NAM's C++ core ({NAM_CORE_PACKAGE}, fast tanh, blocks of {block_size})", "max_abs_diff": diff,
            "max_abs_diff_exact_tanh": float(np.max(np.abs(got - exact))), "ok": diff <= tolerance}
