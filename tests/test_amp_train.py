import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from helpers.amp.checkpoint import CheckpointError, load_model, read_checkpoint
from helpers.amp.data import toy_pair
from helpers.amp.train import TrainConfig, set_budget_lr, train
from helpers.capture.splits import random_crops
from helpers.models import build_model

SMALL = dict(preset="nano", batch_size=2, crop_length=2048, steps_per_epoch=5, track=False, progress=False,
             lr=5e-3)


@pytest.fixture(scope="module")
def data():
    return toy_pair(4.0, 16_000, seed=1)


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_training_improves_validation_esr_and_keeps_best(data, tmp_path):
    r = train(data, TrainConfig(epochs=4, checkpoint_dir=str(tmp_path), **SMALL))
    assert r.history[0]["val_esr"] > r.best_val_esr
    assert r.best_val_esr == min(h["val_esr"] for h in r.history)
    best, payload = load_model(r.best_path)
    assert payload["val_esr"] == r.best_val_esr and payload["epoch"] == r.best_epoch
    assert _same_weights(best, r.model)


def test_same_seed_same_result(data, tmp_path):
    a = train(data, TrainConfig(epochs=2, checkpoint_dir=str(tmp_path / "a"), **SMALL))
    b = train(data, TrainConfig(epochs=2, checkpoint_dir=str(tmp_path / "b"), **SMALL))
    c = train(data, TrainConfig(epochs=2, checkpoint_dir=str(tmp_path / "c"), seed=1, **SMALL))
    assert [h["val_esr"] for h in a.history] == [h["val_esr"] for h in b.history]
    assert _same_weights(a.model, b.model) and not _same_weights(a.model, c.model)


WORKER = textwrap.dedent("""
    import sys
    from helpers.amp.data import toy_pair
    from helpers.amp.train import train
    train(toy_pair(4.0, 16_000, seed=1), epochs=int(sys.argv[2]), checkpoint_dir=sys.argv[1], preset="nano",
          batch_size=2, crop_length=2048, steps_per_epoch=5, track=False, progress=False, lr=5e-3)
""")


def test_killed_run_resumes_to_the_uninterrupted_result(data, tmp_path):
    epochs = 10
    folder = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", WORKER, str(folder), str(epochs)], env=os.environ.copy())
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            last = folder / "last.pt"
            if last.exists() and read_checkpoint(last)["epoch"] >= 2:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)  # no clean-up, no final save: like a crash or a lost Colab runtime
        proc.wait(30)
    finally:
        proc.kill()
    killed_at = read_checkpoint(folder / "last.pt")["epoch"]
    assert proc.returncode == -signal.SIGKILL and killed_at < epochs
    resumed = train(data, TrainConfig(epochs=epochs, checkpoint_dir=str(folder), **SMALL))
    assert resumed.history[0]["epoch"] == 1 and len(resumed.history) == epochs
    straight = train(data, TrainConfig(epochs=epochs, checkpoint_dir=str(tmp_path / "straight"), **SMALL))
    assert [h["val_esr"] for h in resumed.history] == [h["val_esr"] for h in straight.history]
    assert _same_weights(load_model(resumed.last_path)[0], load_model(straight.last_path)[0])


def test_resume_refuses_another_architecture(data, tmp_path):
    train(data, TrainConfig(epochs=1, checkpoint_dir=str(tmp_path), **SMALL))
    with pytest.raises(CheckpointError, match="nam/nano, not nam/feather"):
        train(data, TrainConfig(epochs=2, checkpoint_dir=str(tmp_path), **{**SMALL, "preset": "feather"}))
    with pytest.raises(CheckpointError, match="'nam' model"):
        load_model(tmp_path / "best.pt", expect=build_model("tcn", "balanced"))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_model(tmp_path / "junk.pt")


def test_wall_clock_budget_stops_training(data, tmp_path):
    r = train(data, TrainConfig(epochs=1000, minutes=0.05, warmup_fraction=0.5, checkpoint_dir=str(tmp_path), **SMALL))
    assert r.stopped_by_budget and r.epochs_run < 1000 and r.best_path.exists()
    lrs = [h["lr"] for h in r.history]
    assert lrs[0] < max(lrs)  # the warm-up: the rate rose after the first epoch before it decayed
    assert lrs[-1] == pytest.approx(SMALL["lr"] * TrainConfig.final_lr_ratio)  # the last step ran at the final rate


@pytest.mark.parametrize(("frac", "ramp"), [(0.0, 0.0), (0.05, 0.5), (0.1, 1.0), (0.6, 1.0), (1.0, 1.0), (1.7, 1.0)])
def test_budget_rate_ramps_up_then_decays(frac, ramp):
    """Linear warm-up over the first 10 % of the budget, times the exponential decay to 5 % (clamped past the end)."""
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    set_budget_lr(opt, 8e-3, 0.05, frac, warmup_fraction=0.1)
    assert opt.param_groups[0]["lr"] == pytest.approx(8e-3 * ramp * 0.05 ** min(frac, 1.0))
    set_budget_lr(opt, 8e-3, 0.05, frac)  # no warm-up: the decay alone
    assert opt.param_groups[0]["lr"] == pytest.approx(8e-3 * 0.05 ** min(frac, 1.0))


