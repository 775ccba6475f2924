"""Knob datasets: many recordings of one device at different knob settings, with a manifest.

The manifest (``manifest.json``) lists the knobs with their ranges and every recording with its
setting, in one of two forms::

    {"format": "neural-audio-lab/knob-dataset/1", "sample_rate": 48000,
     "knobs": [{"name": "drive", "minimum": 0, "maximum": 10, "default": 5, "unit": "dial"}, ...],
     "recordings": [
        {"input_file": "input.wav", "output_file": "drive7.wav", "knob_type": "drive", "knob_level": 7},
        {"input_file": "input.wav", "output_file": "d2_t8.wav", "knobs": {"drive": 2, "tone": 8}},
     ],
     "splits": {"train": [[a, b], ...], "validation": [...], "test": [...]}}

* simple form: ``knob_type`` + ``knob_level`` — that one knob moved, the others at their defaults;
* general form: ``knobs`` — a value for every knob.

Optional per recording: ``latency_samples`` (the output lags the input; compensated on loading) and
``role`` (``train`` or ``heldout``: a held-out *setting*, never trained on, for the unseen-setting
evaluation). ``splits`` are time ranges shared by every recording (they all play the same reamp
signal): ``train`` audio is "seen", ``test`` audio "unseen". :func:`validate_manifest` reports
out-of-range values, recordings without settings and inconsistent knob names with specific errors.

:func:`ensure_demo_knob_dataset` renders a dataset offline from a virtual device's knobs.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from helpers.atomic import write_json
from helpers.audio import ClippingWarning, load_wav, save_wav
from helpers.capture.devices import get_device
from helpers.capture.latency import apply_latency
from helpers.capture.splits import check_splits
from helpers.knobs.space import (
    KnobError,
    KnobNameError,
    KnobSpace,
    MissingKnobSettingsError,
    Setting,
)
from helpers.paths import data_dir

FORMAT = "neural-audio-lab/knob-dataset/1"
ROLES = ("train", "heldout")
DEMO_VERSION = 1


class KnobManifestError(KnobError):
    """A knob-dataset manifest that is missing, unreadable or malformed (not a knob-value problem)."""


# ------------------------------------------------------------------------------------------ manifest
def recording_setting(space: KnobSpace, rec: Mapping[str, Any], index: int = 0) -> Setting:
    """The full setting of one manifest recording (simple or general form), checked against ``space``."""
    where = f"recording {index} ({rec.get('output_file', '?')})"
    has_general, has_simple = "knobs" in rec, "knob_type" in rec or "knob_level" in rec
    if has_general and has_simple:
        raise KnobManifestError(f"{where}: give either 'knobs' or 'knob_type'/'knob_level', not both")
    if has_general:
        if rec["knobs"] is None or (isinstance(rec["knobs"], Mapping) and not rec["knobs"]):
            raise MissingKnobSettingsError(f"{where}: 'knobs' is empty; give a value for every knob {space.names}")
        return space.check(rec["knobs"], where=where)
    if has_simple:
        if "knob_type" not in rec or "knob_level" not in rec:
            raise MissingKnobSettingsError(f"{where}: the simple form needs both 'knob_type' and 'knob_level'")
        kind = rec["knob_type"]
        if kind not in space.names:
            raise KnobNameError(f"{where}: knob_type {kind!r} is not one of this dataset's knobs {space.names}")
        return space.check({kind: rec["knob_level"]}, fill_defaults=True, where=where)
    raise MissingKnobSettingsError(f"{where}: no knob settings; add \"knobs\": {{...}} with a value for every knob "
                                   f"{space.names}, or \"knob_type\" and \"knob_level\" for one moved knob")


def manifest_space(manifest: Mapping[str, Any], where: str = "manifest") -> KnobSpace:
    """The knob space of a manifest: its ``knobs`` list, or the virtual ``device``'s knobs of those names."""
    if manifest.get("knobs"):
        return KnobSpace.from_list(manifest["knobs"])
    device = manifest.get("device") or {}
    if isinstance(device, Mapping) and device.get("virtual") and device.get("knob_names"):
        return KnobSpace.from_device(get_device(device["name"]), device["knob_names"])
    raise KnobManifestError(f"{where}: no 'knobs' list; add one entry per knob with name, minimum, maximum "
                            "and default, so settings can be range-checked and normalised")


