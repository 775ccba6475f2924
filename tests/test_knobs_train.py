"""Training conditioned models on a demo knob dataset: learning, checkpoints and resume, the 2×2 grid,
interpolation curves and the slider player."""

import itertools

import numpy as np
import pytest

from helpers.amp.checkpoint import CheckpointError
from helpers.knobs.dataset import ensure_demo_knob_dataset, load_knob_dataset
from helpers.knobs.evaluate import esr_grid, evaluation_clip, interpolation_curve
from helpers.knobs.listen import knob_player
from helpers.knobs.train import KnobTrainConfig, load_trained, train_knobs
from helpers.tracking import read_offline_archive

SMALL = dict(epochs=3, steps_per_epoch=6, batch_size=4, crop_length=2048, val_seconds=0.25, progress=False,
             track=False, lr=8e-3)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data():
    return load_knob_dataset(ensure_demo_knob_dataset("overdrive", ("drive", "tone"), levels=2, heldout=1))


def test_concat_training_learns_and_resumes_exactly(data, tmp_path):
    full = train_knobs(data, KnobTrainConfig(kind="concat", checkpoint_dir=str(tmp_path / "full"), **SMALL))
    assert full.history[-1]["val_esr"] < full.history[0]["val_esr"] < 1.5
    part = train_knobs(data, KnobTrainConfig(kind="concat", checkpoint_dir=str(tmp_path / "part"),
                                             **{**SMALL, "epochs": 1}))
    assert len(part.history) == 1
    resumed = train_knobs(data, KnobTrainConfig(kind="concat", checkpoint_dir=str(tmp_path / "part"), **SMALL))
    assert [h["val_esr"] for h in resumed.history] == [h["val_esr"] for h in full.history]
    model, enc, payload = load_trained(full.best_path)
    assert enc.space.names == ["drive", "tone"] and payload["val_esr"] == full.best_val_esr
    assert model.config() == full.model.config() and model.family == "knob_nam"
    with pytest.raises(CheckpointError, match="architecture"):
        train_knobs(data, KnobTrainConfig(kind="film", checkpoint_dir=str(tmp_path / "full"), **SMALL))


def test_time_budget_decays_the_rate_over_the_budget_and_stops(data, tmp_path):
    r = train_knobs(data, KnobTrainConfig(kind="concat", checkpoint_dir=str(tmp_path), minutes=0.04,
                                          **{**SMALL, "epochs": 1000}))
    lrs = [h["lr"] for h in r.history]
    assert r.stopped_by_budget and len(lrs) < 1000 and r.best_path.exists()
    assert lrs[-1] == pytest.approx(SMALL["lr"] * KnobTrainConfig.final_lr_ratio)  # the last step ran at the budget's final rate
    assert all(a > b for a, b in itertools.pairwise(lrs))


@pytest.mark.parametrize("kind", ["film", "lstm"])
def test_other_kinds_train_and_track(data, tmp_path, kind):
    cfg = KnobTrainConfig(kind=kind, checkpoint_dir=str(tmp_path), run_name=f"knobs_{kind}", warmup=128,
                          hidden_size=12, **{**SMALL, "track": True})
    r = train_knobs(data, cfg)
    assert r.best_val_esr < r.history[0]["val_esr"] or r.best_epoch == 1
    archive = read_offline_archive(r.archive)
    assert "val/esr" in archive.metrics and archive.parameters["kind"] == kind


def test_grid_curves_and_player(data, tmp_path):
    r = train_knobs(data, KnobTrainConfig(kind="concat", checkpoint_dir=str(tmp_path), **SMALL))
    grid = esr_grid(r.model, data, r.encoding, max_seconds=0.25, label="concat")
    cells = [grid.values[s][a] for s in ("seen", "unseen") for a in ("seen", "unseen")]
    assert all(np.isfinite(cells)) and all(c > 0 for c in cells)
    assert "unseen settings" in grid.format() and grid.unseen_setting_ratio > 0
    clip = evaluation_clip(data, max_seconds=0.1)
    rows = interpolation_curve(r.model, r.encoding, data, "drive", [0.0, 2.5, 10.0], clip, base={"drive": 0, "tone": 0})
    assert [row["recorded"] for row in rows] == [True, False, True]
    assert all(np.isfinite(row["esr"]) for row in rows)
    player = knob_player(r.model, r.encoding, data, clip)
    player.sliders["drive"].value = 7.5
    player.render()
    assert set(player.clips) == {"model", "device"} and len(player.clips["model"]) == len(clip)
    assert "drive=7.5" in player.children[-1].value
