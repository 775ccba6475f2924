"""How a knob setting becomes the vector a conditioned model reads at every time step.

* ``"values"`` — one value per knob, normalised to ``[0, 1]`` (what GuitarML's knob-aware LSTMs
  take): size ``k``. Works for any setting.
* ``"onehot"`` — the knob *type* as a one-hot over the ``k`` knobs plus its *level* in ``[0, 1]``:
  size ``k + 1``. It describes the simple form of a recording (one knob moved from its default);
  the all-default setting is the zero type vector with the level at 0. A setting that moves two
  knobs cannot be written this way (:class:`KnobEncodingError` says to use ``"values"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from helpers.knobs.space import KnobError, KnobSpace

ENCODINGS = ("values", "onehot")


class KnobEncodingError(KnobError):
    """A setting the chosen encoding cannot express, or an unknown encoding name."""


@dataclass(frozen=True)
class KnobEncoding:
    """``encode(setting)`` → ``(size,)`` float32; ``name`` is ``values`` or ``onehot``."""

    name: str
    space: KnobSpace

    def __post_init__(self) -> None:
        if self.name not in ENCODINGS:
            raise KnobEncodingError(f"unknown knob encoding {self.name!r}; choose one of {ENCODINGS}")

    @property
    def size(self) -> int:
        """Length of the conditioning vector."""
        return len(self.space) + (1 if self.name == "onehot" else 0)

    def encode(self, setting: Mapping[str, float]) -> np.ndarray:
        """A full setting (every knob; checked for names and ranges) → ``(size,)`` float32."""
        values = self.space.normalize(setting)
        if self.name == "values":
            return values
        s = self.space.check(setting)
        moved = [i for i, k in enumerate(self.space.knobs) if s[k.name] != k.default]
        if len(moved) > 1:
            names = [self.space.knobs[i].name for i in moved]
            raise KnobEncodingError(f"the one-hot encoding describes one knob moved from its default, but "
                                    f"{names} all differ from their defaults; use the 'values' encoding")
        vec = np.zeros(self.size, dtype=np.float32)
        if moved:
            vec[moved[0]] = 1.0
            vec[-1] = values[moved[0]]
        return vec

    def encode_simple(self, knob_type: str | None, knob_level: float | None) -> np.ndarray:
        """The simple form: knob ``knob_type`` at ``knob_level`` (its unit), the others at default."""
        setting = self.space.defaults()
        if knob_type is not None:
            setting = self.space.check({**setting, knob_type: knob_level}, where="simple setting")
        return self.encode(setting)

    def track(self, settings: list[Mapping[str, float]], change_at: list[int], length: int,
              ramp: int = 0) -> np.ndarray:
        """A time-varying conditioning signal ``(size, length)``: ``settings[0]`` until ``change_at[0]``,
        then ``settings[1]`` …; with ``ramp`` samples > 0 each change is a linear ramp (knob smoothing)."""
        if len(change_at) != len(settings) - 1:
            raise KnobEncodingError("give one change position (sample) per setting after the first")
        vecs = [self.encode(s) for s in settings]
        out = np.empty((self.size, length), dtype=np.float32)
        out[:] = vecs[0][:, None]
        for (pos, prev, new) in zip(change_at, vecs[:-1], vecs[1:]):
            if not 0 <= pos < length:
                raise KnobEncodingError(f"change position {pos} is outside the signal (0..{length - 1})")
            out[:, pos:] = new[:, None]
            if ramp > 0:
                end = min(length, pos + ramp)
                w = (np.arange(end - pos, dtype=np.float32) + 1) / ramp
                out[:, pos:end] = prev[:, None] + (new - prev)[:, None] * w[None]
        return out


def make_encoding(name: str, space: KnobSpace) -> KnobEncoding:
    """The encoding ``name`` (``values`` or ``onehot``) over ``space``."""
    return KnobEncoding(name, space)
