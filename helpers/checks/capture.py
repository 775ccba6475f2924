"""Checks for notebook 01 (capture a dataset).

* :func:`check_estimate_latency` — the lag (samples) of the cross-correlation peak between the dry input and the
  recorded output, searched over ``[-max_lag, max_lag]``;
* :func:`check_split_by_role` — train / validation / test sample ranges from a reamp layout's sections, by role
  (reference: :func:`helpers.capture.splits.splits_from_sections`);
* :func:`check_headroom_db` — how far (dB) a recording's peak sits below full scale once its DC offset is removed
  (built on :func:`helpers.audio.peak_dbfs`).

The library's own latency estimator (:func:`helpers.capture.latency.estimate_latency`) goes further than the
exercise: it correlates first differences and then times the *onset* of the response to each blip. The plain
correlation peak it starts from has no public function, so :func:`correlation_lag` below is the reference.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.signal as sps

from helpers.audio import peak_dbfs, rms_dbfs
from helpers.capture.reamp import Section
from helpers.capture.splits import SPLIT_NAMES, splits_from_sections
from helpers.checks.core import Case, CheckResult, Mistake, equal, run_check, same_db


# ------------------------------------------------------------------------------------------ latency
def correlation_lag(dry: np.ndarray, wet: np.ndarray, max_lag: int) -> int:
    """The lag (samples) in ``[-max_lag, max_lag]`` where ``|Σₙ wet[n]·dry[n − lag]|`` is largest (samples
    outside the signals count as zeros): positive when ``wet`` arrives later than ``dry``. The absolute value makes
    a device that inverts polarity (a negative peak) give its true delay."""
    dry64, wet64 = np.asarray(dry, dtype=np.float64), np.asarray(wet, dtype=np.float64)
    r = sps.correlate(wet64, dry64, mode="full")
    lags = sps.correlation_lags(len(wet64), len(dry64), mode="full")
    keep = np.abs(lags) <= int(max_lag)
    return int(lags[keep][np.argmax(np.abs(r[keep]))])


def _delayed(x: np.ndarray, lag: int) -> np.ndarray:
    """``x`` delayed by ``lag`` samples (early when negative), same length, zeros shifted in."""
    out = np.zeros_like(x)
    if lag >= 0:
        out[lag:] = x[: len(x) - lag]
    else:
        out[:lag] = x[-lag:]
    return out


def _latency_cases() -> list[Case]:
    rng = np.random.default_rng(0)
    n = 400
    dry = rng.standard_normal(n).astype(np.float32)
    hiss = (0.01 * rng.standard_normal(n)).astype(np.float32)
    device = -np.convolve(dry, [0.9, 0.4, 0.1])[:n].astype(np.float32)  # inverts polarity, smears 2 samples
    echoes = 0.6 * _delayed(dry, 5) + 1.0 * _delayed(dry, 40)
    one = np.array([0.5], dtype=np.float32)
    return [
        Case("noise delayed by 7 samples, gain 0.5 (max_lag 20)", (dry, 0.5 * _delayed(dry, 7) + hiss, 20)),
        Case("no delay (lag 0, max_lag 20)", (dry, 0.8 * dry + hiss, 20)),
        Case("a delay of exactly max_lag (20 samples, max_lag 20)", (dry, 0.5 * _delayed(dry, 20) + hiss, 20)),
        Case("output 3 samples EARLY (lag -3, max_lag 20)", (dry, 0.5 * _delayed(dry, -3) + hiss, 20)),
        Case("a device that inverts polarity (wet = -(0.9, 0.4, 0.1) filter of dry), 12 samples late (max_lag 20)",
             (dry, _delayed(device, 12) + hiss, 20)),
        Case("two echoes, 0.6 at lag 5 and a louder 1.0 at lag 40 (max_lag 20: 40 is out of range)",
             (dry, echoes + hiss, 20)),
        Case("an output 3 samples late searched with max_lag 0", (dry, _delayed(dry, 3) + hiss, 0)),
        Case("length-1 signals (max_lag 0)", (one, -0.5 * one, 0)),
    ]


def _full(dry: np.ndarray, wet: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.correlate(wet, dry, 'full') and its lags, as a student writes them."""
    r = np.correlate(np.asarray(wet, dtype=np.float64), np.asarray(dry, dtype=np.float64), "full")
    return r, np.arange(-(len(dry) - 1), len(wet))


def _wrong_sign(dry: np.ndarray, wet: np.ndarray, max_lag: int) -> int:
    r = np.correlate(np.asarray(dry, dtype=np.float64), np.asarray(wet, dtype=np.float64), "full")
    lags = np.arange(-(len(wet) - 1), len(dry))
    keep = np.abs(lags) <= max_lag
    return int(lags[keep][np.argmax(np.abs(r[keep]))])


