"""Checks for notebook 00 (start here): the course's habit of saying which unit a number is in.

* :func:`check_rms_dbfs` — the RMS level of a float signal in dBFS (reference: :func:`helpers.audio.rms_dbfs`);
* :func:`check_seconds_to_samples` — a duration in seconds as a whole number of samples, rounded to the nearest.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from helpers.audio import rms_dbfs
from helpers.checks.core import Case, CheckResult, Mistake, run_check, same_db


def _signals() -> list[Case]:
    rng = np.random.default_rng(0)
    sr = 48_000
    t = np.arange(sr) / sr
    sine = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return [
        Case("a 440 Hz sine of amplitude 0.5 (1 s at 48 kHz, float32)", (sine,)),
        Case("white noise at 0.1 RMS (float32)", ((0.1 * rng.standard_normal(4800)).astype(np.float32),)),
        Case("a decaying 220 Hz tone (float64)", (0.8 * np.sin(2 * np.pi * 220 * t[:12_000]) * np.exp(-3 * t[:12_000]),)),
        Case("a full-scale square wave (±1: 0 dBFS)", (np.sign(np.sin(2 * np.pi * 100 * t[:4800] + 0.1)).astype(np.float32),)),
        Case("a single sample (length 1)", (np.array([-0.25], dtype=np.float32),)),
        Case("silence (all zeros: -inf dBFS)", (np.zeros(1000, dtype=np.float32),)),
    ]


def _db(level: float) -> float:
    return 20.0 * math.log10(level) if level > 0 else float("-inf")


def _mean_square(x: np.ndarray) -> float:
    return float(np.mean(np.square(np.asarray(x, dtype=np.float64))))


RMS_MISTAKES = [
    Mistake("you took 10·log10 of the RMS. The RMS is an amplitude, so use 20·log10(rms). (10·log10 is "
            "right only for a power, such as the mean square.)",
            lambda x: 0.5 * _db(math.sqrt(_mean_square(x)))),
    Mistake("you took 20·log10 of the mean square and skipped the square root. Use 20·log10(sqrt(mean(x²))), "
            "or 10·log10(mean(x²)).",
            lambda x: _db(_mean_square(x))),
    Mistake("that is the peak level (max |x|). RMS means root-mean-square: sqrt(mean(x**2)).",
            lambda x: _db(float(np.max(np.abs(x))))),
    Mistake("you averaged |x|, which is not the RMS. Square, average, then take the root: sqrt(mean(x**2)).",
            lambda x: _db(float(np.mean(np.abs(np.asarray(x, dtype=np.float64)))))),
    Mistake("you summed the squares instead of averaging them. Divide by the number of samples: mean, not sum.",
            lambda x: _db(math.sqrt(float(np.sum(np.square(np.asarray(x, dtype=np.float64))))))),
    Mistake("np.log is the natural logarithm. Decibels use log10: 20·np.log10(rms).",
            lambda x: 20.0 * math.log(math.sqrt(_mean_square(x))) if _mean_square(x) > 0 else float("-inf")),
    Mistake("you returned the linear RMS. Return decibels: 20·log10(rms).",
            lambda x: math.sqrt(_mean_square(x))),
    Mistake("you measured against 32768 (16-bit integers), but the signal is float and full scale is 1.0. "
            "Don't divide by 32768.",
            lambda x: _db(math.sqrt(_mean_square(x)) / 32768.0)),
]


def check_rms_dbfs(fn: Callable[[np.ndarray], float]) -> CheckResult:
    """Check ``fn(x) -> float``: the RMS level of the float signal ``x`` (shape ``(n,)``, full scale 1.0) in
    dBFS, i.e. ``20·log10(sqrt(mean(x²)))``; ``-inf`` for silence. Reference: :func:`helpers.audio.rms_dbfs`."""
    return run_check("rms_dbfs", fn, rms_dbfs, _signals(), compare=same_db, mistakes=RMS_MISTAKES)


# ------------------------------------------------------------------------------------------ seconds → samples
def seconds_to_samples_reference(seconds: float, sample_rate: int) -> int:
    """``seconds`` (s) at ``sample_rate`` (Hz) as a whole number of samples, rounded to the nearest (an int).
    (There is no tie in the check's cases, so round-half-even and round-half-up both pass.)"""
    return round(seconds * sample_rate)


def _same_int(got: Any, expected: Any) -> str | None:
    """The same whole number, and an ``int`` (or NumPy integer) when the expected one is."""
    if isinstance(expected, (int, np.integer)) and (isinstance(got, bool) or not isinstance(got, (int, np.integer))):
        return f"returned {got!r} ({type(got).__name__}); a number of samples must be an int"
    try:
        same = float(got) == float(expected)
    except (TypeError, ValueError):
        return f"returned {got!r}, which is not a number"
    return None if same else f"got {got!r}, expected {expected!r}"


SAMPLES_CASES = [
    Case("1 s at 48 kHz", (1.0, 48_000)),
    Case("2.9 ms at 44.1 kHz (127.89 samples)", (0.0029, 44_100)),
    Case("10.1 ms at 44.1 kHz (445.41 samples)", (0.0101, 44_100)),
    Case("0.29 s at 48 kHz (0.29·48000 is 13919.999999999998 in floating point)", (0.29, 48_000)),
    Case("0 s", (0.0, 48_000)),
    Case("2.5 s at 44.1 kHz", (2.5, 44_100)),
]

SAMPLES_MISTAKES = [
    Mistake("int(...) (like np.floor or //) cuts off the fraction, so 127.89 samples becomes 127, and 0.29·48000 "
            "(which floating point stores as 13919.999…) becomes 13919. Round to the nearest sample: "
            "int(round(seconds * sample_rate)).",
            lambda s, sr: int(s * sr)),
    Mistake("np.ceil always rounds up. Round to the nearest sample: int(round(seconds * sample_rate)).",
            lambda s, sr: int(np.ceil(s * sr))),
    Mistake("you returned a float: np.round gives 13920.0, not 13920. A number of samples is an index, so wrap "
            "it in int(...).",
            lambda s, sr: float(np.round(s * sr))),
    Mistake("you divided by 1000 as if the duration were in milliseconds. `seconds` is already in seconds: "
            "samples = seconds × sample_rate.",
            lambda s, sr: round(s * sr / 1000)),
    Mistake("you divided by the sample rate. Samples = seconds × samples per second (Hz), so multiply.",
            lambda s, sr: round(s / sr)),
]


def check_seconds_to_samples(fn: Callable[[float, int], int]) -> CheckResult:
    """Check ``fn(seconds, sample_rate) -> int``: a duration in seconds as a number of samples at
    ``sample_rate`` Hz, rounded to the nearest sample and returned as an ``int``."""
    return run_check("seconds_to_samples", fn, seconds_to_samples_reference, SAMPLES_CASES, compare=_same_int,
                     mistakes=SAMPLES_MISTAKES)
