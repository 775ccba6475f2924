import numpy as np
import pytest

from helpers import tracking


def test_offline_archive_holds_metrics_with_values_and_steps(tmp_path):
    run = tracking.start_experiment("unit-test", params={"lr": 1e-3, "model": {"preset": "nano"}},
                                    mode="offline", offline_dir=tmp_path)
    for step in range(5):
        run.log_metric("train/loss", 1.0 / (step + 1), step=step)
    run.log_metrics({"val/esr": 0.25}, step=4, epoch=1)
    run.log_audio(np.zeros(480, dtype=np.float32), 48_000, "silence", step=4)
    run.log_text("X:1\nK:D\n")
    archive = run.end()
    assert archive is not None and archive.exists() and archive.parent == tmp_path
    data = tracking.read_offline_archive(archive)
    assert data.metrics["train/loss"] == [(s, pytest.approx(1.0 / (s + 1))) for s in range(5)]
    assert data.metrics["val/esr"] == [(4, 0.25)]
    assert data.parameters == {"lr": 0.001, "model.preset": "nano"}
    assert data.name == "unit-test"
    assert data.experiment["project_name"] == "neural-audio-lab"
    assert any(f.get("fileName") == "silence.wav" for f in data.files)


def test_disabled_mode_records_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("NAL_TRACKING", "disabled")
    with tracking.start_experiment("off", offline_dir=tmp_path) as run:
        run.log_metric("x", 1.0, step=0)
    assert run.end() is None and list(tmp_path.iterdir()) == []


def test_mode_from_environment(monkeypatch):
    monkeypatch.delenv("NAL_TRACKING", raising=False)
    monkeypatch.delenv("COMET_API_KEY", raising=False)
    assert tracking.tracking_mode() == "offline"
    monkeypatch.setenv("COMET_API_KEY", "abc")
    assert tracking.tracking_mode() == "online"
    monkeypatch.setenv("NAL_TRACKING", "sideways")
    with pytest.raises(ValueError, match="online, offline or disabled"):
        tracking.tracking_mode()


def test_online_without_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("COMET_API_KEY", raising=False)
    with pytest.raises(RuntimeError, match="COMET_API_KEY"):
        tracking.start_experiment("x", mode="online")
