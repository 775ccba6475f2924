"""helpers.finale: the plumbing of notebook 09 (knob sweep, fades, tune → guitar notes, tune choice, knob track,
checkpoint lookup, spectra)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers import finale
from helpers.errors import ConfigError, DataError
from helpers.knobs.encoding import make_encoding
from helpers.knobs.space import KnobSpace

TUNE = "X:1\nT:Test\nM:4/4\nL:1/8\nQ:1/4=120\nK:D\nDEFG ABcd|\n"  # eighth notes of 0.25 s


# ------------------------------------------------------------------------------------------ knob_sweep
def test_knob_sweep_runs_from_start_to_exactly_end_normalised():
    s = finale.knob_sweep(48_000, 0.0, 10.0)
    assert s.shape == (48_000,) and s.dtype == np.float32
    assert s[0] == 0.0 and s[-1] == 1.0 and np.all(np.diff(s) > 0)
    np.testing.assert_allclose(finale.knob_sweep(3, -24.0, 12.0, -24.0, 12.0), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(finale.knob_sweep(3, 10.0, 5.0), [1.0, 0.75, 0.5])
    np.testing.assert_allclose(finale.knob_sweep(1, 3.0, 8.0), [0.3])


def test_knob_sweep_refuses_nonsense():
    with pytest.raises(ConfigError):
        finale.knob_sweep(0, 0.0, 10.0)
    with pytest.raises(ConfigError):
        finale.knob_sweep(10, 0.0, 10.0, minimum=5.0, maximum=5.0)


# ------------------------------------------------------------------------------------------ apply_fades
def test_apply_fades_silences_the_edges_and_leaves_the_middle():
    x = np.ones(1000, dtype=np.float32)
    y = finale.apply_fades(x, 10.0, 10_000)  # 100 samples each
    assert y[0] == 0.0 and y[-1] == 0.0 and y[99] == 1.0 and y[-100] == 1.0
    np.testing.assert_array_equal(y[100:-100], 1.0)
    np.testing.assert_allclose(y[:100], np.linspace(0, 1, 100), atol=1e-7)
    np.testing.assert_array_equal(x, 1.0)  # the input is not modified
    assert y.dtype == np.float32


def test_apply_fades_zero_length_and_too_long():
    x = np.arange(10, dtype=np.float32)
    np.testing.assert_array_equal(finale.apply_fades(x, 0.0, 48_000), x)
    assert finale.fade_samples(2.9, 44_100) == 128
    with pytest.raises(ConfigError, match="do not fit"):
        finale.apply_fades(x, 1.0, 6_000)  # 6 samples each > half of 10


# ------------------------------------------------------------------------------------------ tune → notes
def test_tune_notes_cut_at_the_clip_end_and_transposed():
    notes = finale.tune_notes(TUNE, 0.6, use_abc2midi=False)
    assert [n.pitch for n in notes] == [62, 64, 66]  # D E F# (key of D)
    assert notes[-1].start == 0.5 and notes[-1].end == pytest.approx(0.6)
    down = finale.tune_notes(TUNE, 1.0, transpose=-12, use_abc2midi=False)
    assert [n.pitch for n in down] == [50, 52, 54, 55]
    assert [n.start for n in down] == sorted(n.start for n in down)


def test_tune_notes_refuses_a_clip_without_notes():
    with pytest.raises(DataError, match="no note"):
        finale.tune_notes("X:1\nT:Rest\nM:4/4\nL:1/8\nQ:1/4=120\nK:D\nz8|D8|\n", 0.5, use_abc2midi=False)
    with pytest.raises(ConfigError):
        finale.tune_notes(TUNE, 0.0, use_abc2midi=False)


# ------------------------------------------------------------------------------------------ choosing a tune
def test_choose_tune_takes_a_clean_complete_one():
    table = pd.DataFrame([
        {"clean": False, "header_complete": True, "notes": 90, "in_key": 1.0},   # a bar warning
        {"clean": True, "header_complete": False, "notes": 90, "in_key": 1.0},   # no K: field
        {"clean": True, "header_complete": True, "notes": 3, "in_key": 1.0},     # too short
        {"clean": True, "header_complete": True, "notes": 40, "in_key": 0.9},
        {"clean": True, "header_complete": True, "notes": 30, "in_key": 1.0},    # most in key: chosen
    ])
    assert finale.choose_tune(table) == 4
    assert finale.choose_tune(table.iloc[:3]) is None
    assert finale.choose_tune(table.iloc[:3], min_notes=2) == 2


# ------------------------------------------------------------------------------------------ knob track
SPACE = KnobSpace.from_list([
    {"name": "drive", "minimum": 0.0, "maximum": 10.0, "default": 5.0},
    {"name": "tone", "minimum": 0.0, "maximum": 10.0, "default": 2.0},
])


def test_knob_track_values_and_onehot():
    pos = np.linspace(0, 1, 5)
    values = finale.knob_track(make_encoding("values", SPACE), "drive", pos)
    assert values.shape == (2, 5) and values.dtype == np.float32
    np.testing.assert_allclose(values[0], pos)
    np.testing.assert_allclose(values[1], 0.2)  # tone held at its default
    onehot = finale.knob_track(make_encoding("onehot", SPACE), "tone", pos)
    assert onehot.shape == (3, 5)
    np.testing.assert_allclose(onehot[:2], [[0] * 5, [1] * 5])
    np.testing.assert_allclose(onehot[2], pos)
    with pytest.raises(ConfigError, match="no 'gain' knob"):
        finale.knob_track(make_encoding("values", SPACE), "gain", pos)


# ------------------------------------------------------------------------------------------ checkpoints, spectra
def test_find_checkpoint_takes_the_first_run_that_has_one(tmp_path, monkeypatch):
    monkeypatch.setenv("NAL_CHECKPOINTS", str(tmp_path))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "best.pt").write_bytes(b"x")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "best.pt").write_bytes(b"x")
    assert finale.find_checkpoint(["a", "b", "c"]) == tmp_path / "b" / "best.pt"
    assert finale.find_checkpoint(["a"]) is None


def test_spectrum_and_centroid_of_a_sine(sine):
    freqs, db = finale.average_spectrum_db(sine, 48_000)
    assert abs(freqs[np.argmax(db)] - 440.0) < 48_000 / 4096
    assert abs(finale.spectral_centroid_hz(sine, 48_000) - 440.0) < 30.0
    assert finale.spectral_centroid_hz(np.zeros(4096, dtype=np.float32), 48_000) == 0.0
    assert np.all(np.isfinite(finale.average_spectrum_db(np.zeros(4096), 48_000)[1]))


def test_capture_device_reads_the_manifest(tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"device": {"name": "overdrive", "knobs": {"drive": 5, "tone": 5.0},
                                               "virtual": True}}))
    assert finale.capture_device({"manifest": str(manifest)}) == ("overdrive", {"drive": 5.0, "tone": 5.0})
    manifest.write_text(json.dumps({"device": {"name": "my amp", "virtual": False}}))
    assert finale.capture_device({"manifest": str(manifest)}) is None  # a real recording: no reference
    assert finale.capture_device({"manifest": str(tmp_path / "gone.json")}) is None
    assert finale.capture_device({}) is None
