"""A demo DI guitar performance, made offline: MIDI phrases rendered with a sampled-guitar SoundFont.

The phrases (single-note lines in several registers, power chords, strummed open chords, palm
mutes, varied velocities) are composed as :class:`Note` lists, turned into a ``pretty_midi``
object and rendered with ``tinysoundfont`` playing the General MIDI SoundFont that ships inside
the ``pretty_midi`` wheel (``TimGM6mb.sf2``: program 27 "Electric Guitar (clean)", 28 "(muted)").
When that renderer is missing, or ``NAL_NO_SYSTEM_TOOLS=1`` is set, or ``backend="karplus_strong"``
is asked for, an extended Karplus-Strong plucked-string synth (pure NumPy/SciPy) plays the same notes.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.signal as sps

from helpers.audio import normalize_peak
from helpers.capture.devices import peaking_sos
from helpers.errors import ConfigError, ToolError
from helpers.runtime import NO_TOOLS_ENV
from helpers.soundfont import soundfont_path

Backend = Literal["auto", "soundfont", "karplus_strong"]

#: General MIDI programs (0-based) used for the DI guitar.
PROGRAM_CLEAN = 27
PROGRAM_MUTED = 28

#: Open-chord voicings (MIDI pitches, low string first).
OPEN_CHORDS: dict[str, tuple[int, ...]] = {
    "E": (40, 47, 52, 56, 59, 64),
    "A": (45, 52, 57, 61, 64),
    "D": (50, 57, 62, 66),
    "G": (43, 47, 50, 55, 59, 67),
    "C": (48, 52, 55, 60, 64),
    "Em": (40, 47, 52, 55, 59, 64),
    "Am": (45, 52, 57, 60, 64),
}
#: Minor-pentatonic scale degrees (semitones).
PENTATONIC = (0, 3, 5, 7, 10)
#: Lowest MIDI pitch of each register used for single-note lines.
REGISTERS = {"low": 40, "mid": 52, "high": 64}


class GuitarRenderError(ToolError):
    """The SoundFont renderer was asked for but cannot run here."""


@dataclass(frozen=True)
class Note:
    """One played note: MIDI ``pitch``, ``start``/``end`` in seconds, MIDI ``velocity`` (1-127)."""

    pitch: int
    start: float
    end: float
    velocity: int
    muted: bool = False


@dataclass
class GuitarTake:
    """A rendered performance: ``audio`` shape ``(n,)`` float32 at ``sample_rate`` Hz."""

    audio: np.ndarray
    sample_rate: int
    backend: str
    notes: list[Note]
    phrases: list[tuple[str, float, float]] = field(default_factory=list)  # (kind, start s, end s)


# --------------------------------------------------------------------------------------------- phrases
def _velocity(rng: np.random.Generator, base: int, spread: int = 18) -> int:
    return int(np.clip(base + rng.integers(-spread, spread + 1), 20, 127))


def single_note_line(rng: np.random.Generator, start: float, register: str = "mid", bars: int = 1,
                     tempo: float = 110.0) -> list[Note]:
    """Eighth/sixteenth-note pentatonic line in ``register`` ("low", "mid", "high")."""
    beat = 60.0 / tempo
    root = REGISTERS[register] + int(rng.choice([0, 5, 7]))
    scale = [root + d + 12 * o for o in (0, 1) for d in PENTATONIC]
    notes, t, idx = [], start, int(rng.integers(0, 4))
    while t < start + 4 * beat * bars - 1e-9:
        step = beat / 2 if rng.random() < 0.65 else beat / 4
        idx = int(np.clip(idx + rng.choice([-2, -1, 1, 1, 2]), 0, len(scale) - 1))
        legato = rng.uniform(0.7, 1.1)
        notes.append(Note(scale[idx], t, t + step * legato, _velocity(rng, 85, 30)))
        t += step
    return notes


def power_chords(rng: np.random.Generator, start: float, bars: int = 1, tempo: float = 120.0) -> list[Note]:
    """Root-fifth-octave power chords, eighth notes and held hits."""
    beat = 60.0 / tempo
    notes, t = [], start
    while t < start + 4 * beat * bars - 1e-9:
        root = int(rng.choice([40, 43, 45, 47, 50]))
        hold = beat * float(rng.choice([0.5, 0.5, 1.0, 2.0]))
        vel = _velocity(rng, 100, 20)
        for k, interval in enumerate((0, 7, 12)):
            notes.append(Note(root + interval, t + 0.004 * k, t + hold * 0.95, vel))
        t += hold
    return notes


def strummed_chords(rng: np.random.Generator, start: float, bars: int = 1, tempo: float = 100.0) -> list[Note]:
    """Open chords strummed down and up (strings 6-20 ms apart), one chord per bar."""
    beat = 60.0 / tempo
    notes: list[Note] = []
    for bar in range(bars):
        voicing = OPEN_CHORDS[str(rng.choice(list(OPEN_CHORDS)))]
        bar_start = start + 4 * beat * bar
        pattern = [(0.0, "down"), (1.0, "down"), (1.5, "up"), (2.5, "up"), (3.0, "down"), (3.5, "up"), (4.0, "")]
        for (pos, direction), (next_pos, _) in itertools.pairwise(pattern):
            t0, t1 = bar_start + pos * beat, bar_start + next_pos * beat
            strings = voicing if direction == "down" else voicing[::-1][: max(3, len(voicing) - 2)]
            gap = float(rng.uniform(0.006, 0.02))
            vel = _velocity(rng, 92 if direction == "down" else 70, 15)
            for k, pitch in enumerate(strings):
                notes.append(Note(pitch, t0 + k * gap, t1 + 0.02, int(np.clip(vel - 2 * k, 20, 127))))
    return notes


def palm_mutes(rng: np.random.Generator, start: float, bars: int = 1, tempo: float = 130.0) -> list[Note]:
    """Palm-muted chugs on the low strings (short, damped notes), with accented open hits."""
    beat = 60.0 / tempo
    notes, t = [], start
    root = int(rng.choice([40, 45]))
    while t < start + 4 * beat * bars - 1e-9:
        step = beat / 2 if rng.random() < 0.6 else beat / 4
        accent = rng.random() < 0.15
        vel = _velocity(rng, 110 if accent else 85, 15)
        for interval in (0, 7) if accent else (0,):
            notes.append(Note(root + interval, t, t + (step * 0.9 if accent else 0.09), vel, muted=not accent))
        t += step
    return notes


def isolated_plucks(rng: np.random.Generator, start: float, count: int = 6, spacing: float = 0.45) -> list[Note]:
    """Single plucked notes across registers, each left to ring on its own (transient preamble)."""
    notes = []
    for i in range(count):
        register = ("low", "mid", "high")[i % 3]
        pitch = REGISTERS[register] + int(rng.integers(0, 12))
        muted = i % 4 == 3
        notes.append(Note(pitch, start + i * spacing, start + i * spacing + (0.08 if muted else spacing * 0.9),
                          int(rng.integers(40, 127)), muted=muted))
    return notes


PHRASE_KINDS = ("single_low", "single_mid", "single_high", "power_chords", "strummed_chords", "palm_mutes")


def compose(duration_s: float, seed: int = 0) -> tuple[list[Note], list[tuple[str, float, float]]]:
    """Fill ``duration_s`` seconds with phrases cycling through every kind (order shuffled by ``seed``).

    Returns the notes and the phrase list ``(kind, start s, end s)``. Notes ending after
    ``duration_s`` are cut there; the renderer adds the ring-out inside the duration.
    """
    rng = np.random.default_rng(seed)
    notes: list[Note] = []
    phrases: list[tuple[str, float, float]] = []
    t = 0.0
    order = list(rng.permutation(PHRASE_KINDS))
    i = 0
    while t < duration_s - 0.5:
        kind = str(order[i % len(order)])
        i += 1
        if kind.startswith("single_"):
            new = single_note_line(rng, t, kind.split("_")[1], bars=1)
        elif kind == "power_chords":
            new = power_chords(rng, t, bars=1)
        elif kind == "strummed_chords":
            new = strummed_chords(rng, t, bars=1)
        else:
            new = palm_mutes(rng, t, bars=1)
        end = max(n.end for n in new)
        kept = [Note(n.pitch, n.start, min(n.end, duration_s - 0.05), n.velocity, n.muted)
                for n in new if n.start < duration_s - 0.1]
        notes.extend(kept)
        phrases.append((kind, t, min(end, duration_s)))
        t = end + float(rng.uniform(0.1, 0.35))
    return notes, phrases


def to_pretty_midi(notes: list[Note]):
    """The notes as a ``pretty_midi.PrettyMIDI`` (clean notes on program 27, muted ones on 28)."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    for program, muted in ((PROGRAM_CLEAN, False), (PROGRAM_MUTED, True)):
        inst = pretty_midi.Instrument(program=program, name="muted guitar" if muted else "clean guitar")
        inst.notes = [pretty_midi.Note(velocity=n.velocity, pitch=n.pitch, start=n.start, end=n.end)
                      for n in notes if n.muted == muted]
        pm.instruments.append(inst)
    return pm