def validate_manifest(manifest: Mapping[str, Any], where: str = "manifest") -> tuple[KnobSpace, list[Setting]]:
    """Check a manifest dict (knobs, recordings, settings, roles, splits); return the space and settings.

    Errors: :class:`KnobManifestError` (structure), :class:`~helpers.knobs.space.MissingKnobSettingsError`
    (a recording without settings), :class:`~helpers.knobs.space.KnobNameError` (knob names that do not
    match the knob list), :class:`~helpers.knobs.space.KnobValueError` (values out of range).
    """
    if not isinstance(manifest, Mapping):
        raise KnobManifestError(f"{where}: expected a JSON object, got {type(manifest).__name__}")
    space = manifest_space(manifest, where)
    recs = manifest.get("recordings")
    if not isinstance(recs, list) or not recs:
        raise KnobManifestError(f"{where}: 'recordings' must be a non-empty list of "
                                "{input_file, output_file, knobs | knob_type + knob_level}")
    settings = []
    for i, rec in enumerate(recs):
        if not isinstance(rec, Mapping):
            raise KnobManifestError(f"{where}: recording {i} is not an object")
        for key in ("input_file", "output_file"):
            if not rec.get(key):
                raise KnobManifestError(f"{where}: recording {i} has no {key!r}")
        if rec.get("role", "train") not in ROLES:
            raise KnobManifestError(f"{where}: recording {i} has role {rec['role']!r}; use one of {ROLES}")
        settings.append(recording_setting(space, rec, i))
    if not any(r.get("role", "train") == "train" for r in recs):
        raise KnobManifestError(f"{where}: every recording is held out; mark some with role 'train'")
    splits = manifest.get("splits")
    if not isinstance(splits, Mapping) or not splits.get("train") or not splits.get("validation"):
        raise KnobManifestError(f"{where}: 'splits' needs 'train' and 'validation' time ranges (samples)")
    check_splits({"test": [], **{k: [tuple(r) for r in v] for k, v in splits.items()}})
    return space, settings