def _off_by_one(dry: np.ndarray, wet: np.ndarray, max_lag: int) -> int:
    r, _ = _full(dry, wet)
    lags = np.arange(-len(dry), len(wet) - 1)  # one too far left: lag = index - len(dry)
    keep = np.abs(lags) <= max_lag
    return int(lags[keep][np.argmax(np.abs(r[keep]))])


def _index_not_lag(dry: np.ndarray, wet: np.ndarray, max_lag: int) -> int:
    r, lags = _full(dry, wet)
    keep = np.abs(lags) <= max_lag
    return int(np.argmax(np.abs(r[keep])))  # position in the searched window, never converted to a lag


def _full_index(dry: np.ndarray, wet: np.ndarray, max_lag: int) -> int:
    r, lags = _full(dry, wet)
    keep = np.abs(lags) <= max_lag
    return int(np.flatnonzero(keep)[np.argmax(np.abs(r[keep]))])  # index into the 'full' output


def _signed(dry: np.ndarray, wet: np.ndarray, max_lag: int) -> int:
    r, lags = _full(dry, wet)
    keep = np.abs(lags) <= max_lag
    return int(lags[keep][np.argmax(r[keep])])


def _unbounded(dry: np.ndarray, wet: np.ndarray, max_lag: int) -> int:
    r, lags = _full(dry, wet)
    return int(lags[np.argmax(np.abs(r))])


def _max_excluded(dry: np.ndarray, wet: np.ndarray, max_lag: int) -> int:
    r, lags = _full(dry, wet)
    keep = (lags >= -max_lag) & (lags < max_lag)
    return int(lags[keep][np.argmax(np.abs(r[keep]))])


def _positive_only(dry: np.ndarray, wet: np.ndarray, max_lag: int) -> int:
    r, lags = _full(dry, wet)
    keep = (lags >= 0) & (lags <= max_lag)
    return int(lags[keep][np.argmax(np.abs(r[keep]))])


def _circular(dry: np.ndarray, wet: np.ndarray, max_lag: int) -> int:
    n = len(dry)
    r = np.fft.ifft(np.fft.fft(wet) * np.conj(np.fft.fft(dry))).real
    k = np.arange(n)
    keep = (k <= max_lag) | (k >= n - max_lag)
    return int(k[keep][np.argmax(np.abs(r[keep]))])  # index n - 3 never mapped back to lag -3


LATENCY_MISTAKES = [
    Mistake("the sign of the lag is flipped. np.correlate(wet, dry, 'full') (wet FIRST) peaks at +lag when wet "
            "arrives late; np.correlate(dry, wet) peaks at -lag.", _wrong_sign),
    Mistake("off by one: in np.correlate(wet, dry, 'full') output index i is lag i - (len(dry) - 1), not "
            "i - len(dry). (scipy.signal.correlation_lags(len(wet), len(dry)) gives the lags.)", _off_by_one),
    Mistake("you returned a position in the searched window (lag + max_lag), not the lag. Convert the index "
            "back: lag = index - max_lag, or index a `lags` array.", _index_not_lag),
    Mistake("you returned an index into the 'full' correlation, not the lag. Subtract len(dry) - 1, or index "
            "a `lags` array.", _full_index),
    Mistake("you took the largest SIGNED correlation. A device that inverts polarity (most amps do) has a "
            "negative peak, so take np.argmax(np.abs(r)). The sign only tells you the polarity.", _signed),
    Mistake("you searched beyond max_lag: keep only the lags with |lag| <= max_lag before taking the peak (an "
            "echo or a repeated phrase further away can be louder than the true delay).", _unbounded),
    Mistake("lag = +max_lag was left out. The search includes both ends: -max_lag ... max_lag, i.e. "
            "np.arange(-max_lag, max_lag + 1) or np.abs(lags) <= max_lag.", _max_excluded),
    Mistake("only lags >= 0 were searched. A recording trimmed too late in the DAW arrives EARLY (a negative "
            "lag), so search -max_lag ... max_lag.", _positive_only),
    Mistake("a negative lag came back as n - |lag|. The FFT's circular correlation wraps around, so map indices "
            "above n // 2 to index - n (or use np.correlate / scipy.signal.correlate in 'full' mode).", _circular),
]


def check_estimate_latency(fn: Callable[[np.ndarray, np.ndarray, int], int]) -> CheckResult:
    """Check ``fn(dry, wet, max_lag) -> int``: ``dry`` and ``wet`` of shape ``(n,)``, ``0 <= max_lag < n``;
    returns the lag (samples, an integer in ``[-max_lag, max_lag]``) where the cross-correlation magnitude
    ``|Σₙ wet[n]·dry[n − lag]|`` peaks, so ``wet[n] ≈ ±g·dry[n − lag]``. Reference: :func:`correlation_lag`."""
    return run_check("estimate_latency", fn, correlation_lag, _latency_cases(), compare=equal,
                     mistakes=LATENCY_MISTAKES)


