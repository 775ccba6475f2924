"""Amp benchmark: this project's trainer against the Neural Amp Modeler trainer, same data, same budget.

For each demo device and preset, both trainers get the same aligned capture, the same architecture
(NAM's A1 WaveNet layout) and the same wall-clock budget on this machine; both are scored with the
same code on the same held-out test range. Printed: test ESR, training throughput (output samples
per second of training) and the ratios ours / NAM's.

NAM's side uses its own LightningModule, Dataset and settings (Adam 4e-3, ExponentialLR 0.993,
batch 16 × 8192 samples, ESR for checkpoint selection), driven by a PyTorch Lightning Trainer with
``max_time``; it needs ``neural-amp-modeler`` (requirements-dev.txt).
"""

from __future__ import annotations

import datetime
import time
from typing import Any

import numpy as np
import torch

from helpers.amp.data import AmpData
from helpers.amp.evaluate import predict
from helpers.amp.train import TrainConfig, train
from helpers.capture.demo import ensure_demo_capture
from helpers.losses import esr
from helpers.models.nam_wavenet import PRESETS
from helpers.paths import checkpoints_dir

DEVICES = ("overdrive", "edge_of_breakup", "high_gain")


def _test_esr(forward, data: AmpData, rf: int) -> float:
    preds, targets = [], []
    for s, e in data.splits["test"]:
        xin, target = data.with_context(s, e, rf)
        preds.append(forward(xin)[rf - 1 :])
        targets.append(target)
    return esr(np.concatenate(preds), np.concatenate(targets))


def nam_model_config(preset: str) -> dict[str, Any]:
    """NAM LightningModule config for an A1 preset, as NAM's trainer sets it up."""
    layers = []
    for c in PRESETS[preset]:
        layers.append({"input_size": c.input_size, "condition_size": c.condition_size, "channels": c.channels,
                       "kernel_size": c.kernel_size, "dilations": list(c.dilations), "activation": c.activation,
                       "gated": c.gated, "head": {"out_channels": c.head_size, "kernel_size": 1, "bias": c.head_bias}})
    return {"net": {"name": "WaveNet", "config": {"layers_configs": layers, "head_scale": 0.02}},
            "loss": {"val_loss": "esr"},
            "optimizer": {"lr": 0.004},
            "lr_scheduler": {"class": "ExponentialLR", "kwargs": {"gamma": 0.993}}}


def train_nam(data: AmpData, preset: str, minutes: float, seed: int = 0) -> dict[str, float]:
    """Train with the NAM trainer for ``minutes``; return its test ESR and throughput."""
    import pytorch_lightning as pl
    from nam.data import Dataset
    from nam.train.lightning_module import LightningModule

    pl.seed_everything(seed, verbose=False)
    module = LightningModule.init_from_config(nam_model_config(preset))
    rf = module.net.receptive_field
    (t0, t1), (v0, v1) = data.splits["train"][0], data.splits["validation"][0]
    common = {"nx": rf, "sample_rate": data.sample_rate, "require_input_pre_silence": None}
    train_ds = Dataset(torch.from_numpy(data.x[t0:t1]), torch.from_numpy(data.y[t0:t1]), ny=8192, **common)
    xv, yv = data.with_context(v0, v1, rf)
    val_ds = Dataset(torch.from_numpy(xv), torch.from_numpy(np.concatenate([np.zeros(rf - 1, np.float32), yv])),
                     ny=None, **common)

    class Best(pl.Callback):
        def __init__(self):
            self.best, self.state, self.batches = float("inf"), None, 0

        def on_train_batch_end(self, *args, **kwargs):
            self.batches += 1

        def on_validation_end(self, trainer, module):
            val = float(trainer.callback_metrics.get("val_loss", float("inf")))
            if val < self.best:
                self.best, self.state = val, {k: v.clone() for k, v in module.state_dict().items()}

    best = Best()
    trainer = pl.Trainer(max_time=datetime.timedelta(seconds=60 * minutes), max_epochs=100_000, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[best], accelerator="cpu", num_sanity_val_steps=0)
    loader = torch.utils.data.DataLoader(train_ds, batch_size=16, shuffle=True, drop_last=True)
    start = time.perf_counter()
    trainer.fit(module, loader, torch.utils.data.DataLoader(val_ds))
    seconds = time.perf_counter() - start
    if best.state is not None:
        module.load_state_dict(best.state)
    module.eval()
    with torch.no_grad():
        score = _test_esr(lambda x: module.net(torch.from_numpy(x), pad_start=True).numpy(), data, rf)
    return {"test_esr": score, "samples_per_second": best.batches * 16 * 8192 / seconds, "seconds": seconds}


