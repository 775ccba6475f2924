"""Latency estimation and alignment: how many samples the recorded output lags the played input.

Latency is defined as the delay of the *onset* of the output's response to an isolated transient
in the input (an alignment blip): for a causal device (every amp, pedal and virtual device here)
that is exactly the round-trip delay of the recording chain, and a cabinet's own smear or group
delay is not counted.

The estimator works in two stages:

1. **Candidates** — cross-correlation of the pre-emphasised (first-difference) input and output over
   the alignment region, lags in ``[-max_lag, max_lag]``; the ``top_k`` strongest peaks are kept, and
   the *peak ratio* (best peak / best peak more than 2 ms away) measures how unambiguous it is.
2. **Per-window onsets** — for every isolated onset in the input (the blips), the first output sample
   that rises clearly above the noise floor near ``onset + candidate`` gives one lag per window.
   The *agreement* is the largest share of windows within ±1 sample of one another.

The estimate is *confident* only when at least three windows agree (agreement ≥ 0.75) and the peak
ratio is ≥ 1.2; otherwise it says "low confidence" and :func:`resolve_latency` refuses to guess
unless given a manual value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.ndimage as ndi
import scipy.signal as sps

from helpers.errors import ConfigError, DataError

#: Minimum agreement (share of windows within ±1 sample of the median) for a confident estimate.
MIN_AGREEMENT = 0.75
#: Minimum number of agreeing windows for a confident estimate.
MIN_WINDOWS = 3
#: Minimum cross-correlation peak ratio for a confident estimate.
MIN_PEAK_RATIO = 1.2


class LowConfidenceError(DataError):
    """The latency cannot be estimated reliably; pass a manual value."""


@dataclass
class LatencyEstimate:
    """Result of :func:`estimate_latency` (all lags in samples; positive = output later than input)."""

    lag: int
    confident: bool
    peak_ratio: float
    agreement: float
    candidates: list[tuple[int, float]]  # (lag, correlation relative to the best peak), strongest first
    per_window: list[int | None]  # onset lag found in each window for the chosen candidate
    onsets: list[int]  # input onset positions used as windows (samples)
    sample_rate: int
    reason: str = ""
    corr_lags: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)
    corr: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    @property
    def confidence(self) -> str:
        """``"high"`` or ``"low"``."""
        return "high" if self.confident else "low"

    @property
    def milliseconds(self) -> float:
        return 1000.0 * self.lag / self.sample_rate

    def summary(self) -> str:
        """One readable line (what a user needs to decide)."""
        cands = ", ".join(f"{lag} ({c:.2f})" for lag, c in self.candidates)
        head = (f"latency {self.lag} samples ({self.milliseconds:.2f} ms)" if self.confident
                else f"LOW CONFIDENCE (best guess {self.lag} samples)")
        return (f"{head}; peak ratio {self.peak_ratio:.2f}, {self.agreement:.0%} of {len(self.onsets)} windows agree; "
                f"candidates: {cands}" + (f"; {self.reason}" if self.reason else ""))

    def as_dict(self) -> dict:
        """JSON-ready summary (for the manifest)."""
        return {
            "lag": int(self.lag), "confidence": self.confidence, "peak_ratio": round(float(self.peak_ratio), 4),
            "agreement": round(float(self.agreement), 4), "candidates": [[int(a), round(float(b), 4)] for a, b in self.candidates],
            "per_window": [None if v is None else int(v) for v in self.per_window], "reason": self.reason,
        }


def detect_onsets(x: np.ndarray, start: int = 0, end: int | None = None, *, sample_rate: int = 48_000,
                  quiet_s: float = 0.03, max_count: int = 16) -> list[int]:
    """Isolated onsets of ``x`` in ``[start, end)``: the first sample above 20 % of the region's peak
    after at least ``quiet_s`` seconds below 1 % of it (blips, plucks after silence). Sample indices."""
    end = len(x) if end is None else min(end, len(x))
    seg = np.abs(np.asarray(x[start:end], dtype=np.float64))
    if seg.size == 0 or seg.max() == 0:
        return []
    top = seg.max()
    quiet = max(1, int(quiet_s * sample_rate))
    # Loudest sample in the `quiet` samples strictly before each index.
    before = ndi.maximum_filter1d(seg, size=quiet, origin=(quiet - 1) // 2, mode="constant", cval=0.0)
    before = np.concatenate([[0.0], before[:-1]])
    hits = np.flatnonzero((seg >= 0.2 * top) & (before < 0.01 * top))
    onsets: list[int] = []
    for h in hits:
        if not onsets or h - (onsets[-1] - start) > quiet:
            onsets.append(int(h) + start)
        if len(onsets) >= max_count:
            break
    return onsets


def _padded(y: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """``y[lo:hi]`` with zeros where the range leaves the array."""
    out = np.zeros(hi - lo, dtype=np.float64)
    a, b = max(lo, 0), min(hi, len(y))
    if b > a:
        out[a - lo:b - lo] = y[a:b]
    return out


def _peaks(values: np.ndarray, count: int, min_sep: int) -> list[int]:
    """Indices of the ``count`` largest values at least ``min_sep`` apart."""
    order = np.argsort(values)[::-1]
    chosen: list[int] = []
    for i in order:
        if all(abs(int(i) - c) >= min_sep for c in chosen):
            chosen.append(int(i))
            if len(chosen) == count:
                break
    return chosen


def _onset_lag(y: np.ndarray, onset: int, lag: int, reach: int, ref: int) -> int | None:
    """Lag of the first clear output sample near ``onset + lag`` (None when the response is not clear)."""
    lo = onset + lag - reach
    window = np.abs(_padded(y, lo, onset + lag + reach))
    noise = np.abs(_padded(y, lo - ref, lo))
    noise_max = float(noise.max()) if noise.size else 0.0
    w_peak = float(window.max())
    if w_peak <= 4.0 * noise_max or w_peak == 0.0:
        return None
    thr = max(3.0 * noise_max, 0.03 * w_peak)
    idx = int(np.argmax(window > thr))
    return lo + idx - onset


def estimate_latency(
    x: np.ndarray,
    y: np.ndarray,
    sample_rate: int,
    *,
    region: tuple[int, int] | None = None,
    onsets: list[int] | None = None,
    max_lag: int | None = None,
    top_k: int = 3,
) -> LatencyEstimate:
    """Estimate how many samples ``y`` (recorded output) lags ``x`` (played input); both shape ``(n,)``.

    Args:
        region: input samples ``[start, end)`` holding the alignment transients (default: the first
            3 s); for the course's reamp signal pass the ``blips`` section.
        onsets: input onset positions to time (default: :func:`detect_onsets` inside ``region``).
        max_lag: largest |lag| searched, samples (default 0.5 s).
        top_k: correlation candidates kept and checked.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    max_lag = int(0.5 * sample_rate) if max_lag is None else int(max_lag)
    r0, r1 = region if region is not None else (0, min(len(x), 3 * sample_rate))
    r0, r1 = max(0, int(r0)), min(len(x), int(r1))
    if r1 - r0 < 16:
        raise ConfigError(f"alignment region [{r0}, {r1}) is too short; pass a region of at least 16 samples "
                          "that holds the alignment transients (e.g. the 'blips' section)")
    if onsets is None:
        onsets = detect_onsets(x, r0, r1, sample_rate=sample_rate)
    min_sep = max(8, int(0.002 * sample_rate))

    # Stage 1: cross-correlation of first differences (sharpens transients, removes DC and hum).
    xs = np.diff(x[r0:r1], prepend=x[r0 - 1] if r0 > 0 else 0.0)
    ys_lo = r0 - max_lag
    ys = np.diff(_padded(y, ys_lo - 1, r1 + max_lag))
    c = sps.correlate(ys, xs, mode="valid", method="fft")  # c[k] ↔ lag ys_lo + k - r0
    lags = np.arange(c.size) + ys_lo - r0
    mag = np.abs(c)
    if mag.max() == 0.0:
        return LatencyEstimate(0, False, 1.0, 0.0, [], [], list(onsets), sample_rate,
                               "the output is silent in the alignment region", lags, c)
    c = c / mag.max()  # relative strength: the best peak is ±1
    mag = np.abs(c)
    peaks = _peaks(mag, max(top_k, 2), min_sep)
    candidates = [(int(lags[i]), float(c[i])) for i in peaks[:top_k]]
    second = mag[peaks[1]] if len(peaks) > 1 else 0.0
    peak_ratio = float(mag[peaks[0]] / max(second, 1e-12))

    # Stage 2: per-window onset timing around each candidate.
    best: tuple[float, float, int, list[int | None]] | None = None
    ref = int(0.01 * sample_rate)
    for lag, corr in candidates:
        per = [_onset_lag(y, o, lag, min_sep, ref) for o in onsets]
        valid = [v for v in per if v is not None]
        if valid:
            # The lag most windows agree with (±1 sample), then the median of those windows.
            centre = max(valid, key=lambda v: (sum(abs(w - v) <= 1 for w in valid), -abs(v - lag)))
            agree = [v for v in valid if abs(v - centre) <= 1]
            agreement = len(agree) / len(onsets)
            chosen = round(float(np.median(agree)))
        else:
            agreement, chosen = 0.0, lag
        key = (agreement, abs(corr), chosen, per)
        if best is None or key[:2] > best[:2]:
            best = key
    assert best is not None
    agreement, _, lag, per = best
    n_agree = round(agreement * len(onsets))
    reasons = []
    if len(onsets) < MIN_WINDOWS:
        reasons.append(f"only {len(onsets)} isolated transients found in the input (need {MIN_WINDOWS})")
    elif n_agree < MIN_WINDOWS or agreement < MIN_AGREEMENT:
        reasons.append(f"only {n_agree} of {len(onsets)} windows agree within ±1 sample")
    if peak_ratio < MIN_PEAK_RATIO:
        reasons.append(f"the correlation peak is ambiguous (ratio {peak_ratio:.2f} < {MIN_PEAK_RATIO})")
    return LatencyEstimate(lag, not reasons, peak_ratio, agreement, candidates, per, list(onsets), sample_rate,
                           "; ".join(reasons), lags, c)


def resolve_latency(estimate: LatencyEstimate | None, manual: int | None = None) -> int:
    """The latency to apply: ``manual`` when given, else a confident estimate.

    Raises :class:`LowConfidenceError` (with the candidates) when the estimate is not confident
    and no manual value is given.
    """
    if manual is not None:
        return int(manual)
    if estimate is None:
        raise LowConfidenceError("no latency estimate and no manual value; pass manual=<samples>")
    if not estimate.confident:
        cands = ", ".join(str(lag) for lag, _ in estimate.candidates) or "none"
        raise LowConfidenceError(
            f"latency estimate has low confidence ({estimate.reason}); candidates: {cands} samples. "
            "Check that the output really is a recording of the input (blips at the start, not silent), "
            "or pass a manual value, e.g. manual_latency=<samples> measured in your DAW"
        )
    return estimate.lag


def apply_latency(y: np.ndarray, latency: int, length: int | None = None) -> np.ndarray:
    """Shift the recorded output back by ``latency`` samples: ``out[i] = y[i + latency]``.

    The result has ``length`` samples (default ``len(y)``); samples beyond the recording are zeros.
    """
    n = len(y) if length is None else int(length)
    return _padded(np.asarray(y), int(latency), int(latency) + n).astype(np.float32)