def test_crops_stay_inside_one_range():
    import numpy as np

    rng = np.random.default_rng(0)
    ranges = [(0, 5000), (6000, 20000)]
    starts = random_crops(ranges, 1000, 1500, 500, rng)
    for s in starts:
        assert any(lo <= s - 1499 and s + 1000 <= hi for lo, hi in ranges)
    with pytest.raises(ValueError, match="no training range holds"):
        random_crops([(0, 100)], 1000, 1500, 1, rng)


DDP_WORKER = textwrap.dedent("""
    import sys, torch
    from helpers.amp.data import toy_pair
    from helpers.amp.train import train
    r = train(toy_pair(4.0, 16_000, seed=1), epochs=2, checkpoint_dir=sys.argv[1], preset="nano", batch_size=4,
              crop_length=2048, steps_per_epoch=3, track=False, progress=False, lr=5e-3)
    if torch.distributed.get_rank() == 0:
        print("DDP-OK", torch.distributed.get_world_size())
""")


@pytest.mark.slow
def test_ddp_on_two_cpu_processes_matches_single_process(data, tmp_path):
    script = tmp_path / "ddp_worker.py"
    script.write_text(DDP_WORKER)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(script),
         str(tmp_path / "ddp")], capture_output=True, text=True, timeout=300, env=env,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "DDP-OK 2" in out.stdout
    single = train(data, TrainConfig(epochs=2, checkpoint_dir=str(tmp_path / "single"),
                                     **{**SMALL, "batch_size": 4, "steps_per_epoch": 3}))
    ddp_model = load_model(tmp_path / "ddp" / "last.pt")[0]
    for (name, a), b in zip(ddp_model.state_dict().items(), load_model(single.last_path)[0].state_dict().values()):
        assert torch.allclose(a, b, atol=1e-5), name  # averaged gradients of two half-batches = full-batch gradient


@pytest.mark.slow
def test_cpu_workers_train_the_same_model_as_one_process(data, tmp_path):
    from helpers.amp.workers import cpu_workers, train_on_cpu_workers

    cfg = TrainConfig(epochs=2, **{**SMALL, "batch_size": 4, "steps_per_epoch": 3})
    split = train_on_cpu_workers(data, TrainConfig(**{**cfg.__dict__, "checkpoint_dir": str(tmp_path / "two")}), workers=2)
    single = train(data, TrainConfig(**{**cfg.__dict__, "checkpoint_dir": str(tmp_path / "one")}))
    assert split.epochs_run == single.epochs_run == 2 and split.samples_per_second > 0
    assert split.best_val_esr == pytest.approx(single.best_val_esr, rel=1e-3)
    for (name, a), b in zip(split.model.state_dict().items(), single.model.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-5), name
    with pytest.raises(ValueError, match="divisible"):
        train_on_cpu_workers(data, TrainConfig(**{**cfg.__dict__, "batch_size": 3}), workers=2)
    with pytest.raises(ValueError, match="at least 1"):
        cpu_workers(0)
    assert cpu_workers("auto") >= 1 and cpu_workers(3) == 3
    assert 4 % cpu_workers("auto", batch_size=4) == 0 and cpu_workers("auto", batch_size=1) == 1


UNGUARDED = textwrap.dedent("""
    from helpers.amp.data import toy_pair
    from helpers.amp.train import TrainConfig
    from helpers.amp.workers import train_on_cpu_workers
    train_on_cpu_workers(toy_pair(2.0, 16_000, seed=1), TrainConfig(preset="nano", epochs=1, batch_size=2,
                         crop_length=2048, steps_per_epoch=1, track=False, progress=False, checkpoint_dir=%r), 2)
""")


@pytest.mark.slow
def test_unguarded_script_fails_fast_with_the_fix(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED % str(tmp_path / "ck"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode != 0  # before the fix this hung: the parent blocked writing the audio into a dead pipe
    assert 'if __name__ == "__main__":' in proc.stderr.splitlines()[-1]


@pytest.mark.slow
def test_cpu_workers_start_from_a_jupyter_kernel(tmp_path):
    """Notebook 02's full mode on a CPU: the spawned workers must start from a kernel as well as from a script."""
    import nbformat
    from nbclient import NotebookClient

    source = UNGUARDED % str(tmp_path / "ck")
    source = source.replace("train_on_cpu_workers(toy_pair", "r = train_on_cpu_workers(toy_pair") + "print('epochs', r.epochs_run)"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    root = Path(__file__).resolve().parents[1]
    NotebookClient(nb, kernel_name="python3", timeout=180, resources={"metadata": {"path": str(root)}}).execute()
    assert nb.cells[0].outputs[-1]["text"].strip() == "epochs 1"
    assert (tmp_path / "ck" / "best.pt").exists()