def train_ours(data: AmpData, preset: str, minutes: float, seed: int = 0, workers: int | str = "auto") -> dict[str, float]:
    """Train with this project's trainer (full-mode settings) for ``minutes``, on ``workers`` CPU processes."""
    from helpers.amp.workflow import FULL_TRAINING

    cfg = TrainConfig(model="nam", preset=preset, seed=seed, track=False, progress=False, resume=False,
                      run_name=f"bench_{data.name}_{preset}", checkpoint_dir=str(checkpoints_dir("bench", data.name, preset)),
                      workers=workers, **{**FULL_TRAINING, "budget_s": 60.0 * minutes})
    r = train(data, cfg)
    score = _test_esr(lambda x: predict(r.model, x), data, r.model.receptive_field)
    return {"test_esr": score, "samples_per_second": r.samples_per_second, "seconds": r.seconds}


def run(quick: bool = False, minutes: float | None = None, devices=DEVICES, presets=("feather", "standard"),
        workers: int | str = "auto") -> dict:
    """Both trainers on every (device, preset); prints a table with ratios and returns the figures.

    Both use the whole CPU: NAM's trainer one process with a thread per core (PyTorch's default), ours
    ``workers`` single-threaded data-parallel processes (:mod:`helpers.parallel`; ``1`` = one process
    with a thread per core, like NAM's)."""
    from helpers.amp.workflow import FULL_TRAINING
    from helpers.parallel import cpu_workers

    minutes = minutes if minutes is not None else (0.15 if quick else 10.0)
    if quick:
        devices, presets = devices[:1], presets[:1]
    torch.set_num_threads(max(1, torch.get_num_threads()))
    n_workers = cpu_workers(workers, FULL_TRAINING["batch_size"])
    results: dict[str, Any] = {"minutes_per_run": minutes, "threads": torch.get_num_threads(), "workers": n_workers,
                               "runs": []}
    print(f"budget {minutes} min per run; NAM: 1 process × {torch.get_num_threads()} threads; "
          f"ours: {n_workers} process(es) × {1 if n_workers > 1 else torch.get_num_threads()} thread(s)")
    print(f"{'device':<16}{'preset':<10}{'ESR ours':>10}{'ESR NAM':>10}{'ESR ratio':>10}"
          f"{'ours S/s':>11}{'NAM S/s':>11}{'speed ratio':>12}")
    for device in devices:
        data = AmpData.from_manifest(ensure_demo_capture(device, quick=quick))
        for preset in presets:
            ours = train_ours(data, preset, minutes, workers=n_workers)
            nam = train_nam(data, preset, minutes)
            row = {"device": device, "preset": preset, "ours": ours, "nam": nam,
                   "esr_ratio": ours["test_esr"] / nam["test_esr"],
                   "throughput_ratio": ours["samples_per_second"] / nam["samples_per_second"]}
            results["runs"].append(row)
            print(f"{device:<16}{preset:<10}{ours['test_esr']:>10.4f}{nam['test_esr']:>10.4f}{row['esr_ratio']:>10.2f}"
                  f"{ours['samples_per_second']:>11.0f}{nam['samples_per_second']:>11.0f}{row['throughput_ratio']:>12.2f}",
                  flush=True)
    return results
