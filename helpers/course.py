"""Course settings that travel: what each notebook made, and what later notebooks use.

In Colab every notebook opens on a fresh machine, so notebook 02's checkpoint is gone when 03 runs,
and ``DEVICE``/``FAMILY``/``PRESET``/``QUICK`` must otherwise be kept equal by hand. Here:

* the notebook that makes an artefact records it with :func:`record` in ONE small JSON file,
  ``outputs/course.json`` (:func:`course_file`), one entry per kind (:data:`KINDS`), with the
  notebook that made it and a timestamp (``made_at``, UTC, ISO 8601);
* a later notebook asks for what it needs (:func:`use_capture`, :func:`use_amp_model`,
  :func:`use_knob_model`, :func:`use_tune_split`) and gets one of three answers:

  - the recorded artefact is on disk and matches the notebook's settings: ONE printed line names
    the dataset and checkpoint used, and the path comes back;
  - the record says something else (another mode, preset, device, capture): a :class:`ConfigError`
    names both and says which setting to change, or which notebook to run again;
  - nothing is recorded, or the recorded file is gone (a fresh machine): ONE printed line says so,
    what is built instead and about how long it takes, then it is built with the course's own
    helpers and recorded. A user's own recording cannot be rebuilt: :class:`DataError` says how to
    bring it back.

Facts each kind records (paths are stored absolute):

==============  ===========================================================================================
``capture``     ``manifest``, ``device`` (a demo device name, or ``"your recording"``), ``quick``,
                ``sample_rate`` (Hz)
``amp_model``   ``checkpoint``, ``device``, ``family``, ``preset``, ``quick``, ``manifest`` it was trained on,
                ``validation_esr`` (best validation ESR, a ratio; ``None`` when unknown), ``seed``
``knob_model``  ``checkpoints`` (kind → path), ``kinds``, ``device``, ``knobs``, ``quick``, ``dataset``
                (knob manifest)
``tunes``       ``split`` (folder of ``train.abc``/``val.abc``), ``seed``, ``val_fraction``, ``quick``;
                notebook 07 adds ``checkpoint`` and ``preset`` with ``record(..., update=True)``
==============  ===========================================================================================
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from helpers.amp.data import AmpData
from helpers.amp.train import train
from helpers.amp.workflow import FULL_TRAINING, ensure_trained_model, run_name, training_config
from helpers.atomic import write_json
from helpers.capture.demo import ensure_demo_capture
from helpers.errors import CheckpointError, ConfigError, DataError
from helpers.knobs.dataset import ensure_demo_knob_dataset
from helpers.paths import checkpoints_dir, outputs_dir, repo_root

__all__ = [
    "KINDS", "OWN_RECORDING", "course_file", "hand_over", "record", "recorded", "run_stem", "use_amp_model",
    "use_capture", "use_knob_model", "use_tune_split",
]

#: The artefact kinds the course records, and the notebook that normally makes each.
MADE_BY: dict[str, str] = {"capture": "01", "amp_model": "02", "knob_model": "05", "tunes": "06"}
KINDS = tuple(MADE_BY)
#: The ``device`` recorded for a capture of the user's own gear (it cannot be rebuilt).
OWN_RECORDING = "your recording"
#: Facts :func:`record` refuses to do without, per kind.
REQUIRED: dict[str, tuple[str, ...]] = {
    "capture": ("manifest", "device", "quick"),
    "amp_model": ("checkpoint", "device", "family", "preset", "quick", "manifest"),
    "knob_model": ("checkpoints", "kinds", "device", "knobs", "quick"),
    "tunes": (),
}
#: Knob-model training of notebook 05 (quick: seconds; full: at most ``budget_s`` seconds per model).
QUICK_KNOB_TRAINING: dict[str, Any] = {"preset": "nano", "epochs": 4, "steps_per_epoch": 8, "batch_size": 4,
                                       "crop_length": 4096, "val_seconds": 0.5}
FULL_KNOB_TRAINING: dict[str, Any] = {"preset": "nano", "epochs": 25, "steps_per_epoch": 40, "batch_size": 8,
                                      "crop_length": 8192, "val_seconds": 2.0, "budget_s": 14 * 60.0}
#: Knob dataset of notebook 05: ``(levels per knob, held-out settings)`` for quick and full mode.
KNOB_GRID: dict[bool, tuple[int, int]] = {True: (3, 2), False: (4, 4)}


# ------------------------------------------------------------------------------------------ the record
def course_file() -> Path:
    """``outputs/course.json`` (or under ``$NAL_OUTPUTS``): the record of what each notebook made."""
    return outputs_dir("course.json")


def _check_kind(kind: str) -> None:
    if kind not in MADE_BY:
        raise ConfigError(f"unknown artefact kind {kind!r}; use one of {', '.join(KINDS)}")


def _read() -> dict[str, Any]:
    path = course_file()
    if not path.exists():
        return {}
    try:
        book = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc}); delete it: each notebook records what it makes "
                        "again when it runs") from exc
    if not isinstance(book, dict):
        raise DataError(f"{path}: expected a JSON object, found {type(book).__name__}; delete it: each notebook "
                        "records what it makes again when it runs")
    return book


def _plain(value: Any) -> Any:
    """``value`` as JSON: paths as absolute strings, tuples as lists, non-finite numbers as ``None``."""
    if isinstance(value, Path):
        return str(value.expanduser().resolve())
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def record(kind: str, *, notebook: str | None, update: bool = False, **facts: Any) -> dict[str, Any]:
    """Record what a notebook made (``facts``, see the module docstring) as the ``kind`` entry; returns it.

    The entry replaces the previous one of that kind; ``update=True`` keeps the previous entry's other facts.
    ``notebook`` is the maker, e.g. ``"02"``. Written atomically to :func:`course_file`.
    """
    _check_kind(kind)
    book = _read()
    previous = book.get(kind)
    old: dict[str, Any] = previous if update and isinstance(previous, dict) else {}
    entry = {k: v for k, v in old.items() if k not in ("notebook", "made_at")}
    entry.update(_plain(facts))
    missing = [k for k in REQUIRED[kind] if entry.get(k) is None and not (k == "preset" and k in entry)]
    if missing:
        raise ConfigError(f"record({kind!r}) needs the facts {', '.join(missing)}; pass them as keywords")
    entry["notebook"] = notebook
    entry["made_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    book[kind] = entry
    write_json(course_file(), book)
    return dict(entry)


def recorded(kind: str) -> dict[str, Any] | None:
    """The ``kind`` entry of :func:`course_file` (facts plus ``notebook`` and ``made_at``), or ``None``."""
    _check_kind(kind)
    entry = _read().get(kind)
    return dict(entry) if isinstance(entry, dict) else None


# ------------------------------------------------------------------------------------------ wording
def _show(path: str | Path) -> str:
    """``path`` relative to the repository when inside it (``checkpoints/…/best.pt``), else absolute."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(repo_root()))
    except ValueError:
        return str(p)