# --------------------------------------------------------------------------------------------- backends
def soundfont_available() -> bool:
    """True when tinysoundfont and the SoundFont are installed and ``NAL_NO_SYSTEM_TOOLS`` is unset."""
    if os.environ.get(NO_TOOLS_ENV, "0") not in ("", "0", "false", "False"):
        return False
    try:
        import tinysoundfont  # noqa: F401
    except ImportError:
        return False
    return soundfont_path() is not None


def choose_backend(backend: Backend = "auto") -> str:
    """Resolve ``"auto"`` to ``"soundfont"`` when available, else ``"karplus_strong"``."""
    if backend == "auto":
        return "soundfont" if soundfont_available() else "karplus_strong"
    if backend not in ("soundfont", "karplus_strong"):
        raise ConfigError(f"backend must be 'auto', 'soundfont' or 'karplus_strong', not {backend!r}")
    return backend


def render_soundfont(notes: list[Note], duration_s: float, sample_rate: int) -> np.ndarray:
    """Render ``notes`` with tinysoundfont + TimGM6mb.sf2; returns shape ``(round(duration_s*sr),)`` float32."""
    try:
        import tinysoundfont
    except ImportError as exc:
        raise GuitarRenderError("tinysoundfont is not installed: pip install tinysoundfont") from exc
    sf2 = soundfont_path()
    if sf2 is None:
        raise GuitarRenderError("pretty_midi's TimGM6mb.sf2 was not found; reinstall pretty_midi")
    pm = to_pretty_midi(notes)
    synth = tinysoundfont.Synth(samplerate=sample_rate, gain=-6.0)
    sfid = synth.sfload(str(sf2))
    events: list[tuple[int, int, int, int, int]] = []  # (sample, order, channel, pitch, velocity)
    for chan, inst in enumerate(pm.instruments):
        synth.program_select(chan, sfid, 0, inst.program)  # without it the channel renders silence
        for n in inst.notes:
            events.append((round(n.start * sample_rate), 1, chan, n.pitch, n.velocity))
            events.append((round(n.end * sample_rate), 0, chan, n.pitch, 0))
    events.sort()
    total = round(duration_s * sample_rate)
    out = np.zeros((total, 2), dtype=np.float32)
    pos = 0
    for sample, _, chan, pitch, velocity in [*events, (total, 0, -1, 0, 0)]:
        sample = min(sample, total)
        if sample > pos:
            buf = synth.generate(sample - pos)
            out[pos:sample] = np.frombuffer(buf, dtype=np.float32).reshape(-1, 2)[: sample - pos]
            pos = sample
        if chan < 0:
            break
        if velocity > 0:
            synth.noteon(chan, pitch, velocity)
        else:
            synth.noteoff(chan, pitch)
    return out.mean(axis=1).astype(np.float32)


