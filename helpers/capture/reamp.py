"""The reamp (capture) signal a user plays through their amp or pedal and records back, with its layout.

Layout, in order (full length about 2 min 50 s; ``quick=True`` about 18 s)::

    blips          alignment impulses (irregular spacing) for latency estimation
    gap
    validation_a   guitar take used ONLY for the repeatability check (identical to validation_b)
    gap
    preamble       transients: isolated plucks, palm mutes, single notes in several registers
    sweeps         logarithmic sine sweeps 20 Hz-20 kHz at several levels
    noise_bursts   white and pink noise bursts at several levels
    guitar         guitar phrases (the bulk of the training data)
    test_phrases   different guitar phrases held out for the test split
    gap
    validation_b   the same guitar take again: the validation split
    tail           silence (room for the recording's latency)

Every section has a ``role``: alignment, repeatability, train, test, validation or gap. The
written layout (names and half-open ``[start, end)`` sample ranges) travels with the audio as JSON.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.signal as sps

from helpers.atomic import write_json
from helpers.audio import db_to_gain, save_wav
from helpers.capture import guitar
from helpers.errors import ConfigError

#: Sample rates the generator supports (Hz).
SUPPORTED_RATES = (48_000, 44_100)
#: Amplitude of one alignment blip (single-sample impulse, linear full scale).
BLIP_AMPLITUDE = 0.5
ROLES = ("alignment", "repeatability", "train", "test", "validation", "gap")


@dataclass(frozen=True)
class Section:
    """A named part of the signal: samples ``[start, end)`` with a ``role`` (see module docstring)."""

    name: str
    start: int
    end: int
    role: str
    description: str = ""

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass
class ReampLayout:
    """Section list of a reamp signal; ``blips`` are the alignment impulse positions (samples)."""

    sample_rate: int
    length: int
    sections: list[Section]
    blips: list[int] = field(default_factory=list)
    seed: int = 0
    quick: bool = False
    backend: str = ""

    def section(self, name: str) -> Section:
        """The section called ``name`` (KeyError naming the available ones otherwise)."""
        for s in self.sections:
            if s.name == name:
                return s
        raise KeyError(f"no section {name!r}; sections: {', '.join(s.name for s in self.sections)}")

    def by_role(self, role: str) -> list[Section]:
        return [s for s in self.sections if s.role == role]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sections"] = [asdict(s) for s in self.sections]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReampLayout:
        return cls(
            sample_rate=int(d["sample_rate"]), length=int(d["length"]),
            sections=[Section(**s) for s in d["sections"]], blips=[int(b) for b in d.get("blips", [])],
            seed=int(d.get("seed", 0)), quick=bool(d.get("quick", False)), backend=str(d.get("backend", "")),
        )


@dataclass
class ReampSignal:
    """The capture signal: ``audio`` shape ``(n,)`` float32 at ``layout.sample_rate`` Hz."""

    audio: np.ndarray
    layout: ReampLayout

    @property
    def sample_rate(self) -> int:
        return self.layout.sample_rate


# ------------------------------------------------------------------------------------------ generators
def blips(sample_rate: int, count: int, seed: int = 0) -> tuple[np.ndarray, list[int]]:
    """Silence with ``count`` single-sample impulses at irregular spacing (0.30-0.45 s).

    Irregular spacing keeps the cross-correlation free of strong side peaks. Returns the
    audio and the impulse positions (samples, relative to the start).
    """
    rng = np.random.default_rng(seed + 101)
    lead = int(0.25 * sample_rate)
    gaps = rng.uniform(0.30, 0.45, count)
    positions = lead + np.concatenate([[0], np.cumsum(gaps[:-1])]) * sample_rate
    pos = [int(p) for p in np.round(positions)]
    n = pos[-1] + int(gaps[-1] * sample_rate)
    x = np.zeros(n, dtype=np.float32)
    x[pos] = BLIP_AMPLITUDE
    return x, pos


def log_sweep(sample_rate: int, seconds: float, level_dbfs: float, f_lo: float = 20.0,
              f_hi: float = 20_000.0) -> np.ndarray:
    """Exponential sine sweep ``f_lo``→``f_hi`` Hz at peak ``level_dbfs``, with 10 ms fades."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    x = sps.chirp(t, f0=f_lo, t1=seconds, f1=min(f_hi, 0.45 * sample_rate), method="logarithmic", phi=-90)
    return (_fade(x, sample_rate) * db_to_gain(level_dbfs)).astype(np.float32)


def noise_burst(rng: np.random.Generator, sample_rate: int, seconds: float, level_dbfs: float,
                color: str = "white") -> np.ndarray:
    """White or pink noise burst at RMS ``level_dbfs`` (peak about 10 dB higher), faded in and out."""
    x = rng.standard_normal(int(seconds * sample_rate))
    if color == "pink":  # Kellet's 3-pole pinking filter (-3 dB/octave), a standard approximation
        b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
        a = [1.0, -2.494956002, 2.017265875, -0.522189400]
        x = sps.lfilter(b, a, x)
    x = x / np.sqrt(np.mean(x**2)) * db_to_gain(level_dbfs)
    ceiling = db_to_gain(-1.0)
    return _fade(np.clip(x, -ceiling, ceiling), sample_rate).astype(np.float32)


def _fade(x: np.ndarray, sample_rate: int, seconds: float = 0.01) -> np.ndarray:
    n = min(int(seconds * sample_rate), x.size // 2)
    if n > 0:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n))
        x = x.copy()
        x[:n] *= ramp
        x[-n:] *= ramp[::-1]
    return x