def _py(value: Any) -> str:
    """``value`` as a notebook would write it: ``True``, ``None``, ``"standard"``, ``("drive", "tone")``."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_py(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def _mode(quick: Any) -> str:
    return "quick" if quick else "full"


def _by(entry: Mapping[str, Any]) -> str:
    return f"notebook {entry['notebook']}" if entry.get("notebook") else "an earlier run"


def _exists(path: Any) -> bool:
    return isinstance(path, str) and Path(path).is_file()


def _resolved(path: str | Path) -> str:
    p = Path(path).expanduser().resolve()
    return str(p / "manifest.json" if p.is_dir() else p)


def _capture_words(device: Any, quick: Any, manifest: str | None) -> str:
    return f"your recording {_show(manifest)}" if manifest else f"the {device} capture ({_mode(quick)})"


def _differences(wanted: Mapping[str, Any], have: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """``(SETTING, recorded value)`` for each setting that differs (a setting only ``have`` knows counts too)."""
    return [(k, v) for k, v in have.items() if k not in wanted or wanted[k] != v]


def _mismatch(kind: str, entry: Mapping[str, Any], diffs: list[tuple[str, Any]], have: str, want: str,
              verb: str, thing: str) -> ConfigError:
    """The error for a record that does not match: names both, and the settings that would use the recorded one."""
    sets = [f"{name} = {_py(value)}" for name, value in diffs]
    fix = sets[0] + (f" (and {', '.join(sets[1:])})" if len(sets) > 1 else "")
    return ConfigError(f"{_by(entry)} {verb} {have}, but this notebook asks for {want}: set {fix} to use the "
                       f"{thing} {_by(entry)} {verb}, or run notebook {MADE_BY[kind]} again with these settings "
                       f"({_show(course_file())} records what each notebook made)")


def _announce(line: str) -> None:
    print(line, flush=True)


def _gone(kind: str, entry: Mapping[str, Any] | None, what: str) -> str:
    """The first half of a fallback line: nothing recorded, or the recorded ``what`` is not on this machine."""
    if entry is None:
        return f"no {kind.replace('_', ' ')} recorded (notebook {MADE_BY[kind]} has not run on this machine)"
    return f"{what} from {_by(entry)} is not on this machine (a fresh runtime?)"


def _own_manifest(manifest: str | Path) -> str:
    """``manifest`` resolved; :class:`DataError` with the fix when it is missing (a recording cannot be rebuilt)."""
    path = _resolved(manifest)
    if not Path(path).is_file():
        raise DataError(f"{path}: your recording's manifest is not on this machine, and a recording cannot be "
                        "rebuilt: upload its folder (manifest.json and its .wav files) to that path, or run "
                        "notebook 01 to make it again; or set MANIFEST = None to use a demo capture")
    return path


def _sample_rate(manifest: str | Path) -> int | None:
    """The ``sample_rate`` (Hz) a manifest states, or ``None`` when it cannot be read."""
    try:
        rate = json.loads(Path(manifest).read_text(encoding="utf-8")).get("sample_rate")
    except (OSError, ValueError, AttributeError):
        return None
    return int(rate) if isinstance(rate, (int, float)) else None


# ------------------------------------------------------------------------------------------ builders
# Module-level so tests (and impatient users) can replace them; each returns what it built.
def train_amp_model(manifest: str | Path, family: str, preset: str | None, *, quick: bool, seed: int) -> Path:
    """Train on your own capture ``manifest`` with the course's quick or full settings; the ``best.pt`` path."""
    cfg = training_config(run_stem("", manifest), family, preset, quick=quick, seed=seed)
    return train(AmpData.from_manifest(manifest), cfg).best_path