# ------------------------------------------------------------------------------------------ splits
def _canonical(splits: Any) -> dict[str, list[tuple[int, int]]]:
    """``splits`` as sorted, merged ``(start, end)`` int pairs per split name (ValueError/TypeError if malformed)."""
    if not isinstance(splits, Mapping):
        raise TypeError(f"returned {type(splits).__name__}; expected a dict like {{'train': [(start, end), ...], "
                        "'validation': [...], 'test': [...]}")
    out: dict[str, list[tuple[int, int]]] = {}
    for name, ranges in splits.items():
        merged: list[tuple[int, int]] = []
        for a, b in sorted((int(a), int(b)) for a, b in ranges):
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        out[str(name)] = merged
    return out


def _same_splits(got: Any, expected: Any) -> str | None:
    """The same samples in each split (touching ranges may be given merged or one by one, in any order)."""
    try:
        g = _canonical(got)
    except (TypeError, ValueError) as exc:
        return f"could not read your splits ({exc}); return {{name: [(start, end), ...]}} for {SPLIT_NAMES}"
    e = _canonical(expected)
    if sorted(g) != sorted(e):
        return f"keys {sorted(g)}, expected {sorted(e)}"
    for name in SPLIT_NAMES:
        if g[name] != e[name]:
            return f"{name} covers {g[name]}, expected {e[name]}"
    return None


def _sections(rows: Sequence[tuple[str, str, int, int]]) -> list[Section]:
    return [Section(name, start, end, role) for name, role, start, end in rows]


#: The quick 48 kHz reamp layout (names, roles and sample ranges as notebook 01 prints them).
QUICK_LAYOUT = _sections([
    ("blips", "alignment", 0, 88_889), ("gap_1", "gap", 88_889, 100_889),
    ("validation_a", "repeatability", 100_889, 196_889), ("gap_2", "gap", 196_889, 208_889),
    ("preamble", "train", 208_889, 304_889), ("sweeps", "train", 304_889, 386_489),
    ("noise_bursts", "train", 386_489, 444_089), ("guitar", "train", 444_089, 684_089),
    ("test_phrases", "test", 684_089, 780_089), ("gap_3", "gap", 780_089, 792_089),
    ("validation_b", "validation", 792_089, 888_089), ("tail", "gap", 888_089, 912_089),
])


def _split_cases() -> list[Case]:
    spaced = _sections([
        ("validation_b", "validation", 9_000, 10_000), ("riffs", "train", 2_000, 3_000),
        ("blips", "alignment", 0, 1_000), ("test_phrases", "test", 7_000, 8_000),
        ("validation_a", "repeatability", 1_000, 2_000), ("chords", "train", 4_000, 5_000),
        ("gap", "gap", 3_000, 4_000), ("leads", "train", 5_500, 6_500), ("tail", "gap", 10_000, 10_500),
    ])
    smallest = _sections([("train", "train", 0, 10), ("test", "test", 10, 12), ("validation", "validation", 12, 14)])
    return [
        Case("the quick reamp layout (48 kHz)", (QUICK_LAYOUT,)),
        Case("sections out of time order, with gaps between the training sections", (spaced,)),
        Case("the smallest layout: one section per split", (smallest,)),
    ]


def _by_rule(sections: Sequence[Section], rule: Callable[[Section], str | None],
             rng: Callable[[Section], tuple[int, int]] = lambda s: (s.start, s.end)) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {name: [] for name in SPLIT_NAMES}
    for s in sections:
        split = rule(s)
        if split is not None:
            out[split].append(rng(s))
    return out


def _everything_else_trains(sections: Sequence[Section]) -> dict[str, list[tuple[int, int]]]:
    return _by_rule(sections, lambda s: s.role if s.role in ("validation", "test") else "train")


def _repeatability_trains(sections: Sequence[Section]) -> dict[str, list[tuple[int, int]]]:
    return _by_rule(sections, lambda s: "train" if s.role == "repeatability" else
                    (s.role if s.role in SPLIT_NAMES else None))


def _repeatability_validates(sections: Sequence[Section]) -> dict[str, list[tuple[int, int]]]:
    return _by_rule(sections, lambda s: "validation" if s.role == "repeatability" else
                    (s.role if s.role in SPLIT_NAMES else None))


def _overwrite(sections: Sequence[Section]) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for s in sections:
        if s.role in SPLIT_NAMES:
            out[s.role] = [(s.start, s.end)]
    return out


def _role(s: Section) -> str | None:
    return s.role if s.role in SPLIT_NAMES else None


