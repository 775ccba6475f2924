"""The level normalisation applied to a capture for training, recorded so export can undo it.

Policy (default ``"output_peak"``): the input keeps its real level (the gear responded to that
level, and the trained model must too), the output is scaled so its peak sits at
``target_dbfs``. Training sees ``x * g_in`` → ``y * g_out``; a plugin gets real ``x`` and must
produce real ``y``, so export computes ``model(x * g_in) / g_out`` (:func:`export_gains`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from helpers.audio import db_to_gain, gain_to_db, peak
from helpers.errors import ConfigError

POLICIES = ("none", "output_peak")


@dataclass
class Normalization:
    """Gains (dB) applied to the input and the output for training."""

    policy: str = "output_peak"
    target_dbfs: float = -1.0
    input_gain_db: float = 0.0
    output_gain_db: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Normalization:
        return cls(**{k: d[k] for k in ("policy", "target_dbfs", "input_gain_db", "output_gain_db") if k in d})


def choose_normalization(y: np.ndarray, policy: str = "output_peak", target_dbfs: float = -1.0) -> Normalization:
    """The gains the policy gives for the recorded output ``y`` (the input is never rescaled)."""
    if policy not in POLICIES:
        raise ConfigError(f"normalisation policy must be one of {POLICIES}, not {policy!r}")
    if policy == "none" or peak(y) == 0:
        return Normalization("none", target_dbfs, 0.0, 0.0)
    return Normalization(policy, target_dbfs, 0.0, round(target_dbfs - gain_to_db(peak(y)), 6))


def apply_normalization(x: np.ndarray, y: np.ndarray, norm: Normalization) -> tuple[np.ndarray, np.ndarray]:
    """``(x * g_in, y * g_out)`` as float32."""
    return ((x * db_to_gain(norm.input_gain_db)).astype(np.float32),
            (y * db_to_gain(norm.output_gain_db)).astype(np.float32))


def undo_output(y_model: np.ndarray, norm: Normalization) -> np.ndarray:
    """Bring a model's output back to the gear's real level: ``y_model / g_out``."""
    return (np.asarray(y_model) * db_to_gain(-norm.output_gain_db)).astype(np.float32)


def export_gains(norm: Normalization) -> tuple[float, float]:
    """Linear ``(input_gain, output_gain)`` a plugin applies around the model: ``out = g_o * model(g_i * x)``."""
    return db_to_gain(norm.input_gain_db), db_to_gain(-norm.output_gain_db)