def run_stem(device: str, manifest: str | Path | None = None) -> str:
    """The name stem of a capture's runs and files: the demo ``device``, or ``own_`` + your capture's folder name."""
    if manifest is None:
        return device
    return "own_" + Path(_resolved(manifest)).parent.name


def hand_over(path: str | Path) -> str:
    """Give the user a file: in Colab the browser downloads it; elsewhere the returned line names its full path."""
    import sys

    p = Path(path).resolve()
    if not p.is_file():
        raise DataError(f"{p}: there is no such file to hand over; run the export cell above first")
    if "google.colab" in sys.modules:
        from google.colab import files  # type: ignore[import-untyped]

        files.download(str(p))
        return f"your browser is downloading {p.name} ({p.stat().st_size / 1024:.0f} KiB)"
    return f"your file: {p} ({p.stat().st_size / 1024:.0f} KiB)"


def knob_training(kind: str, quick: bool) -> dict[str, Any]:
    """Notebook 05's training settings for a ``kind`` (concat, film or lstm) knob model."""
    base = dict(QUICK_KNOB_TRAINING if quick else FULL_KNOB_TRAINING)
    if kind == "lstm":
        base.update(preset=None, epochs=4 if quick else 10, hidden_size=16 if quick else 40,
                    lstm_warmup=256 if quick else 1024)
    return base


def knob_dataset(device: str, knobs: Iterable[str], *, quick: bool, seed: int) -> Path:
    """Notebook 05's demo knob dataset (its ``manifest.json``), built when missing.

    Every setting plays the reamp signal of the mode: quick, the ~19 s quick signal (seconds to render and
    train on); full, the whole ~2 min 50 s signal (~130 s of training audio per setting, 20 recordings,
    about 650 MB in memory), so the models see as much audio per setting as a single-setting capture.
    """
    levels, heldout = KNOB_GRID[bool(quick)]
    return ensure_demo_knob_dataset(device, tuple(knobs), levels=levels, heldout=heldout, quick=bool(quick),
                                    seed=seed)


