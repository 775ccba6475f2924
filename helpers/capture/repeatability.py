"""Repeatability check: ESR between the two recorded takes of the validation segment.

The reamp signal plays the same validation take at the start and at the end. A stable device
recorded cleanly gives (almost) the same output both times; NAM treats an ESR above 0.01
between the two takes as a capture problem (noise, hum, a time-varying effect such as a
modulation or a sagging power supply, or a changed knob/level mid-recording).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from helpers.errors import ConfigError, DataError

#: ESR between the two takes above which the capture is flagged (NAM's threshold).
ESR_PROBLEM = 0.01
#: ESR below which the takes count as practically identical.
ESR_EXCELLENT = 1e-4


def esr(prediction: np.ndarray, target: np.ndarray) -> float:
    """Error-to-signal ratio Σ(target − prediction)² / Σ target² (0 = identical; 1 = as large as the signal)."""
    p = np.asarray(prediction, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    if p.shape != t.shape:
        raise DataError(f"shapes differ: prediction {p.shape} vs target {t.shape}; compare equally long signals")
    energy = float(np.sum(t**2))
    if energy == 0.0:
        raise DataError("the target is silent: ESR is undefined; check that the right recording was passed")
    return float(np.sum((t - p) ** 2) / energy)


@dataclass
class RepeatabilityReport:
    """ESR of take 2 against take 1, and the verdict a user needs."""

    esr: float
    verdict: str  # "excellent", "ok" or "problem"
    message: str
    samples: int

    @property
    def ok(self) -> bool:
        return self.verdict != "problem"

    def as_dict(self) -> dict:
        return {"esr": float(self.esr), "verdict": self.verdict, "message": self.message, "samples": self.samples}


def check_repeatability(y: np.ndarray, first: tuple[int, int], second: tuple[int, int]) -> RepeatabilityReport:
    """Compare the aligned output ``y`` in ``first`` and ``second`` (half-open sample ranges of equal length)."""
    (a0, a1), (b0, b1) = first, second
    if a1 - a0 != b1 - b0:
        raise ConfigError(f"the two takes differ in length: {a1 - a0} vs {b1 - b0} samples; give equally long ranges")
    if max(a1, b1) > len(y):
        raise ConfigError(f"take ranges end at {max(a1, b1)} but the output has only {len(y)} samples; "
                          "check the ranges against the recording")
    take1, take2 = y[a0:a1], y[b0:b1]
    value = esr(take2, take1)
    if value <= ESR_EXCELLENT:
        verdict, msg = "excellent", f"ESR {value:.2e}: the two takes are practically identical"
    elif value <= ESR_PROBLEM:
        verdict, msg = "ok", f"ESR {value:.4f} ≤ {ESR_PROBLEM}: the recording is repeatable enough to train on"
    else:
        verdict = "problem"
        msg = (f"ESR {value:.4f} > {ESR_PROBLEM}: the two recordings of the validation take differ. Look for noise or "
               "hum, a time-based effect (chorus, delay, tremolo) or a knob/level moved during the recording, then "
               "record again")
    return RepeatabilityReport(value, verdict, msg, a1 - a0)