# ------------------------------------------------------------------------------------------ data in memory
@dataclass
class KnobData:
    """Recordings of one device at several settings, aligned and ready for training.

    ``inputs[i]`` / ``outputs[i]``: float32 ``(samples,)`` at ``sample_rate`` Hz (inputs may share one
    array); ``settings[i]``: the full setting; ``roles[i]``: ``train`` or ``heldout``. ``splits``:
    time ranges (half-open, samples) shared by all recordings.
    """

    space: KnobSpace
    settings: list[Setting]
    inputs: list[np.ndarray]
    outputs: list[np.ndarray]
    roles: list[str]
    sample_rate: int
    splits: dict[str, list[tuple[int, int]]]
    sections: list[dict] = field(default_factory=list)
    name: str = "knobs"
    device: dict = field(default_factory=dict)
    manifest_path: Path | None = None
    normalization: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.settings)
        if not (len(self.inputs) == len(self.outputs) == len(self.roles) == n) or n == 0:
            raise KnobManifestError("settings, inputs, outputs and roles must be equally long and non-empty")
        for i, (x, y) in enumerate(zip(self.inputs, self.outputs)):
            if x.ndim != 1 or x.shape != y.shape:
                raise KnobManifestError(f"recording {i}: input {x.shape} and output {y.shape} must be 1-D and "
                                        "equally long")
            for split, ranges in self.splits.items():
                if any(not 0 <= a < b <= len(x) for a, b in ranges):
                    raise KnobManifestError(f"recording {i}: {split} ranges {ranges} exceed its {len(x)} samples")
        self.settings = [self.space.check(s, where=f"recording {i}") for i, s in enumerate(self.settings)]

    def indices(self, role: str) -> list[int]:
        """Recording indices with ``role`` (``train`` = seen settings, ``heldout`` = unseen settings)."""
        return [i for i, r in enumerate(self.roles) if r == role]

    def fingerprint(self) -> str:
        """A short hash of the audio, settings and splits (a checkpoint only resumes on the same data)."""
        h = hashlib.sha1()
        for x, y in zip(self.inputs, self.outputs):
            step = max(1, len(x) // 16384)
            h.update(np.ascontiguousarray(x[::step]).tobytes())
            h.update(np.ascontiguousarray(y[::step]).tobytes())
        h.update(json.dumps([self.settings, self.roles, sorted(self.splits.items())], default=list).encode())
        return h.hexdigest()[:16]

    def meta(self) -> dict:
        """What a checkpoint records about its data (knobs included, so a model knows its controls)."""
        return {"data_name": self.name, "manifest": str(self.manifest_path) if self.manifest_path else None,
                "normalization": self.normalization, "sample_rate": self.sample_rate,
                "data_fingerprint": self.fingerprint(), "knobs": self.space.to_list(), "device": self.device}

    def with_context(self, index: int, start: int, end: int, context: int) -> tuple[np.ndarray, np.ndarray]:
        """Input ``x[start - context : end]`` of recording ``index`` (zeros before the file start), target ``y[start:end]``."""
        x, y = self.inputs[index], self.outputs[index]
        lo = start - context
        xin = x[max(lo, 0) : end]
        if lo < 0:
            xin = np.concatenate([np.zeros(-lo, dtype=np.float32), xin])
        return xin, y[start:end]


def load_knob_dataset(path: str | Path) -> KnobData:
    """Read a knob-dataset manifest (file or folder) and its audio; every problem raises a :class:`KnobError`."""
    p = Path(path)
    if p.is_dir():
        p = p / "manifest.json"
    if not p.exists():
        raise KnobManifestError(f"{p}: no knob manifest here; write one (see helpers.knobs.dataset) or build the "
                                "demo with ensure_demo_knob_dataset()")
    try:
        manifest = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise KnobManifestError(f"{p}: not valid JSON ({exc}); fix the file or build it again") from exc
    space, settings = validate_manifest(manifest, str(p))
    sr = int(manifest.get("sample_rate", 0))
    cache: dict[Path, np.ndarray] = {}
    inputs, outputs = [], []
    for rec in manifest["recordings"]:
        audio = []
        for key in ("input_file", "output_file"):
            f = (p.parent / rec[key]).resolve()
            if f not in cache:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ClippingWarning)
                    a, file_sr = load_wav(f)
                if sr and file_sr != sr:
                    raise KnobManifestError(f"{f}: {file_sr} Hz, but the manifest says {sr} Hz; re-export the "
                                            "recordings at one rate or fix the manifest's sample_rate")
                sr = sr or file_sr
                cache[f] = a
            audio.append(cache[f])
        x, y = audio
        y = apply_latency(y, int(rec.get("latency_samples", 0)), len(x))
        inputs.append(x)
        outputs.append(y)
    gain = 10.0 ** (float((manifest.get("normalization") or {}).get("output_gain_db", 0.0)) / 20.0)
    if gain != 1.0:
        outputs = [(y * gain).astype(np.float32) for y in outputs]
    splits = {k: [(int(a), int(b)) for a, b in v] for k, v in manifest["splits"].items()}
    splits.setdefault("test", [])
    return KnobData(space, settings, inputs, outputs, [r.get("role", "train") for r in manifest["recordings"]], sr,
                    splits, list(manifest.get("sections", [])), str(manifest.get("name", p.parent.name)),
                    dict(manifest.get("device") or {}), p, dict(manifest.get("normalization") or {}))


# ------------------------------------------------------------------------------------------ unseen settings
def grid_midpoints(space: KnobSpace, levels: int) -> list[Setting]:
    """Centres of the cells of a ``levels``-per-knob grid: settings a ``combinatorial_plan(levels)`` never records."""
    fractions = (np.arange(levels - 1) + 0.5) / (levels - 1)
    grids = [[round(k.minimum + f * (k.maximum - k.minimum), 6) for f in fractions] for k in space.knobs]
    return [dict(zip(space.names, combo)) for combo in itertools.product(*grids)]