def train_knob_model(dataset: str | Path, kind: str, *, quick: bool, seed: int, name: str) -> Path:
    """Train one knob model as notebook 05 does (run folder ``name``); the ``best.pt`` path."""
    from helpers.knobs.dataset import load_knob_dataset
    from helpers.knobs.train import KnobTrainConfig, train_knobs

    cfg = KnobTrainConfig(kind=kind, encoding="values", seed=seed, run_name=name, **knob_training(kind, quick))
    return train_knobs(load_knob_dataset(dataset), cfg).best_path


def build_tune_split(*, seed: int, val_fraction: float) -> Path:
    """Notebook 06's split of the ABC corpus (every .abc under data/abc/ included); the split's folder."""
    from helpers.abc import corpus

    train_tunes, val_tunes = corpus.split_by_tune(corpus.load_corpus().tunes, val_fraction, seed=seed)
    return corpus.save_split(train_tunes, val_tunes)["train"].parent


def _validation_esr(checkpoint: Path) -> float | None:
    """Best validation ESR stored in an amp checkpoint, or ``None`` when it has none."""
    from helpers.amp.checkpoint import validation_esr
    from helpers.training import read_checkpoint

    try:
        return validation_esr(read_checkpoint(checkpoint, kind="amp"))
    except CheckpointError:
        return None


# ------------------------------------------------------------------------------------------ capture
def use_capture(device: str = "overdrive", quick: bool = True, manifest: str | Path | None = None, *,
                seed: int = 0, notebook: str | None = None) -> Path:
    """The capture manifest this notebook's settings ask for.

    ``manifest`` (your own recording): used as is, :class:`DataError` when missing. Otherwise the
    demo capture of ``device`` (``quick``: the ~19 s signal, else ~2 min 50 s): the recorded one when it
    matches, :class:`ConfigError` when the record says another, built (seconds) when none is on disk.
    ``notebook`` (e.g. ``"02"``) is recorded as the maker when this call builds it.
    """
    if manifest is not None:
        chosen = _own_manifest(manifest)
        _announce(f"using your recording {_show(chosen)}")
        return Path(chosen)
    entry = recorded("capture")
    if entry is not None and _exists(entry.get("manifest")):
        own = entry["manifest"] if entry.get("device") == OWN_RECORDING else None
        have = {"MANIFEST": own} if own else {"DEVICE": entry.get("device"), "QUICK": entry.get("quick")}
        diffs = _differences({"MANIFEST": None, "DEVICE": device, "QUICK": quick}, have)
        if diffs:
            raise _mismatch("capture", entry, diffs, _capture_words(entry.get("device"), entry.get("quick"), own),
                            _capture_words(device, quick, None), "made", "capture")
        _announce(f"using {_capture_words(device, quick, None)} {_show(entry['manifest'])} from {_by(entry)}")
        return Path(entry["manifest"])
    what = _capture_words(entry.get("device"), entry.get("quick"),
                          entry.get("manifest") if entry.get("device") == OWN_RECORDING else None) if entry else ""
    _announce(f"{_gone('capture', entry, what)}: building {_capture_words(device, quick, None)} here instead, "
              "a few seconds")
    path = ensure_demo_capture(device, quick=quick, seed=seed)
    record("capture", notebook=notebook, manifest=path, device=device, quick=quick, sample_rate=_sample_rate(path),
           seed=seed)
    return Path(path)


# ------------------------------------------------------------------------------------------ amp model
def _amp_words(family: Any, preset: Any, quick: Any, capture: str) -> str:
    return f"a {'quick' if quick else 'full-mode'} {family} {preset or 'custom'} model on {capture}"


def _amp_duration(quick: bool) -> str:
    return "under a minute" if quick else f"about {round(float(FULL_TRAINING['budget_s']) / 60)} minutes"


