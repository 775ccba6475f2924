"""Where the course reads and writes files.

The defaults are the repository's ``data/``, ``checkpoints/`` and ``outputs/`` folders; the
environment variables ``NAL_DATA``, ``NAL_CHECKPOINTS`` and ``NAL_OUTPUTS`` move them (the test
suite points them at a temporary folder so a test run never touches your results).
"""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The repository root: ``NAL_ROOT`` if set, else the folder holding this package."""
    env = os.environ.get("NAL_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").exists() or (here / "notebooks").exists():
        return here
    return Path.cwd()


def _folder(env_name: str, default: str) -> Path:
    value = os.environ.get(env_name)
    path = Path(value) if value else repo_root() / default
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir(*parts: str) -> Path:
    """``data/`` (or ``$NAL_DATA``) joined with ``parts``; the base folder is created."""
    return _folder("NAL_DATA", "data").joinpath(*parts)


def checkpoints_dir(*parts: str) -> Path:
    """``checkpoints/`` (or ``$NAL_CHECKPOINTS``) joined with ``parts``."""
    return _folder("NAL_CHECKPOINTS", "checkpoints").joinpath(*parts)


def outputs_dir(*parts: str) -> Path:
    """``outputs/`` (or ``$NAL_OUTPUTS``) joined with ``parts``."""
    return _folder("NAL_OUTPUTS", "outputs").joinpath(*parts)


def notebooks_dir() -> Path:
    """The folder holding the course notebooks."""
    return repo_root() / "notebooks"


def output_file(*parts: str) -> Path:
    """A file path under ``outputs/`` whose folder exists, e.g. ``output_file("02_train_wavenet", "curve.png")``."""
    path = outputs_dir(*parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