def unseen_setting_split(settings: list[Setting], holdout: int | Iterable[int], seed: int = 0,
                         space: KnobSpace | None = None) -> tuple[list[int], list[int]]:
    """Split recordings into ``(train, heldout)`` indices so no held-out *setting* is ever trained on.

    ``holdout``: explicit indices, or a count of settings drawn (seeded) from the *interior* ones —
    not at any knob's extreme, so the held-out settings test interpolation, not extrapolation
    (when ``space`` is given). Recordings of the same setting always land on the same side.
    """
    keys = [tuple(sorted(s.items())) for s in settings]
    unique = list(dict.fromkeys(keys))
    if isinstance(holdout, (int, np.integer)):
        def interior(key):
            return space is None or all(space[n].minimum < v < space[n].maximum for n, v in key)
        candidates = [k for k in unique if interior(k)]
        if not 0 < holdout < len(unique) or holdout > len(candidates):
            raise KnobError(f"cannot hold out {holdout} of {len(unique)} distinct settings "
                            f"({len(candidates)} are interior); record more settings or hold out fewer")
        rng = np.random.default_rng(seed)
        chosen = {candidates[i] for i in rng.choice(len(candidates), size=int(holdout), replace=False)}
    else:
        idx = sorted({int(i) for i in holdout})
        if any(not 0 <= i < len(settings) for i in idx):
            raise KnobError(f"held-out indices {idx} must be within 0..{len(settings) - 1}")
        chosen = {keys[i] for i in idx}
    heldout = [i for i, k in enumerate(keys) if k in chosen]
    train = [i for i, k in enumerate(keys) if k not in chosen]
    if not train:
        raise KnobError("no training settings left after holding out; hold out fewer")
    return train, heldout


# ------------------------------------------------------------------------------------------ demo datasets
def demo_settings(space: KnobSpace, levels: int = 3, heldout: int = 2, seed: int = 0) -> tuple[list[Setting], list[Setting]]:
    """Training settings (every combination of ``levels`` positions) and ``heldout`` unseen ones (grid midpoints)."""
    from helpers.knobs.plans import combinatorial_plan

    train = combinatorial_plan(space, levels).settings
    mids = grid_midpoints(space, levels)
    if not 0 <= heldout <= len(mids):
        raise KnobError(f"a {levels}-level grid has {len(mids)} midpoints; cannot hold out {heldout}")
    rng = np.random.default_rng(seed + 31)
    picked = sorted(rng.choice(len(mids), size=heldout, replace=False).tolist())
    return train, [mids[i] for i in picked]


def ensure_demo_knob_dataset(device_name: str = "overdrive", knob_names: Iterable[str] = ("drive", "tone"), *,
                             levels: int = 3, heldout: int = 2, quick: bool = True, seed: int = 0,
                             sample_rate: int = 48_000, force: bool = False) -> Path:
    """``data_dir("knobs", <name>, "manifest.json")``: a virtual device rendered offline at many settings.

    The other knobs stay at their defaults. Recordings play the reamp signal (``quick``: ~19 s) with no
    latency or noise; splits come from its sections. Rebuilt only when the parameters change.
    """
    from helpers.capture.reamp import make_reamp_signal
    from helpers.capture.splits import splits_from_sections

    dev = get_device(device_name)
    space = KnobSpace.from_device(dev, knob_names)
    params = {"version": DEMO_VERSION, "device": device_name, "knobs": space.names, "levels": int(levels),
              "heldout": int(heldout), "quick": bool(quick), "seed": int(seed), "sample_rate": int(sample_rate)}
    name = f"{device_name}_{'_'.join(space.names)}_{levels}x{heldout}" + ("_quick" if quick else "")
    folder = data_dir("knobs", name)
    path = folder / "manifest.json"
    if path.exists() and not force:
        try:
            if json.loads(path.read_text(encoding="utf-8")).get("params") == params:
                return path
        except (json.JSONDecodeError, UnicodeDecodeError):
            pass  # rebuilt below
    train, held = demo_settings(space, levels, heldout, seed)
    signal = make_reamp_signal(sample_rate, quick=quick, seed=seed)
    save_wav(folder / "input.wav", signal.audio, sample_rate)
    recordings = []
    for i, (setting, role) in enumerate([(s, "train") for s in train] + [(s, "heldout") for s in held]):
        y = dev.process(signal.audio, sample_rate, **setting)
        out = f"out_{i:03d}.wav"
        save_wav(folder / out, y, sample_rate)
        recordings.append({"input_file": "input.wav", "output_file": out, "knobs": setting, "role": role})
    splits = splits_from_sections(signal.layout.sections)
    manifest = {
        "format": FORMAT, "name": name, "sample_rate": sample_rate, "knobs": space.to_list(),
        "recordings": recordings, "splits": {k: [list(r) for r in v] for k, v in splits.items()},
        "sections": [s.__dict__ for s in signal.layout.sections],
        "device": {"name": device_name, "virtual": True, "knob_names": space.names,
                   "fixed": {k: v for k, v in dev.defaults().items() if k not in space.names},
                   "description": dev.description},
        "normalization": {"policy": "none", "output_gain_db": 0.0}, "params": params,
    }
    write_json(path, manifest)
    return path