def use_amp_model(device: str = "overdrive", family: str = "nam", preset: str | None = "feather",
                  quick: bool = True, manifest: str | Path | None = None, *, seed: int = 0,
                  notebook: str | None = None) -> Path:
    """The amp checkpoint (``best.pt``) trained with these settings on the demo ``device`` capture or on ``manifest``.

    Recorded and on disk with the same settings: used (one line says which capture and checkpoint, and its
    validation ESR). Recorded with other settings (quick vs full, family, preset, device, manifest):
    :class:`ConfigError` naming both and the fix. Nothing on disk: one line, then trained here (quick: under a
    minute; full: the 10-minute budget) and recorded. Your own ``manifest`` must exist (:class:`DataError`).
    """
    own = _own_manifest(manifest) if manifest is not None else None
    entry = recorded("amp_model")
    if entry is not None and _exists(entry.get("checkpoint")):
        rec_own = entry.get("manifest") if entry.get("device") == OWN_RECORDING else None
        wanted = {"QUICK": quick, "MANIFEST": own, "DEVICE": device if own is None else None,
                  "FAMILY": family, "PRESET": preset}
        have = {"QUICK": entry.get("quick"), "MANIFEST": rec_own}
        if rec_own is None:
            have["DEVICE"] = entry.get("device")
        have.update(FAMILY=entry.get("family"), PRESET=entry.get("preset"))
        diffs = _differences(wanted, have)
        if diffs:
            have_words = _amp_words(entry.get("family"), entry.get("preset"), entry.get("quick"),
                                    _capture_words(entry.get("device"), entry.get("quick"), rec_own))
            raise _mismatch("amp_model", entry, diffs, f"{have_words} at {_show(entry['checkpoint'])}",
                            _amp_words(family, preset, quick, _capture_words(device, quick, own)), "trained", "model")
        extras = []
        if isinstance(entry.get("validation_esr"), (int, float)):
            extras.append(f"validation ESR {entry['validation_esr']:.4g}")
        if own is None and not _exists(entry.get("manifest")):
            ensure_demo_capture(device, quick=quick, seed=int(entry.get("seed") or 0))
            extras.append("its capture was not on this machine and was rebuilt")
        _announce(f"using {_capture_words(device, quick, own)} and {_show(entry['checkpoint'])} from {_by(entry)}"
                  + (f" ({'; '.join(extras)})" if extras else ""))
        return Path(entry["checkpoint"])

    stem = run_stem(device, own)
    found = checkpoints_dir(run_name(stem, family, preset, quick), "best.pt")
    was = _show(entry["checkpoint"]) if entry and entry.get("checkpoint") else "the amp model"
    what = _amp_words(family, preset, quick, _capture_words(device, quick, own))
    doing = (f"using {what} found at {_show(found)}" if found.is_file()
             else f"training {what} here instead, {_amp_duration(quick)}")
    _announce(f"{_gone('amp_model', entry, was)}: {doing}")
    if own is None:
        capture = ensure_demo_capture(device, quick=quick, seed=seed)
        checkpoint = ensure_trained_model(device, family, preset, quick=quick, seed=seed)
    else:
        capture, checkpoint = Path(own), train_amp_model(own, family, preset, quick=quick, seed=seed)
    record("amp_model", notebook=notebook, checkpoint=Path(checkpoint), device=OWN_RECORDING if own else device,
           family=family, preset=preset, quick=quick, manifest=Path(capture),
           validation_esr=_validation_esr(Path(checkpoint)), seed=seed)
    return Path(checkpoint)


