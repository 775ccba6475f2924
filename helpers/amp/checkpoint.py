"""Amp-model checkpoints (written by :mod:`helpers.training`): rebuilt with the architecture they were trained with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers.errors import CheckpointError
from helpers.models import CausalModel, model_from_config
from helpers.training import read_checkpoint

__all__ = ["CheckpointError", "check_architecture", "load_model", "validation_esr"]


def load_model(path: str | Path, expect: CausalModel | None = None) -> tuple[CausalModel, dict[str, Any]]:
    """Rebuild the checkpoint's model and load its weights; returns ``(model in eval mode, payload)``.

    The payload also carries ``sample_rate``, ``normalization`` and ``manifest`` of the capture. With
    ``expect`` (a model you built), the checkpoint must have the same family and configuration; otherwise
    :class:`CheckpointError` names both architectures instead of a wall of size mismatches. A knob, ABC or
    synth checkpoint is refused with the name of the loader it needs.
    """
    payload = read_checkpoint(path, kind="amp")
    if expect is not None:
        check_architecture(payload, expect, path)
    try:
        model = model_from_config(payload["family"], payload["config"])
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: weights do not fit the {payload.get('family')!r} architecture ({exc})") from exc
    model.eval()
    return model, payload


def check_architecture(payload: dict[str, Any], expect: CausalModel, path: str | Path = "checkpoint") -> None:
    """Raise :class:`CheckpointError` unless ``payload`` holds the same family and configuration as ``expect``."""
    if expect.family != payload["family"] or expect.config() != payload["config"]:
        raise CheckpointError(
            f"{path}: the checkpoint holds a {payload['family']!r} model {payload['config']}, "
            f"not the {expect.family!r} model {expect.config()} you asked for; "
            "build the model from the checkpoint (load_model(path)) or train a new run"
        )


def validation_esr(payload: dict[str, Any]) -> float | None:
    """The best validation ESR a checkpoint's run reached (``None`` before its first validation)."""
    best = payload.get("trainer", {}).get("best_score")
    return None if best is None or best == float("inf") else float(best)
