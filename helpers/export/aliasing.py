"""Aliasing-to-signal ratio (ASR) from deterministic sine probes (after arXiv 2505.04082).

A non-linear model turns a sine at ``f`` into harmonics ``k·f``; those above Nyquist fold back to
frequencies that are *not* multiples of ``f`` (aliases). With a sine of an integer number of cycles
in an analysis window of ``window_s`` seconds, and the model's output taken after its receptive field
has filled, the output is exactly periodic in the window: every harmonic and every alias falls on an
FFT bin, with no leakage and no window function. The ASR is

    ASR = 10 · log10( energy at non-harmonic bins / energy at harmonic bins k·f, k ≥ 1 )   (dB; DC excluded)

Probes sweep several frequencies up to 8 kHz and several levels; the report gates on the worst one.
Frequencies must be multiples of ``1 / window_s`` (10 Hz by default) and not divide the sample rate
into an integer number of samples per period, or the aliases would land on harmonics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from helpers.errors import ConfigError, DataError
from helpers.models.base import CausalModel

#: Probe frequencies (Hz, multiples of 10) and peak levels (dBFS).
PROBE_FREQUENCIES: tuple[float, ...] = (110.0, 1010.0, 2630.0, 4430.0, 7950.0)
PROBE_LEVELS_DB: tuple[float, ...] = (-24.0, -12.0, -6.0)
FLOOR_DB = -200.0  #: reported instead of -inf when a probe has no alias energy at all


@dataclass
class ProbeResult:
    frequency_hz: float
    level_dbfs: float
    asr_db: float
    harmonic_energy: float
    alias_energy: float


def sine_probe(frequency_hz: float, level_dbfs: float, sample_rate: int, samples: int) -> np.ndarray:
    """``samples`` of a sine at ``frequency_hz`` with peak ``level_dbfs`` (float32, starts at phase 0)."""
    t = np.arange(samples) / sample_rate
    return (10 ** (level_dbfs / 20) * np.sin(2 * np.pi * frequency_hz * t)).astype(np.float32)


def asr_of_window(y: np.ndarray, frequency_hz: float, sample_rate: int) -> tuple[float, float, float]:
    """``(asr_db, harmonic_energy, alias_energy)`` of one exactly periodic output window ``y (samples,)``."""
    n = len(y)
    spec = np.abs(np.fft.rfft(np.asarray(y, dtype=np.float64))) ** 2
    step = frequency_hz * n / sample_rate
    if abs(step - round(step)) > 1e-9:
        raise ConfigError(f"{frequency_hz} Hz does not complete whole cycles in {n} samples; "
                          f"use a multiple of {sample_rate / n:g} Hz")
    step = round(step)
    harmonic = np.zeros(len(spec), dtype=bool)
    harmonic[step::step] = True
    harmonic_energy = float(spec[harmonic].sum())
    alias_energy = float(spec[1:][~harmonic[1:]].sum())  # bin 0 (DC) is neither
    if harmonic_energy <= 0:
        raise DataError(f"the output has no energy at {frequency_hz} Hz or its harmonics (silent model?); "
                        "check that the model was trained and its output gain is not zero")
    asr = 10 * np.log10(alias_energy / harmonic_energy) if alias_energy > 0 else FLOOR_DB
    return max(float(asr), FLOOR_DB), harmonic_energy, alias_energy


@torch.no_grad()
def measure_aliasing(model: CausalModel | Callable[[np.ndarray], np.ndarray], receptive_field: int,
                     sample_rate: int = 48_000, frequencies: Sequence[float] = PROBE_FREQUENCIES,
                     levels_db: Sequence[float] = PROBE_LEVELS_DB, window_s: float = 0.1) -> list[ProbeResult]:
    """ASR for every (frequency, level) probe. ``model``: a CausalModel (batched ``process``) or any
    function mapping a ``(samples,)`` signal to ``(samples,)`` output (an exported runtime)."""
    n = round(window_s * sample_rate)
    if max(frequencies) >= sample_rate / 2:
        raise ConfigError(f"probe frequencies must stay below Nyquist ({sample_rate / 2} Hz), got {max(frequencies)} Hz; "
                          "drop the higher ones or raise sample_rate")
    total = receptive_field - 1 + n
    probes = [(f, lv) for f in frequencies for lv in levels_db]
    x = np.stack([sine_probe(f, lv, sample_rate, total) for f, lv in probes])
    if isinstance(model, CausalModel):
        model.eval()
        y = model.process(torch.from_numpy(x)).cpu().numpy()
    else:
        y = np.stack([np.asarray(model(row)) for row in x])
    out = []
    for (f, lv), row in zip(probes, y):
        asr, h, a = asr_of_window(row[-n:], f, sample_rate)
        out.append(ProbeResult(float(f), float(lv), asr, h, a))
    return out
