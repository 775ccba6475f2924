"""helpers.course: the record of what each notebook made, and what later notebooks use (no real training)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from helpers import course
from helpers.errors import ConfigError, DataError
from helpers.training import save_checkpoint

BUILDERS = ("ensure_demo_capture", "ensure_trained_model", "train_amp_model", "knob_dataset", "train_knob_model",
            "build_tune_split")


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Temporary data/checkpoints/outputs; every builder fails the test unless a test replaces it."""
    for name, sub in (("NAL_DATA", "data"), ("NAL_CHECKPOINTS", "checkpoints"), ("NAL_OUTPUTS", "outputs")):
        monkeypatch.setenv(name, str(tmp_path / sub))
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def forbidden(name: str):
        def builder(*args: Any, **kwargs: Any) -> Path:
            raise AssertionError(f"{name} must not be called here ({args}, {kwargs})")
        return builder

    for name in BUILDERS:
        monkeypatch.setattr(course, name, forbidden(name))
    return {"root": tmp_path, "calls": calls, "mp": monkeypatch}


def fake(lab: dict[str, Any], name: str, result) -> None:
    """Replace builder ``name`` by one that logs its call and returns ``result(*args, **kwargs)``."""
    def builder(*args: Any, **kwargs: Any) -> Any:
        lab["calls"].append((name, args, kwargs))
        return result(*args, **kwargs)
    lab["mp"].setattr(course, name, builder)


def manifest(path: Path, sample_rate: int = 48_000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"sample_rate": sample_rate}))
    return path


def checkpoint(path: Path, esr: float = 0.0123) -> Path:
    return save_checkpoint(path, {"kind": "amp", "trainer": {"best_score": esr}})


def amp_entry(root: Path, *, quick: bool = True, preset: str = "feather", device: str = "overdrive",
              own: Path | None = None, ckpt: Path | None = None) -> dict[str, Any]:
    """Record an amp model as notebook 02 would (checkpoint and capture files created)."""
    capture = own or manifest(root / "data" / "demo" / device / "manifest.json")
    ckpt = ckpt or checkpoint(root / "checkpoints" / f"{device}_nam_{preset}{'_quick' if quick else ''}" / "best.pt")
    return course.record("amp_model", notebook="02", checkpoint=ckpt, device=course.OWN_RECORDING if own else device,
                         family="nam", preset=preset, quick=quick, manifest=capture, validation_esr=0.0123, seed=0)


# ------------------------------------------------------------------------------------------ the record
def test_record_round_trip(lab):
    ckpt = lab["root"] / "c.pt"
    entry = course.record("amp_model", notebook="02", checkpoint=ckpt, device="overdrive", family="nam",
                          preset=None, quick=False, manifest=Path("rel/manifest.json"), validation_esr=float("nan"))
    got = course.recorded("amp_model")
    assert got == entry
    assert got["checkpoint"] == str(ckpt.resolve()) and Path(got["manifest"]).is_absolute()
    assert got["notebook"] == "02" and got["validation_esr"] is None and got["preset"] is None
    assert datetime.fromisoformat(got["made_at"]).tzinfo is not None
    assert course.course_file() == lab["root"] / "outputs" / "course.json"
    assert course.recorded("capture") is None
    course.record("tunes", notebook="06", split=lab["root"], seed=0, val_fraction=0.1, quick=True)
    course.record("tunes", notebook="07", update=True, checkpoint=ckpt, preset="quick")
    tunes = course.recorded("tunes")
    assert tunes["seed"] == 0 and tunes["checkpoint"] == str(ckpt.resolve()) and tunes["notebook"] == "07"
    assert course.recorded("amp_model") == entry  # other kinds untouched


def test_record_refuses_unknown_kinds_missing_facts_and_a_broken_file(lab):
    with pytest.raises(ConfigError, match="unknown artefact kind 'model'"):
        course.record("model", notebook="02")
    with pytest.raises(ConfigError, match="needs the facts checkpoint"):
        course.record("amp_model", notebook="02", device="overdrive", family="nam", preset="feather", quick=True,
                      manifest="m.json")
    course.course_file().write_text("{not json")
    with pytest.raises(DataError, match="delete it"):
        course.recorded("capture")


# ------------------------------------------------------------------------------------------ amp model
def test_matching_amp_record_is_used_and_announced(lab, capsys):
    entry = amp_entry(lab["root"])
    got = course.use_amp_model("overdrive", "nam", "feather", True, notebook="03")
    assert got == Path(entry["checkpoint"])
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"using the overdrive capture (quick) and {entry['checkpoint']} from notebook 02 "
                     "(validation ESR 0.0123)"]


def test_quick_notebook_refuses_a_full_mode_model(lab):
    amp_entry(lab["root"], quick=False, preset="standard")
    with pytest.raises(ConfigError) as err:
        course.use_amp_model("overdrive", "nam", "feather", quick=True, notebook="03")
    msg = str(err.value)
    assert "notebook 02 trained a full-mode nam standard model on the overdrive capture (full)" in msg
    assert "asks for a quick nam feather model on the overdrive capture (quick)" in msg
    assert ('set QUICK = False (and PRESET = "standard") to use the model notebook 02 trained, '
            "or run notebook 02 again with these settings") in msg


