import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from helpers.amp.checkpoint import CheckpointError, load_model
from helpers.amp.data import toy_pair
from helpers.amp.train import TrainConfig, train
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
    assert r.history[0]["val_esr"] > r.best_score
    assert r.best_score == min(h["val_esr"] for h in r.history)
    best, payload = load_model(r.best_path)
    assert payload["trainer"]["best_score"] == r.best_score and payload["trainer"]["epoch"] == r.best_epoch
    assert payload["sample_rate"] == data.sample_rate and payload["data_fingerprint"] == data.fingerprint()
    assert _same_weights(best, r.model)


def test_resume_refuses_another_architecture_or_capture(data, tmp_path):
    train(data, TrainConfig(epochs=1, checkpoint_dir=str(tmp_path), **SMALL))
    with pytest.raises(CheckpointError, match=r"another run.*resume=False"):
        train(data, TrainConfig(epochs=2, checkpoint_dir=str(tmp_path), **{**SMALL, "preset": "feather"}))
    with pytest.raises(CheckpointError, match="another run"):
        train(toy_pair(4.0, 16_000, seed=2), TrainConfig(epochs=2, checkpoint_dir=str(tmp_path), **SMALL))
    assert train(data, TrainConfig(epochs=2, checkpoint_dir=str(tmp_path), **SMALL)).epochs_run == 2
    with pytest.raises(CheckpointError, match="'nam' model"):
        load_model(tmp_path / "best.pt", expect=build_model("tcn", "balanced"))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_model(tmp_path / "junk.pt")


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
def test_amp_training_on_two_cpu_workers(data, tmp_path):
    cfg = TrainConfig(epochs=2, **{**SMALL, "batch_size": 4, "steps_per_epoch": 3})
    split = train(data, cfg, checkpoint_dir=str(tmp_path / "two"), workers=2)
    single = train(data, cfg, checkpoint_dir=str(tmp_path / "one"))
    assert split.epochs_run == single.epochs_run == 2 and split.samples_per_second > 0
    for (name, a), b in zip(split.model.state_dict().items(), single.model.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-5), name
    with pytest.raises(ValueError, match="divisible"):
        train(data, cfg, batch_size=3, workers=2)


UNGUARDED = textwrap.dedent("""
    from helpers.amp.data import toy_pair
    from helpers.amp.train import TrainConfig, train
    train(toy_pair(2.0, 16_000, seed=1), TrainConfig(preset="nano", epochs=1, batch_size=2, workers=2,
          crop_length=2048, steps_per_epoch=1, track=False, progress=False, checkpoint_dir=%r))
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
    source = source.replace("train(toy_pair", "r = train(toy_pair") + "print('epochs', r.epochs_run)"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    root = Path(__file__).resolve().parents[1]
    NotebookClient(nb, kernel_name="python3", timeout=180, resources={"metadata": {"path": str(root)}}).execute()
    assert nb.cells[0].outputs[-1]["text"].strip() == "epochs 1"
    assert (tmp_path / "ck" / "best.pt").exists()
