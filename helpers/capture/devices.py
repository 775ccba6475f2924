"""Virtual devices that stand in for real hardware: deterministic amps and pedals built on pedalboard.

Each :class:`VirtualDevice` has named knobs with documented ranges and processes mono float32
audio with memory (filters, compressors, a cabinet convolution), not only a static curve. They add
no latency: every stage is causal with an immediate response (the first output sample of an
impulse is non-zero), so a recording's latency is exactly the delay added around the device.

Devices (knobs: range, default):

* ``edge_of_breakup`` — a clean-ish compressed amp on the edge of breakup.
  drive 0-10 (5), compression 0-10 (4), tone 0-10 (5), level -24..+12 dB (0).
* ``overdrive`` — a mid-humped overdrive pedal (soft clipping of the high-passed signal, mixed
  with the clean signal, then a low-pass tone control). drive 0-10 (5), tone 0-10 (5), level -24..+12 dB (0).
* ``high_gain`` — a two-stage high-gain amp with a tone stack, power-amp sag and a 4x12-style
  cabinet impulse response. gain 0-10 (6), bass/mid/treble 0-10 (5), master -24..+12 dB (0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pedalboard as pb
import scipy.signal as sps

from helpers.errors import AudioError, ConfigError


class KnobRangeError(ConfigError):
    """A knob value outside its documented range, or an unknown knob name."""


class UnknownDeviceError(ConfigError, KeyError):
    """No virtual device of that name (also a ``KeyError``, as a dictionary lookup would raise)."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Knob:
    """A device control: ``minimum``..``maximum`` in ``unit``, ``default`` value."""

    name: str
    minimum: float
    maximum: float
    default: float
    unit: str
    description: str


@dataclass
class VirtualDevice:
    """A named virtual amp/pedal: ``process(x, sample_rate, **knobs)`` → same-length float32 output."""

    name: str
    description: str
    knobs: dict[str, Knob]
    tone_type: str
    _render: Callable[[np.ndarray, int, dict[str, float]], np.ndarray] = field(repr=False)

    def defaults(self) -> dict[str, float]:
        """Every knob at its default value."""
        return {k.name: k.default for k in self.knobs.values()}

    def settings(self, **knob_values: float) -> dict[str, float]:
        """Defaults overridden by ``knob_values``; raises :class:`KnobRangeError` for bad names/values."""
        values = self.defaults()
        for name, value in knob_values.items():
            if name not in self.knobs:
                raise KnobRangeError(f"{self.name} has no knob {name!r}; knobs: {', '.join(self.knobs)}")
            knob = self.knobs[name]
            v = float(value)
            if not (knob.minimum <= v <= knob.maximum) or not np.isfinite(v):
                raise KnobRangeError(
                    f"{self.name}.{name} = {value} is out of range: use {knob.minimum:g} to {knob.maximum:g} {knob.unit}"
                )
            values[name] = v
        return values

    def process(self, x: np.ndarray, sample_rate: int, **knob_values: float) -> np.ndarray:
        """Run ``x`` (shape ``(n,)``, float, full scale 1.0) through the device at ``sample_rate`` Hz.

        Deterministic (same input and knobs → same output), no latency added, output shape ``(n,)`` float32.
        Knobs not given keep their defaults; a value out of range raises :class:`KnobRangeError`.
        """
        values = self.settings(**knob_values)
        arr = np.asarray(x, dtype=np.float32)
        if arr.ndim != 1:
            raise AudioError(f"{self.name}: expected mono audio of shape (n,), got {arr.shape}; mix or pick one channel")
        if sample_rate < 22_050:
            raise ConfigError(f"{self.name}: sample_rate {sample_rate} Hz is too low; use 44100 or 48000 Hz")
        if arr.size == 0:
            return arr.copy()
        y = self._render(np.ascontiguousarray(arr), int(sample_rate), values)
        return np.ascontiguousarray(y, dtype=np.float32)

    def __call__(self, x: np.ndarray, sample_rate: int, **knob_values: float) -> np.ndarray:
        return self.process(x, sample_rate, **knob_values)