def _silence(sample_rate: int, seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * sample_rate), dtype=np.float32)


# Section durations in seconds: (full, quick).
_DUR = {
    "gap": (0.5, 0.25), "validation": (9.0, 2.0), "preamble": (10.0, 2.0), "sweep": (5.0, 0.75),
    "noise": (1.5, 0.3), "guitar": (100.0, 5.0), "test": (15.0, 2.0), "tail": (0.5, 0.5),
}
_SWEEP_LEVELS = {False: (-24.0, -12.0, -6.0), True: (-18.0, -6.0)}
_NOISE_LEVELS = {False: (-42.0, -30.0, -24.0, -18.0, -12.0), True: (-30.0, -18.0, -12.0)}


def make_reamp_signal(sample_rate: int = 48_000, *, quick: bool = False, seed: int = 0,
                      guitar_backend: guitar.Backend = "auto") -> ReampSignal:
    """Build the reamp signal (float32, peak below 0 dBFS) and its layout.

    Args:
        sample_rate: 48000 (default) or 44100 Hz.
        quick: about 18 s instead of about 2 min 50 s (same sections, shorter).
        seed: fixes the blip spacing, the noise and every guitar phrase.
        guitar_backend: see :func:`helpers.capture.guitar.demo_guitar`.
    """
    if sample_rate not in SUPPORTED_RATES:
        raise ConfigError(f"sample_rate must be one of {SUPPORTED_RATES} Hz, got {sample_rate}; pick one of those")
    k = 1 if quick else 0
    sr = sample_rate
    rng = np.random.default_rng(seed)
    parts: list[tuple[str, str, str, np.ndarray]] = []  # (name, role, description, audio)
    gap = _silence(sr, _DUR["gap"][k])

    blip_audio, blip_pos = blips(sr, 4 if quick else 6, seed)
    parts.append(("blips", "alignment", "single-sample impulses for latency estimation", blip_audio))
    parts.append(("gap_1", "gap", "silence", gap))
    validation_take = guitar.demo_guitar(_DUR["validation"][k], sr, seed + 1, backend=guitar_backend, peak_dbfs=-3.0)
    backend = validation_take.backend
    parts.append(("validation_a", "repeatability", "guitar take, repeated as validation_b", validation_take.audio))
    parts.append(("gap_2", "gap", "silence", gap))

    plucks = guitar.isolated_plucks(np.random.default_rng(seed + 2), 0.05,
                                    count=4 if quick else 20, spacing=_DUR["preamble"][k] / (4 if quick else 20))
    pre, _ = guitar.render(plucks, _DUR["preamble"][k], sr, backend=guitar_backend, seed=seed + 2, peak_dbfs=-3.0)
    parts.append(("preamble", "train", "isolated plucks, palm mutes, single notes across registers", pre))

    sweeps = [np.concatenate([log_sweep(sr, _DUR["sweep"][k], lvl), _silence(sr, 0.1)]) for lvl in _SWEEP_LEVELS[quick]]
    parts.append(("sweeps", "train", f"log sine sweeps at {_SWEEP_LEVELS[quick]} dBFS", np.concatenate(sweeps)))
    bursts = []
    for i, lvl in enumerate(_NOISE_LEVELS[quick]):
        bursts += [noise_burst(rng, sr, _DUR["noise"][k], lvl, "pink" if i % 2 else "white"), _silence(sr, 0.1)]
    parts.append(("noise_bursts", "train", f"white/pink noise at {_NOISE_LEVELS[quick]} dBFS RMS",
                  np.concatenate(bursts)))

    train = guitar.demo_guitar(_DUR["guitar"][k], sr, seed + 3, backend=guitar_backend, peak_dbfs=-1.0)
    parts.append(("guitar", "train", "guitar phrases: lines, power chords, strums, palm mutes", train.audio))
    test = guitar.demo_guitar(_DUR["test"][k], sr, seed + 4, backend=guitar_backend, peak_dbfs=-2.0)
    parts.append(("test_phrases", "test", "different guitar phrases, held out", test.audio))
    parts.append(("gap_3", "gap", "silence", gap))
    parts.append(("validation_b", "validation", "same take as validation_a", validation_take.audio))
    parts.append(("tail", "gap", "silence (room for latency)", _silence(sr, _DUR["tail"][k])))

    sections, pos = [], 0
    for name, role, desc, audio in parts:
        sections.append(Section(name, pos, pos + audio.size, role, desc))
        pos += audio.size
    x = np.concatenate([p[3] for p in parts]).astype(np.float32)
    layout = ReampLayout(sr, int(x.size), sections, blips=[int(b) for b in blip_pos], seed=seed, quick=quick,
                         backend=backend)
    return ReampSignal(x, layout)


def save_reamp(signal: ReampSignal, folder: str | os.PathLike[str], stem: str | None = None) -> tuple[Path, Path]:
    """Write ``<stem>.wav`` (32-bit float) and ``<stem>_layout.json``; returns both paths.

    ``stem`` defaults to ``reamp_48k`` / ``reamp_44k1`` (``_quick`` appended in quick mode).
    """
    sr = signal.sample_rate
    stem = stem or f"reamp_{'48k' if sr == 48_000 else '44k1'}{'_quick' if signal.layout.quick else ''}"
    folder = Path(folder)
    wav = save_wav(folder / f"{stem}.wav", signal.audio, sr)
    layout = write_json(folder / f"{stem}_layout.json", signal.layout.to_dict())
    return wav, layout


def load_layout(path: str | os.PathLike[str]) -> ReampLayout:
    """Read a layout JSON written by :func:`save_reamp`."""
    import json

    return ReampLayout.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
