"""The one training engine, tested once on a tiny task: kill-and-resume, budget, warm-up, determinism,
checkpoint identity and safety, CPU workers, progress by time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from helpers import training
from helpers.errors import CheckpointError, ConfigError, LabError
from helpers.parallel import cpu_workers
from helpers.training import Task, TrainConfig, Trainer, learning_rate, read_checkpoint

HERE = Path(__file__).resolve().parent

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class ToyTask(Task):
    """Fit y = x · w_true with noise: a linear layer, MSE; optionally slow, to be killed mid-run."""

    kind = "toy"
    score = "val_mse"

    def __init__(self, seed: int = 0, width: int = 4, step_sleep: float = 0.0):
        gen = np.random.default_rng(100 + seed)
        self.w = gen.standard_normal((width, 1)).astype(np.float32)
        self.x = gen.standard_normal((512, width)).astype(np.float32)
        self.y = self.x @ self.w + 0.01 * gen.standard_normal((512, 1)).astype(np.float32)
        torch.manual_seed(0)
        self.model = nn.Linear(width, 1)
        self.width, self.batch_size, self.step_sleep = width, 8, step_sleep

    def identity(self):
        return {"width": self.width, "data": float(self.x.sum())}

    def steps_per_epoch(self):
        return 5

    def batch(self, rng):
        idx = rng.integers(0, 400, size=self.batch_size)
        return self.x[idx], self.y[idx]

    def loss(self, net, batch):
        time.sleep(self.step_sleep)
        x, y = batch
        return nn.functional.mse_loss(net(x), y)

    def validate(self, model):
        with torch.no_grad():
            pred = self.model(torch.from_numpy(self.x[400:]))
        return {"val_mse": float(nn.functional.mse_loss(pred, torch.from_numpy(self.y[400:])))}


def config(tmp_path: Path, name: str, **kw) -> TrainConfig:
    base = dict(epochs=6, lr=0.2, warmup_fraction=0.2, track=False, progress=False,
                checkpoint_dir=str(tmp_path / name))
    return TrainConfig(**{**base, **kw})


def weights(model: nn.Module) -> list[torch.Tensor]:
    return [v.detach().clone() for v in model.state_dict().values()]


def test_training_learns_and_keeps_the_best(tmp_path):
    r = Trainer(config(tmp_path, "a")).fit(ToyTask())
    assert r.epochs_run == 6 and r.steps == 30 and r.stopped == "epochs"
    assert r.history[-1]["val_mse"] < 0.2 * r.history[0]["val_mse"]
    assert r.best_score == min(h["val_mse"] for h in r.history)
    best = read_checkpoint(r.best_path, kind="toy")
    assert best["trainer"]["best_epoch"] == r.best_epoch and "optimizer" not in best
    assert "optimizer" in read_checkpoint(r.last_path)


def test_same_seed_same_result_other_seed_differs(tmp_path):
    a = Trainer(config(tmp_path, "a")).fit(ToyTask())
    b = Trainer(config(tmp_path, "b")).fit(ToyTask())
    c = Trainer(config(tmp_path, "c", seed=1)).fit(ToyTask())
    assert [h["val_mse"] for h in a.history] == [h["val_mse"] for h in b.history]
    assert all(torch.equal(x, y) for x, y in zip(weights(a.model), weights(b.model)))
    assert not all(torch.equal(x, y) for x, y in zip(weights(a.model), weights(c.model)))


def test_paused_run_resumes_to_the_uninterrupted_result(tmp_path):
    straight = Trainer(config(tmp_path, "straight")).fit(ToyTask())
    paused = Trainer(config(tmp_path, "chunks")).fit(ToyTask(), pause_after_epochs=2)
    assert paused.stopped == "paused" and paused.epochs_run == 2
    resumed = Trainer(config(tmp_path, "chunks")).fit(ToyTask())
    assert [h["val_mse"] for h in resumed.history] == [h["val_mse"] for h in straight.history]
    assert all(torch.equal(x, y) for x, y in zip(weights(resumed.model), weights(straight.model)))
    again = Trainer(config(tmp_path, "chunks")).fit(ToyTask())  # a finished run is just loaded
    assert again.history == resumed.history and again.steps == resumed.steps


KILLED = textwrap.dedent("""
    import sys
    from helpers.training import TrainConfig, Trainer
    from test_training import ToyTask
    Trainer(TrainConfig(epochs=int(sys.argv[2]), lr=0.2, warmup_fraction=0.2, track=False, progress=False,
                        checkpoint_dir=sys.argv[1])).fit(ToyTask(step_sleep=0.05))
