import json

import numpy as np
import pytest

from helpers.amp.data import AmpData, toy_pair
from helpers.amp.evaluate import evaluate, predict, verdict
from helpers.amp.listen import loudness_match, section_clips
from helpers.amp.train import TrainConfig, train
from helpers.audio import load_wav, rms_dbfs, save_wav


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    data = toy_pair(4.0, 16_000, seed=3)
    half = len(data.x) // 2
    data.sections = [{"name": "first", "start": 0, "end": half, "role": "train"},
                     {"name": "gap", "start": half, "end": half + 100, "role": "gap"},
                     {"name": "second", "start": half + 100, "end": len(data.x), "role": "test"}]
    folder = tmp_path_factory.mktemp("ck")
    result = train(data, TrainConfig(preset="nano", epochs=2, batch_size=2, crop_length=2048, steps_per_epoch=4,
                                     track=False, progress=False, checkpoint_dir=str(folder)))
    return data, result


def test_evaluate_scores_test_split_and_sections_worst_first(trained):
    data, result = trained
    ev = evaluate(result.model, data)
    s, e = data.splits["test"][0]
    pred = predict(result.model, data.x)
    expected = float(np.sum((data.y[s:e] - pred[s:e]) ** 2) / np.sum(data.y[s:e] ** 2))
    assert ev.test_esr == pytest.approx(expected, rel=1e-5)
    assert [r["section"] for r in ev.sections] == sorted(["first", "second"], key=lambda n: -next(
        r["esr"] for r in ev.sections if r["section"] == n))
    assert "gap" not in {r["section"] for r in ev.sections}
    assert ev.worst_section()["esr"] == max(r["esr"] for r in ev.sections)


def test_verdicts_follow_nam_thresholds():
    assert verdict(0.005) == "great" and verdict(0.02) == "not bad" and verdict(0.05) == "might sound OK"
    assert verdict(0.5) == "needs work"


def test_loudness_match_equalises_rms_but_keeps_residual_relative():
    rng = np.random.default_rng(0)
    target = rng.standard_normal(4800).astype(np.float32) * 0.1
    clips = {"target": target, "prediction": 3 * target, "residual": 0.01 * target, "dry": 0.5 * target}
    out = loudness_match(clips, -20.0)
    assert rms_dbfs(out["target"]) == pytest.approx(-20, abs=0.01)
    assert rms_dbfs(out["prediction"]) == pytest.approx(-20, abs=0.01)
    assert rms_dbfs(out["residual"]) == pytest.approx(-60, abs=0.01)  # still 40 dB below the target
    c = section_clips(np.zeros(10), np.arange(10.0), np.ones(10), 2, 6)
    assert c["residual"].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_cli_predict_and_evaluate(trained, tmp_path, capsys):
    from helpers.amp.__main__ import main

    data, result = trained
    dry = save_wav(tmp_path / "dry.wav", data.x, data.sample_rate)
    assert main(["predict", "--checkpoint", str(result.best_path), "--input", str(dry), "--output",
                 str(tmp_path / "wet.wav")]) == 0
    wet, sr = load_wav(tmp_path / "wet.wav")
    assert sr == data.sample_rate and len(wet) == len(data.x)
    np.testing.assert_allclose(wet, predict(result.model, data.x), atol=1e-6)
    assert main(["evaluate", "--checkpoint", str(result.best_path)]) == 2  # toy data has no manifest
    assert "pass --manifest" in capsys.readouterr().err


def test_cli_trains_on_a_demo_capture(tmp_path, capsys, monkeypatch):
    from helpers.amp.__main__ import main

    monkeypatch.setenv("NAL_CHECKPOINTS", str(tmp_path))
    assert main(["train", "--demo", "overdrive", "--quick-data", "--preset", "nano", "--epochs", "1",
                 "--steps-per-epoch", "2", "--batch-size", "2", "--crop-length", "4096", "--no-track"]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out[out.index("{"):])
    best = tmp_path / "overdrive_nam_nano" / "best.pt"
    assert summary["run"] == "overdrive_nam_nano" and summary["best"] == str(best) and best.exists()
    assert main(["evaluate", "--checkpoint", str(best)]) == 0
    assert "test ESR" in capsys.readouterr().out


def test_from_manifest_round_trip():
    from helpers.capture.demo import ensure_demo_capture

    data = AmpData.from_manifest(ensure_demo_capture("overdrive", quick=True))
    assert data.name == "overdrive" and data.sample_rate == 48_000
    assert data.meta()["normalization"]["policy"] == "output_peak"
    assert data.split_samples("train") > data.split_samples("test") > 0


def test_abx_player_keeps_score():
    from helpers.amp.listen import abx_player

    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(16_000)).astype(np.float32)
    player = abx_player(x, x, 0.9 * x, 16_000, [{"name": "all", "start": 0, "end": 16_000}], max_seconds=0.5)
    truth = player.score["x"]
    player.guess(truth)(None)
    wrong = "prediction" if player.score["x"] == "target" else "target"
    player.guess(wrong)(None)
    assert player.score["right"] == 1 and player.score["total"] == 2


def test_error_plot_leaves_out_gaps_blips_and_silence():
    import matplotlib

    matplotlib.use("Agg")
    from helpers.amp.plots import error_over_time

    sr = 1000
    rng = np.random.default_rng(0)
    target = np.concatenate([0.5 * rng.standard_normal(1000), 1e-5 * rng.standard_normal(1000),
                             0.5 * rng.standard_normal(1000)]).astype(np.float32)
    pred = target + 0.05 * rng.standard_normal(3000).astype(np.float32)
    sections = [{"name": "blips", "role": "alignment", "start": 0, "end": 500},
                {"name": "music", "role": "train", "start": 500, "end": 1000},
                {"name": "quiet", "role": "train", "start": 1000, "end": 2000},
                {"name": "more", "role": "train", "start": 2000, "end": 3000}]
    fig = error_over_time(target, pred, sr, window_s=0.1, sections=sections)
    y = fig.axes[0].lines[0].get_ydata()
    assert np.isnan(y[:5]).all(), "the alignment blips must not be scored"
    assert np.isnan(y[10:20]).all(), "a silent stretch must not be scored"
    assert np.isfinite(y[5:10]).all() and np.isfinite(y[20:]).all()
    assert np.nanmax(y) < -10  # music windows only: ESR about 0.01 (-20 dB), no silence setting the scale