def _karplus_strong_note(note: Note, sample_rate: int, rng: np.random.Generator, length: int) -> np.ndarray:
    # Extended Karplus-Strong (Jaffe & Smith 1983) written out: no maintained Python library offers it.
    f0 = 440.0 * 2.0 ** ((note.pitch - 69) / 12.0)
    period = sample_rate / f0
    damping = 0.5 if not note.muted else 0.85  # loop low-pass weight S: higher is darker
    n_int = int(np.floor(period - damping - 0.1))
    frac = period - n_int - damping  # allpass fractional delay in [0.1, 1.1)
    c = (1.0 - frac) / (1.0 + frac)
    t60 = (0.12 if note.muted else float(np.clip(6.0 * 110.0 / f0, 0.8, 6.0)))
    rho = 10.0 ** (-3.0 / (t60 * f0))  # loop gain giving a T60 decay
    # Excitation: a noise burst, darker for soft notes (pick dynamics), with a pick-position comb.
    exc = rng.uniform(-1.0, 1.0, n_int + 1)
    vel = note.velocity / 127.0
    pole = 0.85 - 0.6 * vel
    exc = sps.lfilter([1.0 - pole], [1.0, -pole], exc)
    pick = max(1, round(0.13 * n_int))
    exc = exc - np.concatenate([np.zeros(pick), exc[:-pick]])
    drive = np.zeros(length)
    drive[: exc.size] = exc * vel
    # Loop H(z) = Ha / (1 - rho * Hd * Ha * z^-N) with Hd = (1-S) + S z^-1, Ha = (c + z^-1) / (1 + c z^-1).
    b = np.array([c, 1.0])
    a = np.zeros(n_int + 3)
    a[0], a[1] = 1.0, c
    a[n_int:n_int + 3] -= rho * np.convolve([1.0 - damping, damping], [c, 1.0])
    y = sps.lfilter(b, a, drive)
    # Release: the fretting hand damps the string over 40 ms after the note ends.
    off = int((note.end - note.start) * sample_rate)
    if off < length:
        rel = np.exp(-np.arange(length - off) / (0.04 * sample_rate / 6.9))
        y[off:] *= rel
    return y


