"""Checks for notebook 03 (evaluate and listen): where a capture is wrong, and a fair comparison by ear.

* :func:`check_section_esr` — the ESR of each named section of the capture signal, on that section's samples only,
  gaps and silent sections skipped (reference: :func:`helpers.losses.esr` per section with the skipping rule of
  :func:`helpers.amp.evaluate.evaluate`);
* :func:`check_loudness_gain_db` — the gain in dB that brings a clip's RMS level to a reference's (reference:
  :func:`helpers.audio.rms_dbfs`);
* :func:`check_match_loudness` — the clip scaled by that gain (what :func:`helpers.amp.listen.loudness_match` does
  before an A/B comparison; reference: :func:`helpers.audio.db_to_gain`);
* :func:`check_esr_db` — an end-of-notebook exercise: an ESR in decibels, ``10·log10(ESR)`` (the scale of
  :func:`helpers.amp.plots.error_over_time`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from helpers.audio import db_to_gain, peak, rms, rms_dbfs
from helpers.checks.core import Case, CheckResult, Mistake, as_array, close, run_check
from helpers.losses import esr

# -------------------------------------------------------------------------------------- ESR per section
#: A section whose target mean square is below this fraction of the whole target's is silent (a gap: 40 dB below
#: the capture's level, as in :func:`helpers.amp.evaluate.evaluate`) and is not scored.
SILENCE_RATIO = 1e-4


def _power(x: np.ndarray) -> float:
    return float(np.mean(np.square(np.asarray(x, dtype=np.float64)))) if len(x) else 0.0


def _skipped(sec: dict, target: np.ndarray, overall: float, *, by_role: bool = True, by_level: bool = True) -> bool:
    s, e = int(sec["start"]), int(sec["end"])
    return (e <= s or (by_role and sec.get("role") == "gap")
            or (by_level and _power(target[s:e]) < SILENCE_RATIO * overall))


def section_esr_reference(pred: np.ndarray, target: np.ndarray, sections: Sequence[dict]) -> dict[str, float]:
    """``{name: ESR}`` of every section ``[start, end)`` except gaps (``role == "gap"``: what rings there is the
    previous section's decay and the room's noise) and silent sections (target mean square below ``SILENCE_RATIO``
    times the whole target's); each ESR over that section's samples only."""
    overall = _power(target)
    out = {}
    for sec in sections:
        s, e = int(sec["start"]), int(sec["end"])
        if _skipped(sec, target, overall):
            continue
        out[str(sec["name"])] = esr(pred[s:e], target[s:e])
    return out


def _compare_sections(rtol: float = 1e-4, atol: float = 1e-7) -> Callable[[Any, Any], str | None]:
    """Dictionaries ``{name: number}``: the same names (any order), then the values within ``rtol``/``atol`` (two
    NaNs, or two equal infinities, count as equal, so that a mistake that divides by zero is recognised)."""

    def compare(got: Any, expected: Any) -> str | None:
        if not isinstance(got, dict):
            return f"returned a {type(got).__name__}; return a dict {{section name: ESR}}"
        extra, missing = sorted(set(got) - set(expected)), sorted(set(expected) - set(got))
        if extra:
            return f"scored {extra}, which should not be there (silent sections are skipped)"
        if missing:
            return f"no ESR for {missing}"
        for name, value in expected.items():
            try:
                g, e = float(as_array(got[name])), float(value)
            except (TypeError, ValueError) as exc:
                return f"the value for {name!r} is not a number ({exc})"
            if not np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
                return f"the ESR of {name!r} is {g:.6g}, expected {e:.6g}"
        return None

    return compare


def _sections_esr(pred: np.ndarray, target: np.ndarray, sections: Sequence[dict], *, skip: bool = True,
                  by_role: bool = True, score: Callable[[np.ndarray, np.ndarray], float] | None = None,
                  end: int = 0, start: int = 0) -> dict[str, float]:
    """The reference with one thing changed: ``skip`` silent sections or not, gaps (``by_role``) or not, another
    ``score``, a shifted ``end`` or ``start``."""
    score = score or (lambda p, t: float(np.sum((t - p) ** 2) / np.sum(t**2)))
    overall = _power(target)
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for sec in sections:
            s, e = int(sec["start"]), int(sec["end"])
            if e <= s or (skip and _skipped(sec, target, overall, by_role=by_role)):
                continue
            t = target[s + start : e + end].astype(np.float64)
            p = pred[s + start : e + end].astype(np.float64)
            out[str(sec["name"])] = score(p, t)
    return out


def _whole_signal(pred: np.ndarray, target: np.ndarray, sections: Sequence[dict]) -> dict[str, float]:
    value = esr(pred, target)
    return {name: value for name in section_esr_reference(pred, target, sections)}


_GAPS = ("gaps are scored: a section with role 'gap' holds no music of its own (the previous section's decay, "
         "noise, near-silence), so its ESR divides by almost nothing and ranks it worst. Skip sections whose role "
         "is 'gap', and any section whose target mean square is below 1e-4 × the whole target's.")

SECTION_ESR_MISTAKES = [
    Mistake("one ESR of the whole signal, given to every section: slice each section's samples first, "
            "pred[start:end] and target[start:end], and compute the ESR of those.",
            _whole_signal),
    Mistake("no denominator: Σ (target − pred)² alone grows with the level and length of a section. Divide by "
            "Σ target² over the same samples.",
            lambda p, t, secs: _sections_esr(p, t, secs, score=lambda a, b: float(np.sum((b - a) ** 2)))),
    Mistake("no denominator: the mean squared error depends on the section's level. ESR divides Σ (target − pred)² "
            "by Σ target² over the same samples.",
            lambda p, t, secs: _sections_esr(p, t, secs, score=lambda a, b: float(np.mean((b - a) ** 2)))),
    Mistake("the end is inclusive here: sections are half-open, [start, end), so the last sample is end − 1. "
            "Slice x[start:end] (Python slices already stop before end).",
            lambda p, t, secs: _sections_esr(p, t, secs, end=1)),
    Mistake("the last sample of each section is dropped: sections are half-open [start, end) and x[start:end] "
            "already stops before end; do not subtract 1.",
            lambda p, t, secs: _sections_esr(p, t, secs, end=-1)),
    Mistake("the first sample of each section is dropped: a section covers x[start:end], start included.",
            lambda p, t, secs: _sections_esr(p, t, secs, start=1)),
    Mistake("a silent section is scored because it is not called a gap: its target is (almost) zero, so the ESR "
            "divides by ~0 and means nothing. Also skip any section whose target mean square is below 1e-4 × the "
            "whole target's.",
            lambda p, t, secs: {k: v for k, v in _sections_esr(p, t, secs, skip=False).items()
                                if next(s for s in secs if s["name"] == k).get("role") != "gap"}),
    Mistake(_GAPS, lambda p, t, secs: _sections_esr(p, t, secs, skip=False)),
    Mistake(_GAPS, lambda p, t, secs: _sections_esr(p, t, secs, by_role=False)),
    Mistake("the denominator is the prediction's energy: ESR divides by the TARGET's, Σ target².",
            lambda p, t, secs: _sections_esr(p, t, secs, score=lambda a, b: float(np.sum((b - a) ** 2)
                                                                                  / np.sum(a**2)))),
]


def _signal(rng: np.random.Generator, parts: Sequence[tuple[str, int, float, float, str]]
            ) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Target and prediction made of ``(name, length, level, relative error, role)`` parts (level 0: exact
    silence; a tiny level: a noise floor), and the sections that describe them."""
    targets, preds, sections, pos = [], [], [], 0
    for name, n, level, err, role in parts:
        t = rng.standard_normal(n) * level
        targets.append(t)
        preds.append(t + rng.standard_normal(n) * max(level, 1e-4) * err)
        sections.append({"name": name, "start": pos, "end": pos + n, "role": role})
        pos += n
    return (np.concatenate(preds).astype(np.float32), np.concatenate(targets).astype(np.float32), sections)


def section_esr_cases() -> list[Case]:
    """Short sections (so one sample more or less changes the ESR) at different levels and accuracies, a gap that
    is not silent, an exactly silent tail, a silent section that is not called a gap, two-sample sections, no
    silence."""
    rng = np.random.default_rng(0)
    pred, target, secs = _signal(rng, [("x", 20, 0.3, 0.5, "train"), ("y", 20, 0.6, 0.1, "validation"),
                                       ("z", 20, 0.1, 1.0, "test")])
    return [
        Case("four sections and a gap where the plucks ring on",
             _signal(rng, [("plucks", 40, 0.5, 0.1, "train"), ("chords", 30, 0.2, 0.8, "train"),
                           ("gap", 25, 0.02, 5.0, "gap"), ("phrase", 35, 0.8, 0.3, "test"),
                           ("sweep", 30, 0.1, 0.05, "train")])),
        Case("an exactly silent tail",
             _signal(rng, [("notes", 50, 0.3, 0.2, "train"), ("tail", 20, 0.0, 0.0, "gap")])),
        Case("a silent section that is not called a gap",
             _signal(rng, [("a", 30, 0.4, 0.3, "train"), ("quiet", 30, 1e-5, 3.0, "train"),
                           ("b", 30, 0.2, 0.6, "test")])),
        Case("no silence, sections out of order", (pred, target, [secs[2], secs[0], secs[1]])),
        Case("two-sample sections",
             _signal(rng, [("one", 2, 0.5, 0.5, "train"), ("two", 2, 0.4, 0.2, "test"),
                           ("rest", 10, 0.3, 0.3, "train")])),
    ]


def check_section_esr(fn: Callable[..., Any]) -> CheckResult:
    """Check ``section_esr(pred, target, sections)``: ``pred`` and ``target`` 1-D arrays of the same length,
    ``sections`` dicts with ``name``, ``start``, ``end`` (half-open ``[start, end)`` in samples) and ``role`` →
    ``{name: ESR}``, each ESR ``Σ (target − pred)² / Σ target²`` over that section's samples, skipping gaps
    (``role == "gap"``) and every section whose target mean square is below ``1e-4`` × the whole target's
    (silence). Reference: :func:`helpers.losses.esr` per section, the skipping rule of
    :func:`helpers.amp.evaluate.evaluate`."""
    with np.errstate(divide="ignore", invalid="ignore"):  # a mistake that divides by zero is still recognised
        return run_check("section_esr", fn, section_esr_reference, section_esr_cases(), compare=_compare_sections(),
                         mistakes=SECTION_ESR_MISTAKES)


# -------------------------------------------------------------------------------------- loudness matching
def loudness_gain_db_reference(x: np.ndarray, reference: np.ndarray) -> float:
    """Gain (dB) that brings ``x``'s RMS level to ``reference``'s: ``rms_dbfs(reference) − rms_dbfs(x)``, i.e.
    ``20·log10(rms(reference) / rms(x))``; 0 dB when either is silent (nothing to match)."""
    if rms(x) == 0 or rms(reference) == 0:
        return 0.0
    return rms_dbfs(reference) - rms_dbfs(x)


def _ratio_db(num: float, den: float, factor: float = 20.0) -> float:
    return float(factor * np.log10(num / den))


def _mean_abs(x: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(x, dtype=np.float64))))