def test_model_must_be_trained_on_the_requested_manifest(lab, capsys):
    mine = manifest(lab["root"] / "mine" / "manifest.json")
    amp_entry(lab["root"])  # trained on the demo capture
    with pytest.raises(ConfigError, match=r'set MANIFEST = None \(and DEVICE = "overdrive"\)'):
        course.use_amp_model(manifest=mine, notebook="03")
    entry = amp_entry(lab["root"], own=mine)  # trained on your recording
    with pytest.raises(ConfigError, match=f'set MANIFEST = "{mine}" to use the model notebook 02 trained'):
        course.use_amp_model("overdrive", notebook="03")
    assert course.use_amp_model(manifest=mine) == Path(entry["checkpoint"])
    assert capsys.readouterr().out.startswith(f"using your recording {mine} and {entry['checkpoint']}")


def test_missing_checkpoint_is_announced_rebuilt_and_recorded(lab, capsys):
    root = lab["root"]
    old = amp_entry(root)
    Path(old["checkpoint"]).unlink()  # a fresh machine
    demo = root / "data" / "demo" / "overdrive" / "manifest.json"
    fake(lab, "ensure_demo_capture", lambda device, quick, seed: manifest(demo))
    fake(lab, "ensure_trained_model",
         lambda device, family, preset, quick, seed: checkpoint(root / "checkpoints" / "new" / "best.pt", 0.05))
    got = course.use_amp_model("overdrive", "nam", "feather", True, notebook="03")
    assert got == root / "checkpoints" / "new" / "best.pt"
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"{old['checkpoint']} from notebook 02 is not on this machine (a fresh runtime?): training a "
                     "quick nam feather model on the overdrive capture (quick) here instead, under a minute"]
    assert [c[0] for c in lab["calls"]] == ["ensure_demo_capture", "ensure_trained_model"]
    assert lab["calls"][1][2] == {"quick": True, "seed": 0}
    new = course.recorded("amp_model")
    assert new["checkpoint"] == str(got) and new["notebook"] == "03" and new["validation_esr"] == pytest.approx(0.05)
    assert new["manifest"] == str(demo) and new["quick"] is True and new["preset"] == "feather"
    with pytest.raises(ConfigError, match="use the model notebook 03 trained, or run notebook 02 again"):
        course.use_amp_model("overdrive", "nam", "feather", quick=False, notebook="04")


def test_unrecorded_checkpoint_on_disk_is_announced_and_recorded(lab, capsys):
    root = lab["root"]
    best = checkpoint(root / "checkpoints" / "overdrive_nam_feather_quick" / "best.pt", 0.2)
    fake(lab, "ensure_demo_capture", lambda device, quick, seed: manifest(root / "data" / "demo" / "m.json"))
    fake(lab, "ensure_trained_model", lambda *a, **k: best)
    assert course.use_amp_model(notebook="03") == best
    assert capsys.readouterr().out.splitlines() == [
        "no amp model recorded (notebook 02 has not run on this machine): using a quick nam feather model on the "
        f"overdrive capture (quick) found at {best}"]
    assert course.recorded("amp_model")["validation_esr"] == pytest.approx(0.2)


def test_nothing_recorded_full_mode_announces_the_budget(lab, capsys):
    root = lab["root"]
    fake(lab, "ensure_demo_capture", lambda device, quick, seed: manifest(root / "data" / "demo" / device / "m.json"))
    fake(lab, "ensure_trained_model", lambda *a, **k: checkpoint(root / "checkpoints" / "full" / "best.pt"))
    course.use_amp_model("high_gain", "nam", "standard", quick=False, notebook="04")
    out = capsys.readouterr().out.splitlines()
    assert out == ["no amp model recorded (notebook 02 has not run on this machine): training a full-mode nam "
                   "standard model on the high_gain capture (full) here instead, about 10 minutes"]
    assert lab["calls"][1][1:] == (("high_gain", "nam", "standard"), {"quick": False, "seed": 0})
    assert course.recorded("amp_model")["device"] == "high_gain"


def test_own_manifest_missing_is_a_data_error(lab):
    gone = lab["root"] / "upload" / "manifest.json"
    with pytest.raises(DataError, match="upload its folder") as err:
        course.use_amp_model(manifest=gone, notebook="03")
    assert "run notebook 01" in str(err.value) and "cannot be rebuilt" in str(err.value)
    with pytest.raises(DataError, match="cannot be rebuilt"):
        course.use_capture(manifest=gone)
    assert course.recorded("amp_model") is None and not lab["calls"]


def test_own_manifest_without_a_model_is_trained_on(lab, capsys):
    root = lab["root"]
    mine = manifest(root / "my_amp" / "manifest.json")
    fake(lab, "train_amp_model", lambda m, family, preset, quick, seed: checkpoint(root / "own.pt"))
    got = course.use_amp_model(family="nam", preset="nano", quick=True, manifest=mine.parent, notebook="02")
    assert got == root / "own.pt"
    assert f"training a quick nam nano model on your recording {mine} here instead" in capsys.readouterr().out
    assert lab["calls"][0][1] == (str(mine), "nam", "nano")
    entry = course.recorded("amp_model")
    assert entry["device"] == course.OWN_RECORDING and entry["manifest"] == str(mine)