SPLIT_MISTAKES = [
    Mistake("train holds only sections whose role is 'train'. You also put alignment, gap or repeatability "
            "sections in it, and validation_a is the same take as validation_b, so training on it leaks the "
            "validation set.", _everything_else_trains),
    Mistake("validation_a (role 'repeatability') is in train. It is the very take the validation split holds, "
            "so the model would be validated on audio it trained on. It belongs to no split.", _repeatability_trains),
    Mistake("validation_a (role 'repeatability') is in validation. Select by role, not by name: validation is "
            "validation_b alone, and validation_a only serves the repeatability check.", _repeatability_validates),
    Mistake("each split kept only its last section. A split can hold several (train has the preamble, sweeps, "
            "noise bursts and guitar), so append each one; don't replace the list.", _overwrite),
    Mistake("ranges are (start, end) sample indices, not (start, length): use (s.start, s.end).",
            lambda sections: _by_rule(sections, _role, lambda s: (s.start, s.end - s.start))),
    Mistake("ranges are half-open [start, end): the end is s.end (the first sample AFTER the section), not "
            "s.end - 1.", lambda sections: _by_rule(sections, _role, lambda s: (s.start, s.end - 1))),
]


def check_split_by_role(fn: Callable[[Sequence[Section]], Mapping[str, Sequence[tuple[int, int]]]]) -> CheckResult:
    """Check ``fn(sections) -> {"train": [(start, end), ...], "validation": [...], "test": [...]}``: every
    section whose role is ``"train"``, ``"validation"`` or ``"test"`` goes to that split as its half-open sample
    range; ``alignment``, ``repeatability`` and ``gap`` sections go nowhere. Ranges may come in any order, and
    touching ones may be merged or not. Reference: :func:`helpers.capture.splits.splits_from_sections`."""
    return run_check("split_by_role", fn, splits_from_sections, _split_cases(), compare=_same_splits,
                     mistakes=SPLIT_MISTAKES)


# ------------------------------------------------------------------------------------------ headroom
def headroom_reference(y: np.ndarray) -> float:
    """dB between full scale and the peak of ``y`` once its mean (the DC offset) is removed: ``-peak_dbfs(y -
    mean(y))``; ``+inf`` when nothing is left."""
    y64 = np.asarray(y, dtype=np.float64)
    return -peak_dbfs(y64 - y64.mean())




def _headroom_cases() -> list[Case]:
    rng = np.random.default_rng(0)
    t = np.arange(4800) / 48_000
    sine = np.sin(2 * np.pi * 440 * t)
    return [
        Case("a sine of amplitude 0.5 on a +0.05 DC offset", ((0.5 * sine + 0.05).astype(np.float32),)),
        Case("noise with a -0.2 DC offset", ((0.1 * rng.standard_normal(4800) - 0.2).astype(np.float32),)),
        Case("a clean sine peaking at -1 dBFS (no offset)", ((10 ** (-1 / 20) * sine).astype(np.float32),)),
        Case("a clipped recording (flat tops at ±1)", (np.clip(3 * sine, -1, 1).astype(np.float32),)),
        Case("silence (+inf dB of headroom)", (np.zeros(100, dtype=np.float32),)),
        Case("a single sample (all of it is DC, so +inf)", (np.array([0.3], dtype=np.float32),)),
    ]


def _dc_free(y: np.ndarray) -> np.ndarray:
    y64 = np.asarray(y, dtype=np.float64)
    return y64 - y64.mean()


HEADROOM_MISTAKES = [
    Mistake("the DC offset is still in. Subtract y.mean() before taking the peak; the offset is not sound, and "
            "counting it understates (or overstates) the headroom.", lambda y: -peak_dbfs(np.asarray(y))),
    Mistake("the sign is flipped. Headroom is how far the peak sits BELOW full scale, a positive number of dB: "
            "-peak_dbfs(...).", lambda y: peak_dbfs(_dc_free(y))),
    Mistake("you used 10·log10 of a peak amplitude. Amplitudes take 20·log10.",
            lambda y: -10 * math.log10(np.max(np.abs(_dc_free(y)))) if np.any(_dc_free(y)) else float("inf")),
    Mistake("you measured the RMS level. Headroom is about the PEAK, the sample that would clip.",
            lambda y: -rms_dbfs(_dc_free(y))),
]


def check_headroom_db(fn: Callable[[np.ndarray], float]) -> CheckResult:
    """Check ``fn(y) -> float``: the headroom of the recording ``y`` (shape ``(n,)``, float, full scale 1.0) in
    dB once its DC offset (its mean) is removed: ``-peak_dbfs(y - mean(y))``, positive below full scale, ``+inf``
    when nothing is left. Reference: :func:`headroom_reference`."""
    return run_check("headroom_db", fn, headroom_reference, _headroom_cases(), compare=same_db,
                     mistakes=HEADROOM_MISTAKES)
