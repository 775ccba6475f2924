"""The machine the course runs on: seeds, compute device, optional system tools, versions."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import random
import shutil
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from helpers.errors import ToolError

#: Optional command-line tools the course uses when present (Debian: ``make system-deps``).
OPTIONAL_TOOLS: dict[str, str] = {
    "abc2midi": "abcmidi",
    "timidity": "timidity",
    "fluidsynth": "fluidsynth",
}

#: Setting this environment variable to 1 hides every optional tool, forcing the Python fallbacks.
NO_TOOLS_ENV = "NAL_NO_SYSTEM_TOOLS"


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA); return a fresh NumPy Generator."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002  (libraries that still use the global RNG)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # torch is optional for the non-neural parts
        pass
    return np.random.default_rng(seed)


def pick_device(prefer: str | None = None) -> str:
    """Return ``"cuda"``, ``"mps"`` or ``"cpu"``: ``prefer`` if given, else the best available.

    ``NAL_DEVICE`` in the environment overrides the automatic choice.
    """
    import torch

    choice = prefer or os.environ.get("NAL_DEVICE")
    if choice:
        if choice.startswith("cuda") and not torch.cuda.is_available():
            raise ToolError(f"device {choice!r} asked for, but CUDA is not available on this machine; "
                            "use device 'cpu' (or unset NAL_DEVICE) or install a CUDA build of torch")
        return choice
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def find_tool(name: str) -> str | None:
    """Path of an optional system tool, or ``None`` when absent or hidden by ``NAL_NO_SYSTEM_TOOLS=1``."""
    if os.environ.get(NO_TOOLS_ENV, "0") not in ("", "0", "false", "False"):
        return None
    return shutil.which(name)


def tools_report() -> dict[str, str | None]:
    """Map each optional tool to its path (``None`` when the Python fallback will be used)."""
    return {tool: find_tool(tool) for tool in OPTIONAL_TOOLS}


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules


def package_version(name: str) -> str | None:
    """Installed version of distribution ``name``, or ``None``."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


@dataclass
class EnvironmentReport:
    """What the course found on this machine (shown by notebook 00)."""

    python: str
    platform: str
    cpu_count: int
    device: str
    gpu: str | None
    packages: dict[str, str | None] = field(default_factory=dict)
    tools: dict[str, str | None] = field(default_factory=dict)
    colab: bool = False
    comet_mode: str = "offline"

    def problems(self) -> list[str]:
        """Required packages that are missing (an empty list means ready)."""
        required = ("torch", "numpy", "soundfile", "librosa", "pedalboard", "comet_ml", "matplotlib")
        return [f"missing package: {p}" for p in required if not self.packages.get(p)]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def environment_report() -> EnvironmentReport:
    """Collect versions, compute device and optional tools."""
    from helpers.tracking import tracking_mode

    packages = {
        p: package_version(p)
        for p in (
            "torch", "numpy", "scipy", "soundfile", "librosa", "pedalboard", "comet_ml",
            "matplotlib", "ipywidgets", "papermill", "pretty_midi", "tinysoundfont",
            "mitdeeplearning", "neural-amp-modeler",
        )
    }
    device, gpu = "cpu", None
    try:
        import torch

        device = pick_device()
        if device.startswith("cuda"):
            gpu = torch.cuda.get_device_name(0)
        elif device == "mps":
            gpu = "Apple GPU (MPS)"
    except ImportError:
        pass
    return EnvironmentReport(
        python=sys.version.split()[0],
        platform=platform.platform(),
        cpu_count=os.cpu_count() or 1,
        device=device,
        gpu=gpu,
        packages=packages,
        tools=tools_report(),
        colab=in_colab(),
        comet_mode=tracking_mode(),
    )