def render_karplus_strong(notes: list[Note], duration_s: float, sample_rate: int, seed: int = 0) -> np.ndarray:
    """Render ``notes`` with the extended Karplus-Strong synth; shape ``(round(duration_s*sr),)`` float32."""
    rng = np.random.default_rng(seed)
    total = round(duration_s * sample_rate)
    out = np.zeros(total)
    for note in sorted(notes, key=lambda n: (n.start, n.pitch)):
        start = round(note.start * sample_rate)
        if start >= total:
            continue
        length = min(total - start, round((note.end - note.start + 0.3) * sample_rate))
        out[start:start + length] += _karplus_strong_note(note, sample_rate, rng, length)
    # Magnetic pickup: a resonance near 3.5 kHz and a gentle roll-off above it.
    sos = np.vstack([
        peaking_sos(3500.0, 4.0, 1.2, sample_rate),
        sps.butter(2, 6000.0, btype="low", fs=sample_rate, output="sos"),
    ])
    return sps.sosfilt(sos, out).astype(np.float32)




def render(notes: list[Note], duration_s: float, sample_rate: int = 48_000, *, backend: Backend = "auto",
           seed: int = 0, peak_dbfs: float = -6.0) -> tuple[np.ndarray, str]:
    """Render notes with the chosen backend and set the peak to ``peak_dbfs``; returns ``(audio, backend)``."""
    chosen = choose_backend(backend)
    if chosen == "soundfont":
        y = render_soundfont(notes, duration_s, sample_rate)
    else:
        y = render_karplus_strong(notes, duration_s, sample_rate, seed=seed)
    return normalize_peak(y.astype(np.float32), peak_dbfs), chosen


def demo_guitar(duration_s: float, sample_rate: int = 48_000, seed: int = 0, *, backend: Backend = "auto",
                peak_dbfs: float = -6.0) -> GuitarTake:
    """A DI guitar performance ``duration_s`` seconds long (phrases of every kind, varied velocities).

    ``backend``: ``"auto"`` (SoundFont when available, else Karplus-Strong), ``"soundfont"`` or
    ``"karplus_strong"``. The same ``seed`` gives the same notes and the same audio.
    """
    if duration_s <= 0:
        raise ConfigError(f"duration_s must be positive, got {duration_s}; ask for a length in seconds, e.g. 30")
    notes, phrases = compose(duration_s, seed)
    audio, chosen = render(notes, duration_s, sample_rate, backend=backend, seed=seed, peak_dbfs=peak_dbfs)
    return GuitarTake(audio, sample_rate, chosen, notes, phrases)
