"""Training conditioned models on a demo knob dataset: learning, checkpoints and resume, the 2×2 grid,
interpolation curves and the slider player."""

import dataclasses

import numpy as np
import pytest
import torch

from helpers.errors import CheckpointError, ConfigError, DataError
from helpers.knobs.dataset import ensure_demo_knob_dataset, load_knob_dataset
from helpers.knobs.evaluate import esr_grid, evaluation_clip, interpolation_curve
from helpers.knobs.listen import knob_player
from helpers.knobs.train import KnobTask, KnobTrainConfig, level_weights, load_trained, recipe, train_knobs
from helpers.tracking import read_offline_archive

SMALL = dict(epochs=3, steps_per_epoch=6, batch_size=4, crop_length=2048, val_seconds=0.25, progress=False,
             track=False, lr=8e-3)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data():
    return load_knob_dataset(ensure_demo_knob_dataset("overdrive", ("drive", "tone"), levels=2, heldout=1))


def test_concat_training_learns_and_resume_checks_identity(data, tmp_path):
    full = train_knobs(data, KnobTrainConfig(kind="concat", checkpoint_dir=str(tmp_path / "full"), **SMALL))
    assert full.history[-1]["val_esr"] < full.history[0]["val_esr"] < 1.5
    again = train_knobs(data, KnobTrainConfig(kind="concat", checkpoint_dir=str(tmp_path / "full"), **SMALL))
    assert again.history == full.history  # a finished run is loaded, not retrained
    model, enc, payload = load_trained(full.best_path)
    assert enc.space.names == ["drive", "tone"] and payload["trainer"]["best_score"] == full.best_score
    assert model.config() == full.model.config() and model.family == "knob_nam"
    with pytest.raises(CheckpointError, match="another run"):
        train_knobs(data, KnobTrainConfig(kind="film", checkpoint_dir=str(tmp_path / "full"), **SMALL))
    with pytest.raises(CheckpointError, match="another run"):
        train_knobs(data, KnobTrainConfig(kind="concat", checkpoint_dir=str(tmp_path / "full"),
                                          **{**SMALL, "preset": "feather"}))


def test_knob_training_on_two_cpu_workers_with_the_amp_recipe(data, tmp_path):
    cfg = KnobTrainConfig(kind="film", checkpoint_dir=str(tmp_path), workers=2, **SMALL)
    assert cfg.loss == {"mse": 1.0} and cfg.warmup_fraction > 0  # the amp recipe's defaults
    r = train_knobs(data, cfg)
    assert r.epochs_run == SMALL["epochs"] and r.encoding.space.names == ["drive", "tone"]
    assert r.history[-1]["val_esr"] < r.history[0]["val_esr"]
    model, _, _ = load_trained(r.best_path)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), r.model.state_dict().values()))


def test_the_full_recipe_cuts_the_amp_recipes_samples_per_step_into_more_crops():
    from helpers.amp.workflow import FULL_TRAINING, QUICK_TRAINING

    full, quick = recipe("concat+film"), recipe("concat+film", quick=True)
    assert (full.batch_size, full.crop_length) == (16, 8192)  # twice the settings per step of 8 × 16,384
    assert full.batch_size * full.crop_length == FULL_TRAINING["batch_size"] * FULL_TRAINING["crop_length"]
    assert (quick.batch_size, quick.crop_length) == (QUICK_TRAINING["batch_size"], QUICK_TRAINING["crop_length"])
    assert recipe("concat", batch_size=8, crop_length=16384).batch_size == 8  # overrides win


def test_knob_weights_get_their_own_learning_rates(data):
    task = KnobTask(data, KnobTrainConfig(kind="concat+film", mixer_lr_scale=4.0, film_lr_scale=16.0, **SMALL))
    model = task.model
    layers = sum(len(a.layers) for a in model.layer_arrays)
    mixers = {id(model.layer_arrays[0].rechannel.weight)} | {
        id(layer.input_mixer.weight) for a in model.layer_arrays for layer in a.dilated_layers}
    films = {id(b.conv.weight) for b in model.film_blocks}
    assert len(mixers) == 1 + layers and len(films) == layers  # the first re-channel, every mixer, every FiLM
    scales = task.lr_scales()
    assert {id(w) for w, _ in scales} == mixers | films and len(scales) == 1 + 2 * layers
    for w, s in scales:
        knob = 16.0 if id(w) in films else 4.0
        assert s.shape == w.shape and torch.all(s[:, 0] == 1.0) and torch.all(s[:, 1:] == knob)  # audio column: 1
    film = KnobTask(data, KnobTrainConfig(kind="film", mixer_lr_scale=1.0, film_lr_scale=1.0, **SMALL))
    assert film.lr_scales() == []
    concat = KnobTask(data, KnobTrainConfig(kind="concat", **SMALL)).lr_scales()  # defaults: mixers alone at 8,
    assert len(concat) == 1 + layers and all(torch.all(s[:, 1:] == 8.0) for _, s in concat)
    both = KnobTask(data, KnobTrainConfig(kind="concat+film", **SMALL))  # at 1 beside FiLM, FiLM at 16
    assert {id(w) for w, _ in both.lr_scales()} == {id(b.conv.weight) for b in both.model.film_blocks}
    assert all(torch.all(s[:, 1:] == 16.0) for _, s in both.lr_scales())
    assert KnobTask(data, KnobTrainConfig(kind="lstm", hidden_size=4, **SMALL)).lr_scales() == []
    with pytest.raises(ConfigError, match="part must be 'all', 'mixers' or 'film'"):
        model.knob_weights("gains")
    for name in ("mixer_lr_scale", "film_lr_scale"):
        with pytest.raises(ConfigError, match=f"{name} must be a positive"):
            KnobTrainConfig(**{name: 0.0})