# ------------------------------------------------------------------------------------------ knob models
def use_knob_model(device: str = "overdrive", knobs: Iterable[str] = ("drive", "tone"),
                   kinds: Iterable[str] = ("concat", "film"), quick: bool = True, *, seed: int = 0,
                   notebook: str | None = None) -> dict[str, Path]:
    """Knob-model checkpoints (kind → ``best.pt``) of ``device`` conditioned on ``knobs``, as notebook 05 trains them.

    Recorded and on disk with the same device, knobs and mode, and every asked ``kinds`` among them: used
    (one line). Recorded otherwise: :class:`ConfigError` with the fix. Nothing on disk: one line, then the
    demo knob dataset is rendered and each kind trained here (quick: under a minute each; full: up to
    14 minutes each) and recorded.
    """
    knobs, kinds = list(knobs), list(kinds)
    entry = recorded("knob_model")
    saved = entry.get("checkpoints") if entry else None
    if entry is not None and isinstance(saved, dict) and saved and all(_exists(p) for p in saved.values()):
        have: dict[str, Any] = {"QUICK": entry.get("quick"), "DEVICE": entry.get("device"), "KNOBS": entry.get("knobs")}
        if not set(kinds) <= set(saved):
            have["KINDS"] = list(saved)
        diffs = _differences({"QUICK": quick, "DEVICE": device, "KNOBS": knobs, "KINDS": kinds}, have)
        if diffs:
            raise _mismatch("knob_model", entry, diffs, _knob_words(entry.get("device"), entry.get("knobs") or [],
                            list(saved), entry.get("quick")), _knob_words(device, knobs, kinds, quick), "trained",
                            "knob models")
        note = ""
        if not _exists(entry.get("dataset")):
            knob_dataset(device, knobs, quick=quick, seed=int(entry.get("seed") or 0))
            note = " (its dataset was not on this machine and was rebuilt)"
        paths = {k: Path(saved[k]) for k in kinds}
        _announce(f"using {_knob_words(device, knobs, kinds, quick)} from {_by(entry)}: "
                  + ", ".join(_show(p) for p in paths.values()) + note)
        return paths

    what = _knob_words(device, knobs, kinds, quick)
    each = "under a minute each" if quick else f"up to {round(FULL_KNOB_TRAINING['budget_s'] / 60)} minutes each"
    gone = [p for p in saved.values() if not _exists(p)] if isinstance(saved, dict) else []
    _announce(f"{_gone('knob_model', entry, _show(gone[0]) if gone else 'the knob model')}: training {what} "
              f"here instead, {each}")
    dataset = knob_dataset(device, knobs, quick=quick, seed=seed)
    paths = {k: Path(train_knob_model(dataset, k, quick=quick, seed=seed, name=f"knobs_{device}_{k}")) for k in kinds}
    record("knob_model", notebook=notebook, checkpoints=paths, kinds=kinds, device=device, knobs=knobs, quick=quick,
           dataset=Path(dataset), seed=seed)
    return paths


def _knob_words(device: Any, knobs: list[str], kinds: list[str], quick: Any) -> str:
    return f"the {_mode(quick)} {device} {'/'.join(knobs)} knob models {', '.join(kinds)}"


# ------------------------------------------------------------------------------------------ tunes
def use_tune_split(*, seed: int = 0, val_fraction: float = 0.1,
                   notebook: str | None = None) -> tuple[list[str], list[str]]:
    """``(training tunes, validation tunes)``: notebook 06's split of the ABC corpus.

    Recorded and on disk with the same ``seed`` and ``val_fraction`` (share of tunes held out): used (one
    line). Recorded otherwise: :class:`ConfigError` with the fix. Nothing on disk: one line, then the
    corpus is split again here (a few seconds) and recorded.
    """
    from helpers.abc import corpus

    entry = recorded("tunes")
    folder = entry.get("split") if entry else None
    if entry is not None and isinstance(folder, str) and all(_exists(str(Path(folder, f))) for f in ("train.abc", "val.abc")):
        diffs = _differences({"SEED": seed, "VAL_FRACTION": val_fraction},
                             {"SEED": entry.get("seed", seed), "VAL_FRACTION": entry.get("val_fraction", val_fraction)})
        if diffs:
            raise _mismatch("tunes", entry, diffs, _split_words(entry.get("seed"), entry.get("val_fraction")),
                            _split_words(seed, val_fraction), "made", "split")
        split = corpus.load_split(folder)
        if split is not None:
            _announce(f"using the ABC split {_show(folder)} ({len(split[0])} training and {len(split[1])} validation "
                      f"tunes) from {_by(entry)}")
            return split
    was = f"the ABC split {_show(folder)}" if folder else "the ABC split"
    _announce(f"{_gone('tunes', entry, was)}: splitting the corpus here instead "
              f"({_split_words(seed, val_fraction)}), a few seconds")
    made = build_tune_split(seed=seed, val_fraction=val_fraction)
    record("tunes", notebook=notebook, split=Path(made), seed=seed, val_fraction=val_fraction)
    split = corpus.load_split(made)
    if split is None:
        raise DataError(f"{made}: the split was written but train.abc/val.abc cannot be read back; check the disk")
    return split


def _split_words(seed: Any, val_fraction: Any) -> str:
    return f"seed {seed}, {val_fraction} of the tunes held out"
