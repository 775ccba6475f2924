"""Amp and pedal models: every family is causal and exposes its receptive field (samples).

``build_model(family, preset)`` makes one; ``model_from_config`` rebuilds one from a checkpoint's record.
"""

from __future__ import annotations

from typing import Any

from helpers.errors import ConfigError
from helpers.models.base import CausalModel
from helpers.models.gated_wavenet import PRESETS as GATED_PRESETS
from helpers.models.gated_wavenet import GatedWaveNet
from helpers.models.nam_wavenet import PRESETS as NAM_PRESETS
from helpers.models.nam_wavenet import NAMWaveNet
from helpers.models.tcn import PRESETS as TCN_PRESETS
from helpers.models.tcn import SequentialTCN

FAMILIES: dict[str, type[CausalModel]] = {"nam": NAMWaveNet, "gated": GatedWaveNet, "tcn": SequentialTCN}
PRESETS: dict[str, list[str]] = {"nam": list(NAM_PRESETS), "gated": list(GATED_PRESETS), "tcn": list(TCN_PRESETS)}


def build_model(family: str = "nam", preset: str | None = None, **overrides: Any) -> CausalModel:
    """A fresh model of ``family`` (``nam``, ``gated``, ``tcn``) from a named ``preset`` and/or keyword sizes."""
    if family not in FAMILIES:
        raise ConfigError(f"unknown model family {family!r}; choose one of {sorted(FAMILIES)}")
    if family == "nam":
        if overrides.get("layers") is None and (preset or "standard") not in NAM_PRESETS:
            raise ConfigError(f"unknown NAM preset {preset!r}; choose one of {sorted(NAM_PRESETS)}")
        return NAMWaveNet(preset or "standard", **overrides)
    presets = GATED_PRESETS if family == "gated" else TCN_PRESETS
    if preset is not None and preset not in presets:
        raise ConfigError(f"unknown {family} preset {preset!r}; choose one of {sorted(presets)}")
    kwargs = {**(presets[preset] if preset else {}), **overrides}
    return FAMILIES[family](**kwargs)


def model_from_config(family: str, config: dict[str, Any]) -> CausalModel:
    """Rebuild a model from ``(model.family, model.config())``."""
    if family not in FAMILIES:
        raise ConfigError(f"unknown model family {family!r}; choose one of {sorted(FAMILIES)} (a checkpoint "
                          "from a newer version of the course?)")
    return FAMILIES[family](**config)


__all__ = ["FAMILIES", "PRESETS", "CausalModel", "GatedWaveNet", "NAMWaveNet", "SequentialTCN", "build_model",
           "model_from_config"]