# ------------------------------------------------------------------------------------------ building blocks
def asymmetric_clip(x: np.ndarray, bias: float) -> np.ndarray:
    """Soft clipper ``tanh(x + bias) - tanh(bias)``: asymmetric, so it adds even harmonics (tube-like)."""
    return (np.tanh(x + bias) - np.tanh(bias)).astype(np.float32)


def _db(knob: float, lo: float, hi: float) -> float:
    """Map a 0-10 knob linearly onto ``lo``..``hi`` (dB)."""
    return lo + (hi - lo) * knob / 10.0


def _log_freq(knob: float, lo: float, hi: float) -> float:
    """Map a 0-10 knob logarithmically onto ``lo``..``hi`` Hz."""
    return float(lo * (hi / lo) ** (knob / 10.0))


_CAB_CACHE: dict[int, np.ndarray] = {}


def cabinet_ir(sample_rate: int, length_s: float = 0.04) -> np.ndarray:
    """A deterministic synthetic 4x12-style cabinet impulse response (float32, minimum phase).

    Made from biquads (80 Hz high-pass, 110 Hz resonance, 400 Hz scoop, 2.5 kHz presence,
    5.5 kHz low-pass), so its energy sits at the start and its first sample is non-zero.
    """
    if sample_rate not in _CAB_CACHE:
        sr = sample_rate
        sos = np.vstack([
            sps.butter(2, 80.0, btype="high", fs=sr, output="sos"),
            peaking_sos(110.0, 5.0, 1.4, sr), peaking_sos(400.0, -4.0, 1.0, sr), peaking_sos(2500.0, 5.0, 1.5, sr),
            sps.butter(2, 5500.0, btype="low", fs=sr, output="sos"),
        ])
        n = int(length_s * sr)
        impulse = np.zeros(n)
        impulse[0] = 1.0
        ir = sps.sosfilt(sos, impulse)
        ir *= np.hanning(2 * n)[n:]  # fade out the tail so the truncation does not click
        _CAB_CACHE[sample_rate] = ir.astype(np.float32)
    return _CAB_CACHE[sample_rate]


def peaking_sos(freq: float, gain_db: float, q: float, sample_rate: int) -> np.ndarray:
    """RBJ peaking-EQ biquad (centre ``freq`` Hz, ``gain_db`` dB) as one SOS row, shape (1, 6)."""
    # Written by hand: scipy has no designer for a peaking biquad.
    a_lin = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * np.pi * freq / sample_rate
    alpha = np.sin(w0) / (2.0 * q)
    b = np.array([1 + alpha * a_lin, -2 * np.cos(w0), 1 - alpha * a_lin])
    a = np.array([1 + alpha / a_lin, -2 * np.cos(w0), 1 - alpha / a_lin])
    return np.concatenate([b / a[0], a / a[0]])[None, :]


# ------------------------------------------------------------------------------------------ devices
def _edge_of_breakup(x: np.ndarray, sr: int, k: dict[str, float]) -> np.ndarray:
    comp = k["compression"]
    pre = pb.Pedalboard([
        pb.HighpassFilter(70.0),
        pb.Compressor(threshold_db=-6.0 - 3.0 * comp, ratio=1.0 + 0.5 * comp, attack_ms=8.0, release_ms=120.0),
        pb.Gain(_db(k["drive"], 0.0, 24.0)),
    ])
    u = asymmetric_clip(pre(x, sr), 0.15)
    tilt = (k["tone"] - 5.0) * 1.6
    post = pb.Pedalboard([
        pb.HighpassFilter(30.0),  # output coupling capacitor: blocks the clipper's DC
        pb.LowShelfFilter(250.0, -0.5 * tilt, 0.7),
        pb.HighShelfFilter(2500.0, tilt, 0.7),
        pb.LowpassFilter(7000.0),
        pb.Gain(k["level"] - 3.0),
    ])
    return post(u, sr)


def _overdrive(x: np.ndarray, sr: int, k: dict[str, float]) -> np.ndarray:
    hp = pb.Pedalboard([pb.HighpassFilter(600.0), pb.Gain(_db(k["drive"], 6.0, 42.0))])(x, sr)
    clipped = pb.LowpassFilter(5000.0)(np.tanh(hp).astype(np.float32), sr)  # clipping diodes in the feedback path
    mix = (0.6 * x + 0.5 * clipped).astype(np.float32)
    post = pb.Pedalboard([
        pb.LowpassFilter(_log_freq(k["tone"], 700.0, 12_000.0)),
        pb.PeakFilter(900.0, 3.0, 0.8),
        pb.HighpassFilter(20.0),  # output coupling capacitor: blocks the clipping's DC
        pb.Gain(k["level"] - 5.0),
    ])
    return post(mix, sr)


