"""The course finale (notebook 09): a generated folk tune played on the demo DI guitar, dry, through the amp
capture of notebook 02, and through the knob-conditioned model of notebook 05 while its drive knob turns.

What the notebook needs beyond the other modules:

* :func:`knob_sweep` — a knob moving linearly over a clip, one normalised position per sample (the reference of
  ``helpers.checks.finale.check_knob_sweep``);
* :func:`apply_fades` — linear fade-in and fade-out so a clip cut anywhere neither starts nor stops with a click
  (the reference of ``check_apply_fades``);
* :func:`tune_notes` — ABC → MIDI (:mod:`helpers.abc.render`) → the :class:`~helpers.capture.guitar.Note` list the
  demo guitar renderer plays;
* :func:`choose_tune` — the clean tune to play, from a :func:`helpers.abc.validity.judge_many` table;
* :func:`knob_track` — a per-sample knob signal ``(size, samples)`` for a conditioned model, one knob sweeping;
* :func:`capture_device`, :func:`find_checkpoint`, :func:`average_spectrum_db`, :func:`spectral_centroid_hz` — small plumbing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from helpers.capture.guitar import Note
from helpers.errors import ConfigError, DataError
from helpers.paths import checkpoints_dir


# ------------------------------------------------------------------------------------------ the two exercises
def knob_sweep(n_samples: int, start: float, end: float, minimum: float = 0.0, maximum: float = 10.0) -> np.ndarray:
    """``(n_samples,)`` float32: a knob moving linearly from ``start`` (first sample) to exactly ``end`` (last
    sample), both in the knob's unit, each position normalised to ``[0, 1]`` by the knob's range:
    ``(value − minimum) / (maximum − minimum)``. One sample gives ``[start]`` normalised."""
    if n_samples < 1:
        raise ConfigError(f"n_samples must be at least 1, got {n_samples}")
    if maximum <= minimum:
        raise ConfigError(f"the knob's maximum ({maximum}) must be above its minimum ({minimum})")
    values = np.linspace(start, end, int(n_samples), dtype=np.float64)
    return ((values - minimum) / (maximum - minimum)).astype(np.float32)


def fade_samples(fade_ms: float, sample_rate: int) -> int:
    """A fade of ``fade_ms`` milliseconds as a whole number of samples at ``sample_rate`` Hz (rounded)."""
    return round(fade_ms * sample_rate / 1000)


def apply_fades(x: np.ndarray, fade_ms: float, sample_rate: int) -> np.ndarray:
    """A float32 copy of ``x`` ``(samples,)`` with a linear fade-in over its first ``n`` samples and a fade-out over
    its last ``n``, ``n = round(fade_ms · sample_rate / 1000)``: the gain ramp is ``np.linspace(0, 1, n)`` at the
    start and the same ramp reversed at the end, so the first and last samples are exactly 0. ``n = 0`` leaves the
    signal as it is; fades longer than half the signal are refused."""
    y = np.array(x, dtype=np.float32)  # a copy: the caller's array is left alone
    n = fade_samples(fade_ms, sample_rate)
    if n < 0 or 2 * n > len(y):
        raise ConfigError(f"fades of {fade_ms} ms ({n} samples each) do not fit in a {len(y)}-sample signal; "
                          "use shorter fades (at most half the signal each)")
    if n > 0:
        ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
        y[:n] *= ramp
        y[len(y) - n:] *= ramp[::-1]  # not y[-n:]: with n = 0 that would be the whole signal
    return y


# ------------------------------------------------------------------------------------------ the tune
def tune_notes(tune: str, seconds: float, *, transpose: int = 0, use_abc2midi: bool | None = None) -> list[Note]:
    """The notes of an ABC tune that start in its first ``seconds`` (ends cut there), as the demo guitar's
    :class:`~helpers.capture.guitar.Note` list, sorted by start; pitches moved by ``transpose`` semitones.

    The MIDI comes from :func:`helpers.abc.render.tune_to_midi` (``abc2midi`` when installed, else the course's
    Python reader). :class:`DataError` when no note starts in time."""
    from helpers.abc.render import tune_to_midi

    if seconds <= 0:
        raise ConfigError(f"seconds must be positive, got {seconds}")
    pm = tune_to_midi(tune, use_abc2midi=use_abc2midi)
    notes = [Note(int(np.clip(n.pitch + transpose, 0, 127)), float(n.start), float(min(n.end, seconds)),
                  int(np.clip(n.velocity, 1, 127)))
             for inst in pm.instruments if not inst.is_drum for n in inst.notes if n.start < seconds and n.end > n.start]
    if not notes:
        raise DataError(f"the tune has no note in its first {seconds} s; pick another tune or a longer clip")
    return sorted(notes, key=lambda n: (n.start, n.pitch))


def choose_tune(table: Any, min_notes: int = 8) -> int | None:
    """The row of a :func:`helpers.abc.validity.judge_many` table to play: a **clean** tune (no syntax error, no
    bar of the wrong length) with a complete header and at least ``min_notes`` notes; among those, the one with
    the most notes in key, then the most notes. ``None`` when no tune qualifies."""
    best: tuple[float, int] | None = None
    choice = None
    for i, row in enumerate(table.to_dict("records")):
        if not (row["clean"] and row["header_complete"] and row["notes"] >= min_notes):
            continue
        rank = (float(row["in_key"]), int(row["notes"]))
        if best is None or rank > best:
            best, choice = rank, i
    return choice


# ------------------------------------------------------------------------------------------ the knob model
def knob_track(encoding: Any, knob: str, positions: np.ndarray) -> np.ndarray:
    """A conditioned model's knob input ``(encoding.size, samples)`` float32: ``knob`` follows ``positions``
    (normalised 0-1, one per sample), every other knob stays at its default.

    ``values`` encoding: the knob's row is ``positions``. ``onehot`` encoding: the knob is marked as the one moved
    and its level follows ``positions``."""
    pos = np.asarray(positions, dtype=np.float32)
    names = list(encoding.space.names)
    if knob not in names:
        raise ConfigError(f"the model has no {knob!r} knob; its knobs are {names}")
    if pos.ndim != 1 or len(pos) == 0:
        raise ConfigError(f"positions must be a non-empty 1-D array (one per sample), got shape {pos.shape}")
    i = names.index(knob)
    if encoding.name == "values":
        track = np.repeat(encoding.encode(encoding.space.defaults())[:, None], len(pos), axis=1)
        track[i] = pos
    elif encoding.name == "onehot":
        track = np.zeros((encoding.size, len(pos)), dtype=np.float32)
        track[i] = 1.0
        track[-1] = pos
    else:
        raise ConfigError(f"unknown knob encoding {encoding.name!r}")
    return track.astype(np.float32)


def capture_device(payload: Mapping[str, Any]) -> tuple[str, dict[str, float]] | None:
    """The virtual device ``(name, knob settings)`` an amp checkpoint's capture was made from, read from the capture
    manifest the checkpoint names; ``None`` for a real recording or when the manifest is not on this machine."""
    path = payload.get("manifest")
    if not path or not Path(path).is_file():
        return None
    try:
        device = json.loads(Path(path).read_text(encoding="utf-8")).get("device") or {}
    except (OSError, ValueError):
        return None
    if not device.get("virtual") or not device.get("name"):
        return None
    return str(device["name"]), {str(k): float(v) for k, v in (device.get("knobs") or {}).items()}


def find_checkpoint(run_names: Iterable[str]) -> Path | None:
    """``checkpoints/<run>/best.pt`` of the first run in ``run_names`` that has one, else ``None``."""
    for name in run_names:
        path = checkpoints_dir(name, "best.pt")
        if path.is_file():
            return path
    return None


# ------------------------------------------------------------------------------------------ measuring
def average_spectrum_db(x: np.ndarray, sample_rate: int, nperseg: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Welch's average power spectrum of ``x``: ``(frequencies in Hz, power in dB)`` (10·log10 of the power
    spectral density, floored at −200 dB so silence stays finite)."""
    import scipy.signal as sps

    x = np.asarray(x, dtype=np.float64)
    freqs, psd = sps.welch(x, fs=sample_rate, nperseg=min(nperseg, len(x)))
    return freqs, 10.0 * np.log10(np.maximum(psd, 1e-20))


def spectral_centroid_hz(x: np.ndarray, sample_rate: int) -> float:
    """The power-weighted mean frequency of ``x``'s average spectrum (Hz): a brightness measure (0 for silence)."""
    freqs, db = average_spectrum_db(x, sample_rate)
    power = 10.0 ** (db / 10.0)
    power[db <= -200.0] = 0.0
    total = float(power.sum())
    return float((freqs * power).sum() / total) if total > 0 else 0.0

