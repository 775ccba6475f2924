"""The dataset manifest: one JSON file that says everything later notebooks need about a capture.

Fields: audio files (paths relative to the manifest), sample rate, latency (samples the output
lags the input; :meth:`CaptureManifest.load_audio` compensates it), splits and sections (half-open
sample ranges in aligned coordinates), device and knob settings (or the user's gear description),
the normalisation applied for training (undone at export), the repeatability check and the seed.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from helpers.atomic import write_json
from helpers.audio import ClippingWarning, load_wav
from helpers.capture.latency import apply_latency
from helpers.capture.normalization import Normalization, apply_normalization
from helpers.capture.splits import SplitOverlapError, check_splits
from helpers.errors import DataError

MANIFEST_VERSION = 1
_REQUIRED = ("sample_rate", "input_file", "output_file", "latency_samples", "splits", "sections", "device", "seed")


class ManifestError(DataError):
    """A manifest is missing, unreadable or inconsistent."""


@dataclass
class CaptureManifest:
    """A capture dataset on disk (see the module docstring for the meaning of each field)."""

    path: Path
    sample_rate: int
    input_file: str
    output_file: str
    latency_samples: int
    splits: dict[str, list[tuple[int, int]]]
    sections: list[dict]
    device: dict
    seed: int
    length: int = 0
    normalization: dict = field(default_factory=lambda: Normalization("none").as_dict())
    latency: dict = field(default_factory=dict)  # how the latency was found (estimate summary or "manual")
    repeatability: dict | None = None
    blips: list[int] = field(default_factory=list)
    quick: bool = False
    name: str = ""
    params: dict = field(default_factory=dict)  # generation parameters (the demo cache compares them)
    notes: list[str] = field(default_factory=list)
    version: int = MANIFEST_VERSION

    @property
    def input_path(self) -> Path:
        return (self.path.parent / self.input_file).resolve()

    @property
    def output_path(self) -> Path:
        return (self.path.parent / self.output_file).resolve()

    def section(self, name: str) -> dict:
        for s in self.sections:
            if s["name"] == name:
                return s
        raise KeyError(f"no section {name!r}; sections: {', '.join(s['name'] for s in self.sections)}")

    def load_audio(self, *, normalize: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """``(x_dry, y_wet)``: float32, shape ``(length,)`` each, ALIGNED (``y[i]`` answers ``x[i]``).

        ``normalize`` applies the recorded normalisation gains (the default: what training uses).
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ClippingWarning)  # checked when the dataset was built
            x, sr_x = load_wav(self.input_path)
            y, sr_y = load_wav(self.output_path)
        if sr_x != self.sample_rate or sr_y != self.sample_rate:
            raise ManifestError(f"{self.path}: the audio files are at {sr_x}/{sr_y} Hz but the manifest says "
                                f"{self.sample_rate} Hz; rebuild the dataset")
        y = apply_latency(y, self.latency_samples, len(x))
        if normalize:
            x, y = apply_normalization(x, y, Normalization.from_dict(self.normalization))
        return x, y

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "path"}
        d["splits"] = {k: [[int(a), int(b)] for a, b in v] for k, v in self.splits.items()}
        return d


def save_manifest(manifest: CaptureManifest, path: str | os.PathLike[str] | None = None) -> Path:
    """Write ``manifest`` as JSON (atomically) to ``path`` (default ``manifest.path``); returns the path."""
    target = Path(path) if path is not None else manifest.path
    check_splits(manifest.splits, manifest.length or None)
    if path is not None and target.resolve() != manifest.path.resolve():
        # Keep the audio paths valid relative to the new location.
        for attr, p in (("input_file", manifest.input_path), ("output_file", manifest.output_path)):
            setattr(manifest, attr, os.path.relpath(p, target.parent.resolve()))
        manifest.path = target
    write_json(target, manifest.to_dict())
    return target


def load_manifest(path: str | os.PathLike[str]) -> CaptureManifest:
    """Read a manifest; :class:`ManifestError` with a clear message when missing, invalid or inconsistent."""
    p = Path(path)
    if p.is_dir():
        p = p / "manifest.json"
    if not p.exists():
        raise ManifestError(f"{p}: no manifest here; build one with notebook 01 or "
                            "helpers.capture.demo.ensure_demo_capture(...)")
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{p}: not valid JSON ({exc}); delete it and build the dataset again") from exc
    if not isinstance(d, dict):
        raise ManifestError(f"{p}: expected a JSON object, found {type(d).__name__}")
    missing = [k for k in _REQUIRED if k not in d]
    if missing:
        raise ManifestError(f"{p}: missing fields {missing}; delete it and build the dataset again")
    if not isinstance(d.get("version", 1), int):
        raise ManifestError(f"{p}: 'version' must be a whole number, got {d['version']!r}; build the dataset again")
    if d.get("version", 1) > MANIFEST_VERSION:
        raise ManifestError(f"{p}: manifest version {d['version']} is newer than this code ({MANIFEST_VERSION}); "
                            "update the course")
    try:
        splits = {str(k): [(int(a), int(b)) for a, b in v] for k, v in d["splits"].items()}
        m = CaptureManifest(
            path=p.resolve(), sample_rate=int(d["sample_rate"]), input_file=str(d["input_file"]),
            output_file=str(d["output_file"]), latency_samples=int(d["latency_samples"]), splits=splits,
            sections=list(d["sections"]), device=dict(d["device"]), seed=int(d["seed"]), length=int(d.get("length", 0)),
            normalization=dict(d.get("normalization") or Normalization("none").as_dict()),
            latency=dict(d.get("latency") or {}), repeatability=d.get("repeatability"),
            blips=[int(b) for b in d.get("blips", [])], quick=bool(d.get("quick", False)), name=str(d.get("name", "")),
            params=dict(d.get("params") or {}), notes=list(d.get("notes", [])), version=int(d.get("version", 1)),
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise ManifestError(f"{p}: a field has the wrong type ({exc}); delete it and build the dataset again") from exc
    try:
        check_splits(m.splits, m.length or None)
    except SplitOverlapError as exc:
        raise ManifestError(f"{p}: invalid splits: {exc}") from exc
    for f in (m.input_path, m.output_path):
        if not f.exists():
            raise ManifestError(f"{p}: audio file {f} is missing; build the dataset again")
    return m
