"""Paired dry/wet audio for training: split ranges, receptive-field context and random training crops."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from helpers.errors import DataError

Range = tuple[int, int]


@dataclass
class AmpData:
    """An aligned capture: dry input ``x`` and device output ``y`` (float32, same length, ``sample_rate`` Hz).

    ``splits`` maps ``train`` / ``validation`` / ``test`` to half-open sample ranges; ``sections`` are the
    capture signal's named parts (for per-section ESR).
    """

    x: np.ndarray
    y: np.ndarray
    sample_rate: int
    splits: dict[str, list[Range]]
    sections: list[dict] = field(default_factory=list)
    name: str = "capture"
    manifest_path: Path | None = None
    normalization: dict = field(default_factory=dict)  #: gains applied for training (undone at export)

    def __post_init__(self) -> None:
        if self.x.shape != self.y.shape or self.x.ndim != 1:
            raise DataError(f"x and y must be 1-D and equally long, got {self.x.shape} and {self.y.shape}; "
                            "load both with helpers.audio.load_wav and trim them to one length")
        for split in ("train", "validation"):
            if not self.splits.get(split):
                raise DataError(f"the data has no {split!r} ranges; give splits with 'train' and 'validation' "
                                "ranges (helpers.capture.splits.splits_by_fraction makes them)")
        for split, ranges in self.splits.items():
            for start, end in ranges:
                if not 0 <= start < end <= len(self.x):
                    raise DataError(f"{split} range [{start}, {end}) is outside the audio (0..{len(self.x)}); "
                                    "rebuild the splits for this audio")

    @classmethod
    def from_manifest(cls, path: str | Path) -> AmpData:
        """Load an aligned pair and its splits from a capture manifest (notebook 01)."""
        from helpers.capture.manifest import load_manifest

        m = load_manifest(path)
        x, y = m.load_audio()
        splits = {k: [(int(a), int(b)) for a, b in v] for k, v in m.splits.items()}
        name = m.device.get("name", Path(path).parent.name) if isinstance(m.device, dict) else Path(path).parent.name
        return cls(x, y, m.sample_rate, splits, list(m.sections), str(name), Path(path), dict(m.normalization))

    def meta(self) -> dict:
        """What a checkpoint records about its data."""
        return {"data_name": self.name, "manifest": str(self.manifest_path) if self.manifest_path else None,
                "normalization": self.normalization, "sample_rate": self.sample_rate,
                "data_fingerprint": self.fingerprint()}

    def fingerprint(self) -> str:
        """A short hash of the audio and splits: a checkpoint only resumes on the same data."""
        h = hashlib.sha1()
        h.update(np.ascontiguousarray(self.x[:: max(1, len(self.x) // 65536)]).tobytes())
        h.update(np.ascontiguousarray(self.y[:: max(1, len(self.y) // 65536)]).tobytes())
        h.update(repr(sorted(self.splits.items())).encode())
        return h.hexdigest()[:16]

    def split_samples(self, split: str) -> int:
        return sum(e - s for s, e in self.splits.get(split, []))

    def with_context(self, start: int, end: int, receptive_field: int) -> tuple[np.ndarray, np.ndarray]:
        """Input ``x[start - rf + 1 : end]`` (zeros before the file start) and target ``y[start:end]``."""
        lead = receptive_field - 1
        lo = start - lead
        xin = self.x[max(lo, 0) : end]
        if lo < 0:
            xin = np.concatenate([np.zeros(-lo, dtype=self.x.dtype), xin])
        return xin, self.y[start:end]


def make_batch(data: AmpData, starts: np.ndarray, crop_length: int, receptive_field: int) -> tuple[np.ndarray, np.ndarray]:
    """Stack crops: inputs ``(batch, crop + rf - 1)`` and targets ``(batch, crop)``."""
    lead = receptive_field - 1
    xs = np.stack([data.x[s - lead : s + crop_length] for s in starts])
    ys = np.stack([data.y[s : s + crop_length] for s in starts])
    return xs, ys


def toy_pair(seconds: float = 6.0, sample_rate: int = 48_000, seed: int = 0) -> AmpData:
    """A small synthetic capture for tests and smoke runs: level-varying noise bursts through a
    low-pass filter and a tanh drive (a 'device' with memory and saturation). 70/15/15 % split."""
    from scipy.signal import butter, lfilter

    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    block = sample_rate // 10
    levels = np.repeat(rng.uniform(0.02, 0.5, n // block + 1), block)[:n]
    x = (rng.standard_normal(n) * levels).astype(np.float32)
    b, a = butter(2, 3000 / (sample_rate / 2))
    y = (0.5 * np.tanh(4 * lfilter(b, a, x))).astype(np.float32)
    t1, t2 = int(0.7 * n), int(0.85 * n)
    return AmpData(x, y, sample_rate, {"train": [(0, t1)], "validation": [(t1, t2)], "test": [(t2, n)]}, name="toy")