""")


def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path):
    epochs, folder = 8, tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent)])}
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(folder), str(epochs)], env=env)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            last = folder / "last.pt"
            if last.exists() and read_checkpoint(last)["trainer"]["epoch"] >= 2:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)  # no clean-up, no final save: like a crash or a lost Colab runtime
        proc.wait(30)
    finally:
        proc.kill()
    killed_at = read_checkpoint(folder / "last.pt")["trainer"]["epoch"]
    assert proc.returncode == -signal.SIGKILL and 2 <= killed_at < epochs
    resumed = Trainer(config(tmp_path, "killed", epochs=epochs)).fit(ToyTask())
    straight = Trainer(config(tmp_path, "straight", epochs=epochs)).fit(ToyTask())
    assert [h["epoch"] for h in resumed.history] == list(range(1, epochs + 1))
    assert [h["val_mse"] for h in resumed.history] == [h["val_mse"] for h in straight.history]
    assert all(torch.equal(x, y) for x, y in zip(weights(resumed.model), weights(straight.model)))


def test_resume_refuses_another_run_with_the_fix(tmp_path):
    Trainer(config(tmp_path, "run", epochs=1)).fit(ToyTask())
    with pytest.raises(CheckpointError, match=r"another run.*resume=False"):
        Trainer(config(tmp_path, "run")).fit(ToyTask(width=3))
    fresh = Trainer(config(tmp_path, "run", resume=False, epochs=1)).fit(ToyTask(width=3))
    assert fresh.epochs_run == 1


def test_lr_scales_multiply_the_step_of_the_elements_named(tmp_path):
    class Scaled(ToyTask):
        def lr_scales(self):
            return [(self.model.weight, torch.tensor([[3.0, 1.0, 0.5, 1.0]]))]

    start = weights(ToyTask().model)
    trainers = []
    for task in (ToyTask(), Scaled()):
        trainer = Trainer(config(tmp_path, type(task).__name__, warmup_fraction=0.0))
        trainer.start(task)
        trainer.train_step()
        trainers.append(trainer)
    (w_plain, b_plain), (w_scaled, b_scaled) = ([v - s for v, s in zip(weights(t.model), start)] for t in trainers)
    assert w_plain.abs().min() > 0  # every weight moved
    torch.testing.assert_close(w_scaled, w_plain * torch.tensor([[3.0, 1.0, 0.5, 1.0]]))
    torch.testing.assert_close(b_scaled, b_plain)  # the bias is not named: its usual step


def test_budget_stops_training_with_warm_up_then_decay(tmp_path):
    r = Trainer(config(tmp_path, "budget", epochs=10_000, budget_s=1.0, warmup_fraction=0.5)).fit(
        ToyTask(step_sleep=0.01))
    assert r.stopped == "budget" and r.stopped_by_budget and 1 < r.epochs_run < 10_000
    lrs = [h["lr"] for h in r.history]
    assert lrs[0] < max(lrs)  # the warm-up: the rate rose after the first epoch before it decayed
    assert lrs[-1] == pytest.approx(0.2 * 0.05, rel=1e-6)  # the last step ran at the final rate
    assert read_checkpoint(r.last_path)["trainer"]["seconds"] >= 1.0
    more = Trainer(config(tmp_path, "budget", epochs=10_000, budget_s=1.0, warmup_fraction=0.5)).fit(ToyTask())
    assert more.epochs_run == r.epochs_run  # the budget was spent: a resumed run does not train again


def test_process_clock_can_leave_validation_out_of_the_budget(tmp_path):
    class SlowValidation(ToyTask):
        def validate(self, model):
            end = time.process_time() + 0.3
            while time.process_time() < end:  # burn CPU: a slow validation
                pass
            return super().validate(model)

    cfg = config(tmp_path, "cpu", epochs=3, budget_s=0.5, clock="process", budget_counts_validation=False)
    r = Trainer(cfg).fit(SlowValidation())
    assert r.stopped == "epochs"  # 3 × 0.3 s of validation would have spent the budget had it counted
    counted = Trainer(replace(cfg, checkpoint_dir=str(tmp_path / "counted"), budget_counts_validation=True,
                              epochs=50)).fit(SlowValidation())
    assert counted.stopped == "budget" and counted.epochs_run < 50


@pytest.mark.parametrize(("progress", "ramp"), [(0.0, 0.0), (0.05, 0.5), (0.1, 1.0), (0.6, 1.0), (1.0, 1.0), (1.7, 1.0)])
def test_learning_rate_ramps_up_then_decays(progress, ramp):
    cfg = TrainConfig(lr=8e-3, warmup_fraction=0.1, final_lr_ratio=0.05)
    assert learning_rate(cfg, progress) == pytest.approx(8e-3 * ramp * 0.05 ** min(progress, 1.0))
    cosine = replace(cfg, schedule="cosine", warmup_fraction=0.0)
    assert learning_rate(cosine, 0.0) == pytest.approx(8e-3)
    assert learning_rate(cosine, 0.5) == pytest.approx(8e-3 * (0.05 + 0.95 * 0.5))
    assert learning_rate(cosine, 1.0) == pytest.approx(8e-3 * 0.05)
    assert learning_rate(replace(cfg, schedule="constant", warmup_fraction=0.0), 0.7) == pytest.approx(8e-3)


def test_patience_stops_early(tmp_path):
    class NeverBetter(ToyTask):
        def validate(self, model):
            return {"val_mse": 1.0}

    r = Trainer(config(tmp_path, "patience", epochs=20, patience=3)).fit(NeverBetter())
    assert r.stopped == "patience" and r.epochs_run == 4 and r.best_epoch == 1


def test_bad_settings_are_config_errors():
    for bad in ({"clock": "sundial"}, {"schedule": "zigzag"}, {"warmup_fraction": 1.5}, {"epochs": 0},
                {"budget_s": -1.0}, {"optimizer": "sgd"}):
        with pytest.raises(ConfigError):
            TrainConfig(**bad)
    with pytest.raises(ConfigError, match="divisible"):
        Trainer(TrainConfig(workers=3, track=False, progress=False)).fit(ToyTask())
    with pytest.raises(ConfigError, match="at least 1"):
        cpu_workers(0)
    with pytest.raises(ConfigError, match="whole number"):
        cpu_workers("many")
    assert cpu_workers("auto") >= 1 and cpu_workers(3) == 3
    assert 4 % cpu_workers("auto", batch_size=4) == 0 and cpu_workers("auto", batch_size=1) == 1


class Boom:
    """Unpickling this runs ``open(path, 'w')``: what a malicious checkpoint would do."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_every_loader_refuses_a_checkpoint_that_would_run_code(tmp_path):
    from helpers.abc.train import load_model as load_abc
    from helpers.amp.checkpoint import load_model as load_amp
    from helpers.knobs.train import load_trained
    from helpers.synth.train import load_encoder

    marker = tmp_path / "pwned.txt"
    crafted = tmp_path / "shared_by_a_classmate.pt"
    torch.save({"format": training.FORMAT, "kind": "amp", "payload": Boom(str(marker))}, crafted)
    loaders = {"engine": read_checkpoint, "amp": load_amp, "knobs": load_trained, "abc": load_abc,
               "synth": load_encoder}
    for name, load in loaders.items():
        with pytest.raises(CheckpointError, match="would run code"):
            load(crafted)
        assert not marker.exists(), f"the {name} loader ran the checkpoint's code"