def _ms(x: np.ndarray) -> float:
    return float(np.mean(np.square(np.asarray(x, dtype=np.float64))))


LOUDNESS_GAIN_MISTAKES = [
    Mistake("10·log10 of an amplitude ratio: RMS is an amplitude, and amplitude ratios take 20·log10 (10·log10 is "
            "for power ratios, i.e. mean squares). Use 20 * log10(rms(reference) / rms(x)).",
            lambda x, r: _ratio_db(rms(r), rms(x), 10.0)),
    Mistake("the ratio is upside down (the sign is flipped): the gain brings x UP to the reference, "
            "20·log10(rms(reference) / rms(x)) — positive when x is quieter.",
            lambda x, r: _ratio_db(rms(x), rms(r))),
    Mistake("peak levels matched, not loudness: two clips with the same peak can differ by many dB in loudness "
            "(a distorted amp is dense, a clean guitar spiky). Use the RMS, sqrt(mean(x²)).",
            lambda x, r: _ratio_db(peak(r), peak(x))),
    Mistake("20·log10 of mean squares (a power ratio) doubles the dB: take the square root first (RMS), or use "
            "10·log10 of the mean squares.",
            lambda x, r: _ratio_db(_ms(r), _ms(x))),
    Mistake("the mean absolute value is not the RMS: use sqrt(mean(x²)).",
            lambda x, r: _ratio_db(_mean_abs(r), _mean_abs(x))),
    Mistake("this is the linear factor rms(reference) / rms(x); the function returns decibels: 20·log10 of it.",
            lambda x, r: rms(r) / rms(x)),
]


