"""Checks for notebook 09 (the finale): the small pieces of audio plumbing that make a clip playable.

* :func:`check_apply_fades` — linear fade-in and fade-out, their length given in milliseconds (reference:
  :func:`helpers.finale.apply_fades`);
* :func:`check_knob_sweep` — a knob turning linearly over a clip, one normalised position per sample (reference:
  :func:`helpers.finale.knob_sweep`);
* :func:`check_midi_to_hz` — a MIDI note number as a frequency in Hz (reference: ``pretty_midi.note_number_to_hz``,
  the MIDI library the course renders with).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from helpers.checks.core import Case, CheckResult, Mistake, close, run_check
from helpers.finale import apply_fades, knob_sweep

_AUDIO = close(rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------------ fades
def _fade_cases() -> list[Case]:
    rng = np.random.default_rng(0)
    t = np.arange(4800) / 48_000
    tone = (0.5 * np.sin(2 * np.pi * 220 * t + 0.3)).astype(np.float32)
    return [
        Case("a 220 Hz tone, 4800 samples at 48 kHz, 10 ms fades (480 samples each)", (tone, 10.0, 48_000)),
        Case("white noise at 44.1 kHz, 2.9 ms fades (127.89 → 128 samples each)",
             ((0.2 * rng.standard_normal(2000)).astype(np.float32), 2.9, 44_100)),
        Case("a constant signal of ones (the output is the gain curve itself), 5 ms at 8 kHz (40 samples)",
             (np.ones(300, dtype=np.float32), 5.0, 8_000)),
        Case("fades that meet in the middle: 960 samples, 10 ms at 48 kHz", (tone[:960], 10.0, 48_000)),
        Case("a one-sample fade (1 ms at 1 kHz): only the first and last samples become 0",
             (tone[:50], 1.0, 1_000)),
        Case("fade_ms = 0: no fade, the signal unchanged (careful: x[-0:] is the WHOLE signal, not none of it)",
             (tone[:500], 0.0, 48_000)),
    ]


def _fades(n_of: Callable[[float, int], int], ramp_of: Callable[[int], np.ndarray], fade_in: bool = True,
           fade_out: bool = True, reverse_out: bool = True) -> Callable[[np.ndarray, float, int], np.ndarray]:
    """A wrong fade: ``n_of(fade_ms, sr)`` samples, gain ``ramp_of(n)``; which ends are faded and how."""

    def wrong(x: np.ndarray, fade_ms: float, sr: int) -> np.ndarray:
        y = np.array(x, dtype=np.float64)
        n = n_of(fade_ms, sr)
        if n > 0:
            ramp = ramp_of(n)
            if fade_in:
                y[:n] *= ramp
            if fade_out:
                y[len(y) - n:] *= ramp[::-1] if reverse_out else ramp
        return y

    return wrong


def _n(ms: float, sr: int) -> int:
    return round(ms * sr / 1000)


def _linear(n: int) -> np.ndarray:
    return np.linspace(0.0, 1.0, n)


FADES_MISTAKES = [
    Mistake("only the start is faded: the clip still stops dead at its last sample, which clicks. Multiply the last "
            "n samples by the reversed ramp too.", _fades(_n, _linear, fade_out=False)),
    Mistake("only the end is faded: the clip starts with a jump from silence, which clicks. Multiply the first n "
            "samples by the ramp np.linspace(0, 1, n) too.", _fades(_n, _linear, fade_in=False)),
    Mistake("the fade-out ramp goes UP (0 → 1), so the clip ends at full level and clicks. Reverse it for the end: "
            "ramp[::-1] goes from 1 to 0.", _fades(_n, _linear, reverse_out=False)),
    Mistake("your fades are fade_ms SAMPLES long (10 samples is 0.2 ms at 48 kHz), not fade_ms milliseconds. "
            "Convert: n = round(fade_ms * sample_rate / 1000).", _fades(lambda ms, sr: round(ms), _linear)),
    Mistake("int() cuts off the fraction (127.89 samples → 127): round to the nearest sample, "
            "n = round(fade_ms * sample_rate / 1000), as in notebook 00.",
            _fades(lambda ms, sr: int(ms * sr / 1000), _linear)),
    Mistake("your ramp starts at 1/n, not 0 (np.arange(1, n + 1) / n), so the first and last samples are not "
            "silent: a small click remains. Use np.linspace(0, 1, n), exactly 0 at the edges and 1 at the end.",
            _fades(_n, lambda n: np.arange(1, n + 1) / n)),
    Mistake("your ramp stops one step short of 1 (np.arange(n) / n). Use np.linspace(0, 1, n): it starts at "
            "exactly 0 and ends at exactly 1, so the fade joins the unfaded middle without a step.",
            _fades(_n, lambda n: np.arange(n) / n)),
]


def check_apply_fades(fn: Callable[[np.ndarray, float, int], Any]) -> CheckResult:
    """Check ``fn(x, fade_ms, sample_rate) -> (samples,)``: ``x`` with its first ``n`` samples multiplied by
    ``np.linspace(0, 1, n)`` and its last ``n`` by the same ramp reversed, ``n = round(fade_ms · sample_rate /
    1000)``; ``n = 0`` leaves ``x`` unchanged. Reference: :func:`helpers.finale.apply_fades`."""
    return run_check("apply_fades", fn, apply_fades, _fade_cases(), compare=_AUDIO, mistakes=FADES_MISTAKES)


# ------------------------------------------------------------------------------------------ knob sweep
SWEEP_CASES = [
    Case("drive 0 → 10 over 11 samples (a 0-10 dial)", (11, 0.0, 10.0, 0.0, 10.0)),
    Case("drive 2.5 → 7.5 over 5 samples (part of the range)", (5, 2.5, 7.5, 0.0, 10.0)),
    Case("a level knob −24 → +12 dB over 7 samples (range −24…+12 dB: the minimum is not 0)",
         (7, -24.0, 12.0, -24.0, 12.0)),
    Case("turning down: drive 10 → 0 over 6 samples", (6, 10.0, 0.0, 0.0, 10.0)),
    Case("one sample (drive 3 → 8): just the start", (1, 3.0, 8.0, 0.0, 10.0)),
    Case("one second at 48 kHz, drive 0 → 10 (48 000 samples)", (48_000, 0.0, 10.0, 0.0, 10.0)),
]


def _norm(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return (v - lo) / (hi - lo)


SWEEP_MISTAKES = [
    Mistake("these are knob values in the knob's unit (0-10, or dB). The model reads positions in [0, 1]: "
            "normalise each one, (value − minimum) / (maximum − minimum).",
            lambda n, a, b, lo, hi: np.linspace(a, b, n)),
    Mistake("the sweep stops one step short of `end` (np.arange(n) / n never reaches 1): the knob never gets "
            "there. np.linspace(start, end, n_samples) puts exactly `end` on the last sample.",
            lambda n, a, b, lo, hi: _norm(a + (b - a) * np.arange(n) / n, lo, hi)),
    Mistake("n_samples + 1 values: np.linspace(start, end, n_samples + 1) makes one more than the clip has. "
            "Use n_samples points: np.linspace(start, end, n_samples).",
            lambda n, a, b, lo, hi: _norm(np.linspace(a, b, n + 1), lo, hi)),
    Mistake("you divided by the maximum only, which is right only when the minimum is 0 (a −24…+12 dB knob is "
            "not). Use (value − minimum) / (maximum − minimum).",
            lambda n, a, b, lo, hi: np.linspace(a, b, n) / hi),
    Mistake("you divided by the range but did not subtract the minimum first: (value − minimum) / "
            "(maximum − minimum).",
            lambda n, a, b, lo, hi: np.linspace(a, b, n) / (hi - lo)),
    Mistake("the sweep always runs over the knob's whole range (0 → 1). It must go from `start` to `end`: "
            "normalise np.linspace(start, end, n_samples).",
            lambda n, a, b, lo, hi: np.linspace(0.0, 1.0, n)),
    Mistake("the scale is upside down (maximum → 0, minimum → 1): use (value − minimum) / (maximum − minimum).",
            lambda n, a, b, lo, hi: (hi - np.linspace(a, b, n)) / (hi - lo)),
]


def check_knob_sweep(fn: Callable[[int, float, float, float, float], Any]) -> CheckResult:
    """Check ``fn(n_samples, start, end, minimum, maximum) -> (n_samples,)``: a knob moving linearly from ``start``
    (first sample) to exactly ``end`` (last sample), each value normalised to ``[0, 1]`` by the knob's range.
    Reference: :func:`helpers.finale.knob_sweep`."""
    return run_check("knob_sweep", fn, knob_sweep, SWEEP_CASES, compare=close(rtol=1e-5, atol=1e-6),
                     mistakes=SWEEP_MISTAKES)


# ------------------------------------------------------------------------------------------ MIDI → Hz
def midi_to_hz_reference(pitch: Any) -> Any:
    """MIDI note number(s) → Hz, equal temperament with A4 (note 69) = 440 Hz: ``pretty_midi.note_number_to_hz``."""
    import pretty_midi

    return pretty_midi.note_number_to_hz(pitch)


MIDI_CASES = [
    Case("A4, note 69 (440 Hz, the tuning reference)", (69,)),
    Case("middle C, note 60 (261.63 Hz)", (60,)),
    Case("the guitar's low E string, note 40 (82.41 Hz)", (40,)),
    Case("A5, note 81: one octave above A4 (880 Hz)", (81,)),
    Case("a D major scale as an array, notes 62…74", (np.array([62, 64, 66, 67, 69, 71, 73, 74]),)),
    Case("note 0 (8.18 Hz) and note 127 (12.5 kHz), the ends of MIDI's range", (np.array([0, 127]),)),
]

MIDI_MISTAKES = [
    Mistake("you put 440 Hz at note 60. The tuning reference A4 = 440 Hz is MIDI note 69 (60 is middle C, "
            "261.63 Hz): 440 · 2 ** ((pitch − 69) / 12).",
            lambda p: 440.0 * 2.0 ** ((np.asarray(p) - 60) / 12.0)),
    Mistake("each semitone multiplies the frequency by 2 ** (1/12), so an octave (12 semitones) doubles it: divide "
            "the note difference by 12, 440 · 2 ** ((pitch − 69) / 12).",
            lambda p: 440.0 * 2.0 ** (np.asarray(p, dtype=np.float64) - 69)),
    Mistake("np.exp is e ** x. Equal temperament is in powers of 2: 440 · 2 ** ((pitch − 69) / 12).",
            lambda p: 440.0 * np.exp((np.asarray(p) - 69) / 12.0)),
    Mistake("higher notes must give higher frequencies: use (pitch − 69), not (69 − pitch).",
            lambda p: 440.0 * 2.0 ** ((69 - np.asarray(p)) / 12.0)),
    Mistake("an octave off: note 69 is A4 at 440 Hz (not 220 Hz or 880 Hz).",
            lambda p: 220.0 * 2.0 ** ((np.asarray(p) - 69) / 12.0)),
    Mistake("an octave off: note 69 is A4 at 440 Hz (not 220 Hz or 880 Hz).",
            lambda p: 880.0 * 2.0 ** ((np.asarray(p) - 69) / 12.0)),
]


def check_midi_to_hz(fn: Callable[[Any], Any]) -> CheckResult:
    """Check ``fn(pitch) -> Hz``: a MIDI note number (an int, or an array of them) as its frequency in Hz, equal
    temperament with A4 (note 69) = 440 Hz. Reference: ``pretty_midi.note_number_to_hz``."""
    return run_check("midi_to_hz", fn, midi_to_hz_reference, MIDI_CASES, compare=close(rtol=1e-6, atol=1e-6),
                     mistakes=MIDI_MISTAKES)
