"""The course's default path through the amp notebooks: demo capture → trained checkpoint.

Later notebooks call :func:`ensure_trained_model` so each one also runs on its own: it reuses the
checkpoint notebook 02 wrote, or trains a small one when it is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers.amp.data import AmpData
from helpers.amp.train import TrainConfig, train
from helpers.capture.demo import ensure_demo_capture
from helpers.paths import checkpoints_dir

#: Quick mode: seconds of CPU training, enough to see the loss fall and exercise every step.
QUICK_TRAINING: dict[str, Any] = {"epochs": 4, "batch_size": 4, "crop_length": 8192, "steps_per_epoch": 12}
#: Full mode: NAM-like settings with a wall-clock budget (10 minutes).
FULL_TRAINING: dict[str, Any] = {"epochs": 1000, "budget_s": 600.0, "batch_size": 8, "crop_length": 16384}


def run_name(device: str, family: str, preset: str | None, quick: bool) -> str:
    """Checkpoint folder name, e.g. ``overdrive_nam_feather_quick``."""
    return f"{device}_{family}_{preset or 'custom'}" + ("_quick" if quick else "")


def training_config(device: str = "overdrive", family: str = "nam", preset: str | None = "feather", *,
                    quick: bool = True, seed: int = 0, **overrides: Any) -> TrainConfig:
    """The course's training settings for a demo device (quick or full), with ``overrides`` applied."""
    base = QUICK_TRAINING if quick else FULL_TRAINING
    return TrainConfig(model=family, preset=preset, seed=seed, run_name=run_name(device, family, preset, quick),
                       **{**base, **overrides})


def ensure_trained_model(device: str = "overdrive", family: str = "nam", preset: str | None = "feather", *,
                         quick: bool = True, seed: int = 0, retrain: bool = False,
                         **overrides: Any) -> Path:
    """Path of ``best.pt`` for the demo ``device``; trains (or finishes training) only when needed."""
    cfg = training_config(device, family, preset, quick=quick, seed=seed, **overrides)
    best = checkpoints_dir(cfg.run_name) / "best.pt"
    if best.exists() and not retrain:
        return best
    data = AmpData.from_manifest(ensure_demo_capture(device, quick=quick, seed=seed))
    return train(data, cfg, resume=not retrain).best_path