def _silence_aware(compare: Callable[[Any, Any], str | None], what: str) -> Callable[[Any, Any], str | None]:
    """``compare``, with a hint when the answer is not finite: a silent clip has RMS 0 and was divided by."""

    def wrapped(got: Any, expected: Any) -> str | None:
        try:
            finite = bool(np.all(np.isfinite(as_array(got).astype(np.float64))))
        except (TypeError, ValueError):
            finite = True  # not a number at all: let ``compare`` say so
        if not finite and np.all(np.isfinite(as_array(expected))):
            return f"the answer is not finite: a silent clip has RMS 0, and dividing by it fails. {what}"
        return compare(got, expected)

    return wrapped


def _tone(n: int, level: float, period: float = 37.0) -> np.ndarray:
    return (level * np.sin(2 * np.pi * np.arange(n) / period)).astype(np.float32)


def loudness_cases() -> list[Case]:
    """Noise against a sine (different crest factors, so peak ≠ RMS), a louder clip, equal levels, different
    lengths, a silent clip, one sample."""
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(2000) * 0.05).astype(np.float32)
    spiky = np.zeros(1000, dtype=np.float32)
    spiky[::50] = 0.9
    return [
        Case("quiet noise against a sine", (noise, _tone(2000, 0.5))),
        Case("a loud sine against spiky clicks", (_tone(1500, 0.8, 23.0), spiky)),
        Case("equal levels (0 dB)", (_tone(500, 0.3), -_tone(500, 0.3))),
        Case("different lengths", ((rng.standard_normal(480) * 0.2).astype(np.float32), _tone(1000, 0.05))),
        Case("a silent clip (0 dB: nothing to match)", (np.zeros(300, dtype=np.float32), _tone(300, 0.5))),
        Case("one sample each", (np.array([0.25], dtype=np.float32), np.array([-0.5], dtype=np.float32))),
    ]