def test_every_setting_counts_as_its_esr_does(data):
    """Level balancing: a crop's squared error is relative to its setting's level, so the loss of a prediction
    off by the same fraction of every setting's target is the same for loud and quiet settings."""
    w = level_weights(data)
    train = data.indices("train")
    power = [np.mean(np.concatenate([data.outputs[i][s:e] for s, e in data.splits["train"]]) ** 2) for i in train]
    assert np.allclose(w[train] ** 2 * power, np.mean(power), rtol=1e-4)  # equal weighted power: their mean
    assert np.ptp(power) > 0.2 * np.mean(power)  # the demo's settings differ in level, so the weights matter
    assert np.allclose(level_weights(data, 0.5) ** 2, w)
    task = KnobTask(data, KnobTrainConfig(kind="concat", level_balance=1.0, **SMALL))
    x, y, k, wb = (torch.as_tensor(a) for a in task.batch(np.random.default_rng(0)))
    rel = []  # each crop's loss ÷ its unweighted loss, for a prediction 10 % off the target
    for i in range(len(x)):
        crop = tuple(a[i : i + 1] for a in (x, y, k, wb))
        rel.append(float(task.loss(lambda _x, _k, t=crop[1]: 0.9 * t, crop) / task.loss_fn(0.9 * crop[1], crop[1])))
    assert np.allclose(rel, wb**2, rtol=1e-4)
    half = KnobTask(data, KnobTrainConfig(kind="concat", level_balance=0.5, **SMALL))
    assert np.allclose(half.batch(np.random.default_rng(0))[3], wb**0.5)
    plain = KnobTask(data, KnobTrainConfig(kind="concat", **SMALL))  # the default: plain MSE
    assert np.all(plain.batch(np.random.default_rng(0))[3] == 1.0)
    with pytest.raises(ConfigError, match="level_balance"):
        KnobTrainConfig(level_balance=2.0)
    silent = dataclasses.replace(data, outputs=[np.zeros_like(data.outputs[0]), *data.outputs[1:]])
    with pytest.raises(DataError, match=r"recording\(s\) \[0\] are silent"):
        level_weights(silent)


@pytest.mark.parametrize("kind", ["film", "lstm"])
def test_other_kinds_train_and_track(data, tmp_path, kind):
    cfg = KnobTrainConfig(kind=kind, checkpoint_dir=str(tmp_path), run_name=f"knobs_{kind}", lstm_warmup=128,
                          hidden_size=12, **{**SMALL, "track": True})
    r = train_knobs(data, cfg)
    assert r.best_score < r.history[0]["val_esr"] or r.best_epoch == 1
    archive = read_offline_archive(r.archive)
    assert "val/val_esr" in archive.metrics and archive.parameters["kind"] == kind


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


def test_knob_benchmark_runs_in_quick_mode_with_its_own_conditioned_budget(capsys):
    from helpers.bench import knobs as bench_knobs
    from helpers.errors import ConfigError

    with pytest.raises(ConfigError, match="concat, film, concat"):
        bench_knobs.run(quick=True, mechanisms=("lstm",))
    with pytest.raises(ConfigError, match="positive minutes"):
        bench_knobs.run(quick=True, knob_minutes=0)
    figures = bench_knobs.run(quick=True, minutes=0.03, knob_minutes=0.06, mechanisms=("concat",))
    assert figures["minutes_per_run"] == 0.03 and figures["minutes_per_conditioned_run"] == 0.06
    dedicated = np.array([d["test_esr"] for d in figures["dedicated"]])
    concat = figures["conditioned"]["concat"]
    assert len(concat["test_esr"]) == len(dedicated) == len(figures["heldout_settings"]) >= 2
    assert np.allclose(concat["esr_ratio_per_setting"], np.array(concat["test_esr"]) / dedicated)
    assert concat["steps"] > 0 and np.isfinite(concat["seen_settings_test_esr"])
    assert concat["rtf"]["max_abs_diff_vs_offline"] < 1e-5  # the exported .nam streams as the model computes
    out = capsys.readouterr().out
    assert "0.03 min per dedicated run, 0.06 per conditioned run" in out and "ratio = conditioned ÷ dedicated" in out