# ------------------------------------------------------------------------------------------ capture
def test_capture_matching_mismatching_and_rebuilt(lab, capsys):
    root = lab["root"]
    demo = manifest(root / "data" / "demo" / "overdrive" / "manifest.json")
    course.record("capture", notebook="01", manifest=demo, device="overdrive", quick=False, sample_rate=48_000)
    with pytest.raises(ConfigError, match="set QUICK = False to use the capture notebook 01 made"):
        course.use_capture("overdrive", quick=True)
    assert course.use_capture("overdrive", quick=False) == demo
    assert capsys.readouterr().out == f"using the overdrive capture (full) {demo} from notebook 01\n"

    mine = manifest(root / "mine" / "manifest.json", 44_100)
    course.record("capture", notebook="01", manifest=mine, device=course.OWN_RECORDING, quick=True)
    with pytest.raises(ConfigError, match=f'set MANIFEST = "{mine}"'):
        course.use_capture("overdrive", quick=True)
    assert course.use_capture(manifest=mine) == mine

    demo.unlink()
    course.record("capture", notebook="01", manifest=demo, device="overdrive", quick=True)
    capsys.readouterr()
    fake(lab, "ensure_demo_capture", lambda device, quick, seed: manifest(demo, 48_000))
    assert course.use_capture("overdrive", quick=True, notebook="02") == demo
    assert capsys.readouterr().out.splitlines() == [
        "the overdrive capture (quick) from notebook 01 is not on this machine (a fresh runtime?): building the "
        "overdrive capture (quick) here instead, a few seconds"]
    entry = course.recorded("capture")
    assert entry["notebook"] == "02" and entry["sample_rate"] == 48_000 and len(lab["calls"]) == 1


# ------------------------------------------------------------------------------------------ knob models
def test_knob_models_used_refused_and_rebuilt(lab, capsys):
    root = lab["root"]
    dataset = manifest(root / "data" / "knobs" / "k" / "manifest.json")
    ckpts = {k: checkpoint(root / "checkpoints" / f"knobs_overdrive_{k}" / "best.pt") for k in ("concat", "film")}
    course.record("knob_model", notebook="05", checkpoints=ckpts, kinds=list(ckpts), device="overdrive",
                  knobs=["drive", "tone"], quick=True, dataset=dataset)
    assert course.use_knob_model(kinds=["film"]) == {"film": ckpts["film"]}
    assert capsys.readouterr().out.startswith("using the quick overdrive drive/tone knob models film from notebook 05")
    with pytest.raises(ConfigError, match=r'set KINDS = \("concat", "film"\) to use the knob models notebook 05'):
        course.use_knob_model(kinds=["lstm"])
    with pytest.raises(ConfigError, match="set QUICK = True"):
        course.use_knob_model(quick=False)

    ckpts["film"].unlink()
    fake(lab, "knob_dataset", lambda device, knobs, quick, seed: dataset)
    fake(lab, "train_knob_model", lambda d, kind, quick, seed, name: checkpoint(root / name / "best.pt"))
    got = course.use_knob_model(kinds=("film", "lstm"), quick=False, notebook="08")
    assert got == {k: root / f"knobs_overdrive_{k}" / "best.pt" for k in ("film", "lstm")}
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and "is not on this machine" in out[0] and "up to 14 minutes each" in out[0]
    assert [c[0] for c in lab["calls"]] == ["knob_dataset", "train_knob_model", "train_knob_model"]
    entry = course.recorded("knob_model")
    assert entry["kinds"] == ["film", "lstm"] and entry["quick"] is False and entry["notebook"] == "08"


# ------------------------------------------------------------------------------------------ tunes
def test_tune_split_rebuilt_then_used_and_checked(lab, capsys):
    from helpers.abc import corpus

    tunes = [f"X:1\nT:Tune {i}\nM:4/4\nK:D\n|:defg|" for i in range(6)]

    def build(seed: int, val_fraction: float) -> Path:
        return corpus.save_split(tunes[:5], tunes[5:], folder=lab["root"] / "data" / "abc_split")["train"].parent

    fake(lab, "build_tune_split", build)
    train_tunes, val_tunes = course.use_tune_split(seed=0, notebook="07")
    assert len(train_tunes) == 5 and len(val_tunes) == 1
    assert capsys.readouterr().out.splitlines() == [
        "no tunes recorded (notebook 06 has not run on this machine): splitting the corpus here instead "
        "(seed 0, 0.1 of the tunes held out), a few seconds"]
    assert course.use_tune_split(seed=0) == (train_tunes, val_tunes)
    assert "using the ABC split" in capsys.readouterr().out and len(lab["calls"]) == 1
    with pytest.raises(ConfigError, match="set SEED = 0 to use the split notebook 07 made"):
        course.use_tune_split(seed=1)