def check_loudness_gain_db(fn: Callable[..., Any]) -> CheckResult:
    """Check ``loudness_gain_db(x, reference)``: 1-D arrays (any lengths) → the gain in dB that makes ``x``'s RMS
    equal ``reference``'s, ``20·log10(rms(reference) / rms(x))`` with ``rms = sqrt(mean(x²))``; ``0.0`` when
    either is silent. Reference: :func:`helpers.audio.rms_dbfs` (``rms_dbfs(reference) − rms_dbfs(x)``)."""
    with np.errstate(divide="ignore", invalid="ignore"):  # a mistake that divides by zero is still recognised
        return run_check("loudness_gain_db", fn, loudness_gain_db_reference, loudness_cases(),
                         compare=_silence_aware(close(rtol=1e-4, atol=1e-3), "Return 0.0 dB when either RMS is 0."),
                         mistakes=LOUDNESS_GAIN_MISTAKES)


def match_loudness_reference(x: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``x`` times the linear gain ``10^(dB/20)`` of :func:`loudness_gain_db_reference`: its RMS equals the
    reference's (``x`` unchanged when either is silent)."""
    return np.asarray(x, dtype=np.float64) * db_to_gain(loudness_gain_db_reference(x, reference))


def _scaled(x: np.ndarray, factor: float) -> np.ndarray:
    return np.asarray(x, dtype=np.float64) * factor


MATCH_LOUDNESS_MISTAKES = [
    Mistake("dB turned into a factor with 10^(dB/10): that is a power factor. An amplitude gain is 10^(dB/20).",
            lambda x, r: _scaled(x, (rms(r) / rms(x)) ** 2)),
    Mistake("x gets the square root of the right factor: somewhere 10·log10 and 10^(dB/20) (or 20·log10 and "
            "10^(dB/10)) were mixed. Amplitudes: 20·log10 there, 10^(dB/20) back.",
            lambda x, r: _scaled(x, np.sqrt(rms(r) / rms(x)))),
    Mistake("the ratio is upside down: x must be multiplied by rms(reference) / rms(x), so a quiet x gets louder.",
            lambda x, r: _scaled(x, rms(x) / rms(r))),
    Mistake("peaks matched, not loudness: scale by the RMS ratio, rms(reference) / rms(x).",
            lambda x, r: _scaled(x, peak(r) / peak(x))),
    Mistake("x was multiplied by the decibels themselves: convert dB to a linear factor first, 10^(dB/20).",
            lambda x, r: _scaled(x, 20 * np.log10(rms(r) / rms(x)))),
    Mistake("the reference was scaled to x's level, not x to the reference's: return x times "
            "rms(reference) / rms(x).",
            lambda x, r: _scaled(r, rms(x) / rms(r))),
]


def check_match_loudness(fn: Callable[..., Any]) -> CheckResult:
    """Check ``match_loudness(x, reference)``: ``x`` (1-D) scaled by one gain so that its RMS equals
    ``reference``'s — ``x · 10^(dB/20)`` with the dB of ``loudness_gain_db`` — same shape as ``x``; ``x``
    unchanged when either is silent. Reference: :func:`helpers.audio.rms_dbfs` and
    :func:`helpers.audio.db_to_gain`."""
    with np.errstate(divide="ignore", invalid="ignore"):  # a mistake that divides by zero is still recognised
        return run_check("match_loudness", fn, match_loudness_reference, loudness_cases(),
                         compare=_silence_aware(close(rtol=1e-4, atol=1e-6), "Return x unchanged when either RMS is 0."),
                         mistakes=MATCH_LOUDNESS_MISTAKES)


# -------------------------------------------------------------------------------------- ESR in dB (exercise)
def esr_db_reference(pred: np.ndarray, target: np.ndarray) -> float:
    """``10·log10(ESR)``: ESR is a ratio of energies (powers), so 10·log10; 0.01 is −20 dB, 1 is 0 dB."""
    return float(10.0 * np.log10(esr(pred, target)))


ESR_DB_MISTAKES = [
    Mistake("20·log10 of the ESR: the ESR is already a ratio of energies (powers), so it takes 10·log10 "
            "(ESR 0.01 = −20 dB).",
            lambda p, t: 20.0 * np.log10(esr(p, t))),
    Mistake("the sign: an ESR below 1 is a NEGATIVE number of dB (the error is quieter than the signal); "
            "10·log10(0.01) = −20.",
            lambda p, t: -10.0 * np.log10(esr(p, t))),
    Mistake("the natural logarithm: decibels use log10 (np.log10).",
            lambda p, t: 10.0 * np.log(esr(p, t))),
    Mistake("this is the ESR itself, not in dB: return 10·log10 of it.",
            lambda p, t: esr(p, t)),
]


def esr_db_cases() -> list[Case]:
    """A close prediction, half the target (−6.02 dB), silence (0 dB), a poor prediction (above 0 dB)."""
    rng = np.random.default_rng(4)
    t = (rng.standard_normal(500) * 0.3).astype(np.float32)
    close_p = (t + rng.standard_normal(500) * 0.01).astype(np.float32)
    poor = (-t + rng.standard_normal(500) * 0.1).astype(np.float32)
    return [Case("a close prediction", (close_p, t)), Case("half the target", (0.5 * t, t)),
            Case("silence as the prediction", (np.zeros_like(t), t)), Case("a poor prediction", (poor, t))]


def check_esr_db(fn: Callable[..., Any]) -> CheckResult:
    """Check ``esr_db(pred, target)``: 1-D arrays → ``10·log10(ESR)`` in dB (ESR is a ratio of energies).
    Reference: :func:`helpers.losses.esr`."""
    with np.errstate(divide="ignore", invalid="ignore"):  # a mistake that divides by zero is still recognised
        return run_check("esr_db", fn, esr_db_reference, esr_db_cases(), compare=close(rtol=1e-4, atol=1e-3),
                         mistakes=ESR_DB_MISTAKES)
