"""Splits, crops, normalisation, repeatability, manifest round trip and the demo capture."""

import json

import numpy as np
import pytest

from helpers.capture import latency, reamp, splits
from helpers.capture.dataset import build_capture
from helpers.capture.demo import DEMO_LATENCY, demo_name, ensure_demo_capture, simulate_recording
from helpers.capture.manifest import ManifestError, load_manifest, save_manifest
from helpers.capture.normalization import apply_normalization, choose_normalization, export_gains, undo_output
from helpers.capture.repeatability import ESR_PROBLEM, check_repeatability, esr
from helpers.paths import data_dir

SR = 48_000


@pytest.fixture(scope="module")
def demo_path():
    return ensure_demo_capture("overdrive", quick=True, seed=0)


def _overlaps(ranges_a, ranges_b):
    return any(a0 < b1 and b0 < a1 for a0, a1 in ranges_a for b0, b1 in ranges_b)


def test_demo_manifest_interface(demo_path):
    assert demo_path == data_dir("demo", "overdrive", "manifest.json")
    m = load_manifest(demo_path)
    assert m.sample_rate == SR and m.latency_samples == DEMO_LATENCY and m.seed == 0
    x, y = m.load_audio()
    assert x.dtype == y.dtype == np.float32 and x.shape == y.shape == (m.length,)
    assert set(m.splits) == {"train", "validation", "test"}
    assert m.device["name"] == "overdrive" and set(m.device["knobs"]) == {"drive", "tone", "level"}
    assert {"name", "start", "end"} <= set(m.sections[0])
    assert m.repeatability["verdict"] in ("excellent", "ok")
    assert m.latency["confidence"] == "high"
    # Aligned: the blip response starts exactly at the blip.
    b = m.blips[0]
    assert abs(y[b]) > 10 * np.abs(y[b - 200:b - 1]).max()
    # The audio paths in the JSON are relative to the manifest.
    raw = json.loads(demo_path.read_text())
    assert raw["input_file"] == "input.wav" and raw["output_file"] == "output.wav"


def test_aligned_output_matches_the_device(demo_path):
    from helpers.capture.devices import get_device
    from helpers.capture.normalization import Normalization

    m = load_manifest(demo_path)
    x, y = m.load_audio(normalize=False)
    clean = get_device("overdrive").process(x, SR)
    n = len(x) - DEMO_LATENCY
    assert esr(y[:n], clean[:n]) < 1e-5
    _xn, yn = m.load_audio()
    np.testing.assert_allclose(undo_output(yn, Normalization.from_dict(m.normalization)), y, atol=1e-6)
    assert abs(np.abs(yn).max() - 10 ** (-1 / 20)) < 1e-3  # output peak normalised to -1 dBFS


def test_splits_never_overlap_and_hold_out_validation_a(demo_path):
    m = load_manifest(demo_path)
    tr, va, te = m.splits["train"], m.splits["validation"], m.splits["test"]
    assert not _overlaps(tr, va) and not _overlaps(tr, te) and not _overlaps(va, te)
    val_a = m.section("validation_a")
    assert not _overlaps(tr, [(val_a["start"], val_a["end"])])
    assert va == [(m.section("validation_b")["start"], m.section("validation_b")["end"])]
    assert te == [(m.section("test_phrases")["start"], m.section("test_phrases")["end"])]
    splits.check_splits(m.splits, m.length)
    with pytest.raises(splits.SplitOverlapError, match="overlaps"):
        splits.check_splits({"train": [(0, 100)], "validation": [(90, 200)], "test": [(300, 400)]})


def test_splits_by_fraction_leave_a_guard():
    s = splits.splits_by_fraction(100_000, validation=0.1, test=0.1, guard=4093)
    splits.check_splits(s, 100_000)
    assert s["validation"][0][1] == 100_000 and s["test"][0][0] - s["train"][0][1] == 4093
    with pytest.raises(ValueError, match="too few"):
        splits.splits_by_fraction(5000, guard=4093)


def test_random_crops_stay_inside_one_train_range():
    ranges = [(0, 10_000), (20_000, 21_000), (30_000, 50_000)]
    starts = splits.random_crops(ranges, crop_length=2048, receptive_field=4093, count=500, rng=0)
    for s in starts:
        assert any(a <= s - 4093 + 1 and s + 2048 <= b for a, b in ranges)
    assert not np.any((starts >= 20_000) & (starts < 21_000))  # too short to hold a crop
    assert starts.min() - 4093 + 1 <= 2000 and starts.max() + 2048 >= 48_000  # covers the ranges
    np.testing.assert_array_equal(starts, splits.random_crops(ranges, 2048, 4093, 500, np.random.default_rng(0)))
    with pytest.raises(splits.CropError, match="shorter crops"):
        splits.random_crops([(0, 1000)], 2048, 4093, 1, 0)


def test_manifest_round_trip(tmp_path, demo_path):
    m = load_manifest(demo_path)
    copy = tmp_path / "elsewhere" / "manifest.json"
    save_manifest(m, copy)
    again = load_manifest(copy)
    assert again.to_dict() == m.to_dict()
    for a, b in zip(again.load_audio(), load_manifest(demo_path).load_audio()):
        np.testing.assert_array_equal(a, b)


