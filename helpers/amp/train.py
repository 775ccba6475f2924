"""Training loop for amp models: plain PyTorch, readable top to bottom.

Each epoch draws random crops from the train ranges (seeded by ``(seed, epoch)``, so an interrupted
run resumed from its last checkpoint repeats exactly what the uninterrupted run would have done),
takes Adam steps with gradient clipping, then measures plain ESR on the validation range. The
newest state goes to ``last.pt`` and the best validation ESR to ``best.pt``, both written
atomically. A wall-clock budget (``minutes``) stops training cleanly after the current step.

Under ``torchrun`` (``WORLD_SIZE`` > 1) the model is wrapped in DistributedDataParallel: every rank
draws the same crops and trains on its share of the batch; only rank 0 validates, logs and saves.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from helpers.amp.checkpoint import (
    CheckpointError,
    check_architecture,
    load_model,
    read_checkpoint,
    record_epoch,
)
from helpers.amp.data import AmpData, make_batch
from helpers.capture.splits import random_crops
from helpers.losses import CombinedLoss, esr
from helpers.models import CausalModel, build_model
from helpers.paths import checkpoints_dir
from helpers.runtime import pick_device, seed_everything


@dataclass
class TrainConfig:
    """Everything that decides a training run (saved in the checkpoint)."""

    model: str = "nam"  #: model family: nam, gated or tcn
    preset: str | None = "feather"
    epochs: int = 50
    minutes: float | None = None  #: wall-clock budget; None = train all epochs
    batch_size: int = 8
    crop_length: int = 16_384  #: output samples per training crop (2x NAM's: less receptive-field overhead)
    steps_per_epoch: int | None = None  #: None = about one pass over the training audio
    lr: float = 8e-3
    lr_decay: float = 0.97  #: ExponentialLR factor per epoch (runs without a time budget)
    final_lr_ratio: float = 0.05  #: with ``minutes``: the rate decays exponentially to lr × this at the budget's end
    warmup_fraction: float = 0.1  #: with ``minutes``: share of the budget over which the rate ramps up linearly from 0
    grad_clip: float = 1.0  #: max gradient norm
    #: MSE = the batch's ESR taken as one signal: what validation ESR measures, without overweighting quiet crops
    loss: dict[str, float] = field(default_factory=lambda: {"mse": 1.0})
    pre_emphasis: float = 0.85
    seed: int = 0
    device: str | None = None
    run_name: str = "amp"
    checkpoint_dir: str | None = None  #: default checkpoints/<run_name>
    resume: bool = True
    track: bool = True
    log_every: int = 10  #: steps between logged training losses
    progress: bool = True

    def architecture(self) -> tuple[str, str | None]:
        return self.model, self.preset


@dataclass
class TrainResult:
    """What a run produced."""

    model: CausalModel
    best_val_esr: float
    best_epoch: int
    epochs_run: int
    history: list[dict[str, float]]
    last_path: Path
    best_path: Path
    seconds: float
    samples_per_second: float
    archive: Path | None = None
    stopped_by_budget: bool = False


def _dist() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
    rank = torch.distributed.get_rank() if world > 1 else 0
    return rank, world


@torch.no_grad()
def predict(model: CausalModel, x: np.ndarray, chunk: int = 262_144, device: str | None = None) -> np.ndarray:
    """Run ``model`` over a whole signal ``x`` (samples,) with zero history before the start, in chunks."""
    device = device or next(model.parameters()).device.type
    rf = model.receptive_field
    padded = np.concatenate([np.zeros(rf - 1, dtype=np.float32), np.asarray(x, dtype=np.float32)])
    out = np.empty(len(x), dtype=np.float32)
    was_training = model.training
    model.eval()
    for start in range(0, len(x), chunk):
        end = min(start + chunk, len(x))
        seg = torch.from_numpy(padded[start : end + rf - 1]).to(device)[None]
        out[start:end] = model(seg)[0].float().cpu().numpy()
    model.train(was_training)
    return out


@torch.no_grad()
def evaluate_split(model: CausalModel, data: AmpData, split: str) -> float:
    """Plain ESR of the model over every range of ``split`` (with real audio as receptive-field context)."""
    preds, targets = [], []
    for start, end in data.splits[split]:
        xin, target = data.with_context(start, end, model.receptive_field)
        y = predict(model, xin)[model.receptive_field - 1 :]
        preds.append(y)
        targets.append(target)
    return esr(np.concatenate(preds), np.concatenate(targets))


def _steps_per_epoch(cfg: TrainConfig, data: AmpData) -> int:
    if cfg.steps_per_epoch:
        return cfg.steps_per_epoch
    return max(1, math.ceil(data.split_samples("train") / (cfg.batch_size * cfg.crop_length)))


def train(data: AmpData, cfg: TrainConfig | None = None, **overrides: Any) -> TrainResult:
    """Train (or resume) a model on ``data``; see :class:`TrainConfig` for the knobs."""
    cfg = cfg or TrainConfig()
    if overrides:
        cfg = TrainConfig(**{**asdict(cfg), **overrides})
    rank, world = _dist()
    is_main = rank == 0
    device = pick_device(cfg.device)
    seed_everything(cfg.seed)
    model = build_model(cfg.model, cfg.preset).to(device)
    rf = model.receptive_field
    if cfg.batch_size % world:
        raise ValueError(f"batch_size {cfg.batch_size} must be divisible by the number of processes {world}")

    folder = Path(cfg.checkpoint_dir) if cfg.checkpoint_dir else checkpoints_dir(cfg.run_name)
    last_path, best_path = folder / "last.pt", folder / "best.pt"
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=cfg.lr_decay)
    loss_fn = CombinedLoss(cfg.loss, cfg.pre_emphasis).to(device)

    start_epoch, history, best_val, best_epoch, elapsed_before = 1, [], float("inf"), 0, 0.0
    if cfg.resume and last_path.exists():
        state = read_checkpoint(last_path)
        if (state.get("train_config", {}).get("model"), state.get("train_config", {}).get("preset")) != cfg.architecture():
            raise CheckpointError(
                f"{last_path} was trained as {state['train_config'].get('model')}/{state['train_config'].get('preset')}, "
                f"not {cfg.model}/{cfg.preset}; choose another run_name or resume=False to start over"
            )
        if state.get("data_fingerprint") != data.fingerprint():
            raise CheckpointError(f"{last_path} was trained on other data; choose another run_name or resume=False")
        check_architecture(state, model, last_path)
        model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch = state["epoch"] + 1
        history, best_val, best_epoch = state["history"], state["best_val_esr"], state["best_epoch"]
        elapsed_before = state.get("seconds", 0.0)

    net: torch.nn.Module = model
    if world > 1:
        # static_graph: the NAM layout has a parameter that never receives a gradient (the last residual 1×1).
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device] if device.startswith("cuda") else None, static_graph=True)

    tracker = None
    if is_main and cfg.track:
        from helpers.tracking import start_experiment

        tracker = start_experiment(cfg.run_name, params={**asdict(cfg), "receptive_field": rf,
                                                         "weights": model.num_weights(), "data": data.name,
                                                         "world_size": world})

    steps = _steps_per_epoch(cfg, data)
    data_meta = data.meta()
    per_rank = cfg.batch_size // world
    t0 = time.perf_counter()
    trained_samples, step, stopped = 0, (start_epoch - 1) * steps, False
    bar = tqdm(range(start_epoch, cfg.epochs + 1), desc=cfg.run_name, disable=not (is_main and cfg.progress),
               initial=start_epoch - 1, total=cfg.epochs)
    epoch = start_epoch - 1
    for epoch in bar:
        rng = np.random.default_rng([cfg.seed, epoch])
        net.train()
        losses = []
        for _ in range(steps):
            starts = random_crops(data.splits["train"], cfg.crop_length, rf, cfg.batch_size, rng)
            xs, ys = make_batch(data, starts[rank * per_rank : (rank + 1) * per_rank], cfg.crop_length, rf)
            xb, yb = torch.from_numpy(xs).to(device), torch.from_numpy(ys).to(device)
            frac = 0.0
            if cfg.minutes is not None:  # a known budget: decay the rate over wall-clock time, not epochs
                frac = budget_fraction(t0, elapsed_before, cfg.minutes, world)
                set_budget_lr(optimizer, cfg.lr, cfg.final_lr_ratio, frac, cfg.warmup_fraction)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(net(xb), yb)
            loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            step += 1
            trained_samples += cfg.batch_size * cfg.crop_length
            losses.append(float(loss.detach()))
            if tracker and step % cfg.log_every == 0:
                tracker.log_metric("train/loss", losses[-1], step=step, epoch=epoch)
            if frac >= 1.0:
                stopped = True
                break
        if cfg.minutes is None:
            scheduler.step()
        val = evaluate_split(model, data, "validation") if is_main else float("nan")
        best_val, best_epoch = record_epoch(
            history, epoch=epoch, step=step, train_loss=float(np.mean(losses)), val=val,
            seconds=elapsed_before + time.perf_counter() - t0, best=(best_val, best_epoch), model=model,
            optimizer=optimizer, scheduler=scheduler, train_config=asdict(cfg), meta=data_meta,
            best_path=best_path, last_path=last_path, tracker=tracker, bar=bar, save=is_main)
        if stopped:
            break
    bar.close()
    seconds = time.perf_counter() - t0
    if world > 1:
        torch.distributed.barrier()
    best_model = load_model(best_path)[0].to(device) if best_path.exists() else model
    archive = None
    if tracker:
        _log_final(tracker, best_model, data, history, best_path)
        archive = tracker.end()
    return TrainResult(model=best_model, best_val_esr=best_val, best_epoch=best_epoch, epochs_run=len(history),
                       history=history, last_path=last_path, best_path=best_path, seconds=seconds,
                       samples_per_second=trained_samples / max(seconds, 1e-9), archive=archive,
                       stopped_by_budget=stopped)


def set_budget_lr(optimizer: torch.optim.Optimizer, lr: float, final_ratio: float, frac: float,
                  warmup_fraction: float = 0.0) -> None:
    """Set the rate for a wall-clock budget ``frac`` used (0–1): exponential decay from ``lr`` to ``lr × final_ratio``,
    times a linear ramp from 0 over the first ``warmup_fraction`` of the budget."""
    frac = min(max(frac, 0.0), 1.0)
    ramp = min(1.0, frac / warmup_fraction) if warmup_fraction > 0 else 1.0
    for group in optimizer.param_groups:
        group["lr"] = lr * ramp * final_ratio**frac


def budget_fraction(t0: float, before: float, minutes: float, world: int = 1) -> float:
    """Share of the wall-clock budget used so far: ``before`` seconds from earlier sessions plus the time since
    ``t0`` (``time.perf_counter``), over ``minutes``; rank 0's clock under DDP, so every rank agrees."""
    frac = torch.tensor([(before + time.perf_counter() - t0) / (60.0 * minutes)], dtype=torch.float64)
    if world > 1:  # same learning rate and same stopping step on every rank
        torch.distributed.broadcast(frac, src=0)
    return float(frac.item())


def _log_final(tracker: Any, model: CausalModel, data: AmpData, history: list[dict], best_path: Path) -> None:
    import matplotlib.pyplot as plt

    start, end = data.splits["validation"][0]
    end = min(end, start + 3 * data.sample_rate)
    xin, target = data.with_context(start, end, model.receptive_field)
    pred = predict(model, xin)[model.receptive_field - 1 :]
    tracker.log_audio(target, data.sample_rate, "validation_target")
    tracker.log_audio(pred, data.sample_rate, "validation_prediction")
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.semilogy([h["epoch"] for h in history], [h["val_esr"] for h in history], label="validation ESR")
    ax.semilogy([h["epoch"] for h in history], [h["train_loss"] for h in history], label="training loss")
    ax.set_xlabel("epoch")
    ax.legend()
    tracker.log_figure(fig, "learning_curve")
    plt.close(fig)
    tracker.log_model("best", best_path)
    tracker.log_metric("best/val_esr", min(h["val_esr"] for h in history))