def test_a_checkpoint_of_another_kind_names_its_loader(tmp_path):
    from helpers.amp.checkpoint import load_model as load_amp

    r = Trainer(config(tmp_path, "toy", epochs=1)).fit(ToyTask())
    payload = read_checkpoint(r.best_path)
    training.save_checkpoint(tmp_path / "knob.pt", {**payload, "kind": "knobs"})
    with pytest.raises(CheckpointError, match=r"'knobs' model.*helpers\.knobs\.train\.load_trained"):
        load_amp(tmp_path / "knob.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_amp(tmp_path / "junk.pt")
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_amp(tmp_path / "missing.pt")
    assert issubclass(CheckpointError, LabError) and issubclass(CheckpointError, ValueError)


def test_progress_bar_counts_time_under_a_budget(tmp_path, monkeypatch, capsys):
    import functools

    monkeypatch.setattr(training, "tqdm", functools.partial(training.tqdm, disable=False))  # the suite hides bars
    Trainer(config(tmp_path, "bar", epochs=10_000, budget_s=1.0, progress=True)).fit(ToyTask(step_sleep=0.01))
    err = capsys.readouterr().err
    assert "/1 s of the budget" in err and "val_mse" in err and "epochs" not in err


def test_a_task_that_cannot_go_to_workers_trains_in_this_process_with_a_warning(tmp_path):
    task = ToyTask()
    task.loss = lambda net, batch: nn.functional.mse_loss(net(batch[0]), batch[1])  # a lambda does not pickle
    with pytest.warns(UserWarning, match="cannot be sent to worker processes"):
        r = Trainer(config(tmp_path, "local", epochs=1, workers=2)).fit(task)
    assert r.epochs_run == 1


def test_a_loss_defined_in_a_notebook_trains_in_this_process_with_a_warning(tmp_path, monkeypatch):
    """A notebook's ``def`` pickles by name (``__main__.my_loss``), which a spawned worker cannot find."""
    import types

    notebook = types.ModuleType("__main__")  # a kernel's __main__ has no __file__
    monkeypatch.setitem(sys.modules, "__main__", notebook)

    def my_loss(net, batch):
        return nn.functional.mse_loss(net(batch[0]), batch[1])

    my_loss.__module__ = "__main__"
    task = ToyTask()
    task.loss = my_loss
    with pytest.warns(UserWarning, match="my_loss is defined in this notebook"):
        r = Trainer(config(tmp_path, "notebook", epochs=1, workers=2)).fit(task)
    assert r.epochs_run == 1


@pytest.mark.slow
def test_cpu_workers_train_the_same_model_as_one_process(tmp_path):
    one = Trainer(config(tmp_path, "one", epochs=2)).fit(ToyTask())
    two = Trainer(config(tmp_path, "two", epochs=2, workers=2)).fit(ToyTask())
    assert two.epochs_run == one.epochs_run == 2 and two.samples_per_second > 0
    assert two.best_score == pytest.approx(one.best_score, rel=1e-4)
    for a, b in zip(weights(two.model), weights(one.model)):
        assert torch.allclose(a, b, atol=1e-6)  # averaged gradients of two half-batches = the full-batch gradient