def _high_gain(x: np.ndarray, sr: int, k: dict[str, float]) -> np.ndarray:
    stage1 = pb.Pedalboard([
        pb.HighpassFilter(120.0),
        pb.PeakFilter(800.0, 6.0, 0.7),
        pb.Gain(_db(k["gain"], 18.0, 48.0)),
    ])(x, sr)
    u = asymmetric_clip(stage1, 0.3)
    stage2 = pb.Pedalboard([
        pb.HighpassFilter(250.0),  # interstage coupling capacitor
        pb.Gain(12.0),
        pb.Distortion(6.0),
        pb.LowShelfFilter(120.0, _db(k["bass"], -9.0, 9.0), 0.7),
        pb.PeakFilter(650.0, _db(k["mid"], -12.0, 12.0), 0.8),
        pb.HighShelfFilter(3200.0, _db(k["treble"], -9.0, 9.0), 0.7),
        pb.Compressor(threshold_db=-14.0, ratio=2.0, attack_ms=2.0, release_ms=60.0),  # power-amp sag
        pb.Convolution(cabinet_ir(sr), sample_rate=sr),
        pb.Gain(k["master"] + 9.0),
    ])
    return stage2(u, sr)


def _level(name: str, description: str) -> Knob:
    return Knob(name, -24.0, 12.0, 0.0, "dB", description)


def _knob(name: str, default: float, description: str) -> Knob:
    return Knob(name, 0.0, 10.0, default, "dial", description)


DEVICES: dict[str, VirtualDevice] = {
    "edge_of_breakup": VirtualDevice(
        "edge_of_breakup",
        "Clean-ish amp on the edge of breakup: compressor, asymmetric soft clipping, tilt tone, speaker roll-off.",
        {
            "drive": _knob("drive", 5.0, "preamp gain: 0 → +0 dB (clean), 10 → +24 dB (crunchy)"),
            "compression": _knob("compression", 4.0, "threshold -6 → -36 dB, ratio 1:1 → 6:1"),
            "tone": _knob("tone", 5.0, "tilt: 0 dark (-8 dB treble), 5 flat, 10 bright (+8 dB treble)"),
            "level": _level("level", "output level"),
        },
        "crunch",
        _edge_of_breakup,
    ),
    "overdrive": VirtualDevice(
        "overdrive",
        "Mid-humped overdrive pedal: high-passed soft clipping mixed with the clean signal, low-pass tone.",
        {
            "drive": _knob("drive", 5.0, "clipping gain: 0 → +6 dB, 10 → +42 dB"),
            "tone": _knob("tone", 5.0, "low-pass cutoff: 0 → 700 Hz, 10 → 12 kHz (logarithmic)"),
            "level": _level("level", "output level"),
        },
        "overdrive",
        _overdrive,
    ),
    "high_gain": VirtualDevice(
        "high_gain",
        "Two-stage high-gain amp with bass/mid/treble tone stack, power-amp sag and a cabinet IR.",
        {
            "gain": _knob("gain", 6.0, "preamp gain: 0 → +18 dB, 10 → +48 dB"),
            "bass": _knob("bass", 5.0, "120 Hz shelf: 0 → -9 dB, 10 → +9 dB"),
            "mid": _knob("mid", 5.0, "650 Hz peak: 0 → -12 dB, 10 → +12 dB"),
            "treble": _knob("treble", 5.0, "3.2 kHz shelf: 0 → -9 dB, 10 → +9 dB"),
            "master": _level("master", "output level"),
        },
        "hi_gain",
        _high_gain,
    ),
}


def get_device(name: str) -> VirtualDevice:
    """The virtual device called ``name`` (:class:`UnknownDeviceError`, a KeyError, lists the available names)."""
    try:
        return DEVICES[name]
    except KeyError:
        raise UnknownDeviceError(f"no virtual device {name!r}; available: {', '.join(DEVICES)}") from None