def test_bad_manifests_give_clear_errors(tmp_path, demo_path):
    with pytest.raises(ManifestError, match="no manifest"):
        load_manifest(tmp_path / "nothing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ManifestError, match="not valid JSON"):
        load_manifest(bad)
    d = json.loads(demo_path.read_text())
    del d["latency_samples"]
    bad.write_text(json.dumps(d))
    with pytest.raises(ManifestError, match=r"missing fields.*latency_samples"):
        load_manifest(bad)
    d = json.loads(demo_path.read_text())
    d["splits"]["test"] = d["splits"]["train"]
    bad.write_text(json.dumps(d))
    with pytest.raises(ManifestError, match="overlaps"):
        load_manifest(bad)
    d = json.loads(demo_path.read_text())
    bad.write_text(json.dumps(d))  # audio paths relative to a folder that has no audio
    with pytest.raises(ManifestError, match="missing"):
        load_manifest(bad)


def test_demo_is_cached_and_rebuilt_when_parameters_change(demo_path):
    stamp = demo_path.stat().st_mtime_ns
    assert ensure_demo_capture("overdrive", quick=True, seed=0) == demo_path
    assert demo_path.stat().st_mtime_ns == stamp
    other = ensure_demo_capture("overdrive", quick=True, seed=0, knobs={"drive": 9})
    assert other.parent.name == demo_name("overdrive", {"drive": 9}) == "overdrive_drive9"
    assert load_manifest(other).device["knobs"]["drive"] == 9


def test_same_seed_same_data(tmp_path, monkeypatch):
    def build(sub):
        monkeypatch.setenv("NAL_DATA", str(tmp_path / sub))
        p = ensure_demo_capture("high_gain", quick=True, seed=5)
        return p, load_manifest(p)

    (_p1, m1), (_p2, m2) = build("a"), build("b")
    for a, b in zip(m1.load_audio(normalize=False), m2.load_audio(normalize=False)):  # WAV headers hold a timestamp
        np.testing.assert_array_equal(a, b)
    assert {**m1.to_dict(), "name": ""} == {**m2.to_dict(), "name": ""}


def test_repeatability_verdicts():
    rng = np.random.default_rng(0)
    take = rng.standard_normal(10_000).astype(np.float32) * 0.3
    y = np.concatenate([take, np.zeros(100, np.float32), take])
    assert check_repeatability(y, (0, 10_000), (10_100, 20_100)).verdict == "excellent"
    y2 = y.copy()
    y2[10_100:] *= 1.2  # a level change between the takes: ESR 0.04
    rep = check_repeatability(y2, (0, 10_000), (10_100, 20_100))
    assert rep.verdict == "problem" and rep.esr > ESR_PROBLEM and "record again" in rep.message
    y3 = y.copy()
    y3[10_100:] += rng.standard_normal(10_000).astype(np.float32) * 0.01
    assert check_repeatability(y3, (0, 10_000), (10_100, 20_100)).verdict == "ok"


def test_normalisation_is_recorded_and_undone():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(1000).astype(np.float32) * 0.1
    y = x * 0.05
    norm = choose_normalization(y, "output_peak", -1.0)
    xn, yn = apply_normalization(x, y, norm)
    np.testing.assert_array_equal(xn, x)  # the input keeps its real level
    assert abs(np.abs(yn).max() - 10 ** (-1 / 20)) < 1e-6
    np.testing.assert_allclose(undo_output(yn, norm), y, rtol=1e-5)
    g_in, g_out = export_gains(norm)
    np.testing.assert_allclose(g_out * yn, y, rtol=1e-5)
    assert g_in == 1.0
    assert choose_normalization(y, "none").output_gain_db == 0.0


def test_user_pair_without_layout_and_manual_latency(tmp_path, rng):
    n = 6 * SR
    x = (0.2 * rng.standard_normal(n)).astype(np.float32)
    y = np.zeros_like(x)
    y[100:] = np.tanh(3 * x[:-100])
    with pytest.raises(latency.LowConfidenceError, match="manual"):  # noise has no isolated transients
        build_capture(x, y, SR, tmp_path / "mine", device={"name": "my amp", "knobs": {"gain": "2 o'clock"}})
    m = build_capture(x, y, SR, tmp_path / "mine", manual_latency=100, device={"name": "my amp", "knobs": {}})
    assert m.latency["method"] == "manual" and m.repeatability is None
    mx, my = load_manifest(m.path).load_audio(normalize=False)
    np.testing.assert_allclose(my[:-100], np.tanh(3 * mx[:-100]), atol=1e-6)
    splits.check_splits(m.splits, n)


def test_build_capture_from_reamp_signal_with_layout(tmp_path):
    sig = reamp.make_reamp_signal(quick=True, seed=1)
    rec = simulate_recording(sig.audio, "edge_of_breakup", SR, latency=1000, seed=1)
    m = build_capture(sig.audio, rec, SR, tmp_path / "cap", layout=sig.layout, device={"name": "edge", "knobs": {}})
    assert m.latency_samples == 1000 and m.latency["confidence"] == "high"
    assert [s["name"] for s in m.sections] == [s.name for s in sig.layout.sections]
    with pytest.raises(ValueError, match="layout describes"):
        build_capture(sig.audio[:-10], rec[:-10], SR, tmp_path / "cut", layout=sig.layout)
