"""Train a preset encoder f to output the teacher's (normalised) embedding of the preset's sound.

L1 loss, AdamW with a warm-up + cosine learning-rate schedule, a checkpoint after every epoch (atomic)
that a later call resumes from, a time budget, a progress bar and Comet tracking (offline by default).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from helpers.atomic import torch_save
from helpers.paths import checkpoints_dir
from helpers.runtime import pick_device, seed_everything
from helpers.synth.dataset import EmbeddingNormalizer, PresetDataset
from helpers.synth.encoders import build_encoder, count_parameters
from helpers.synth.evaluate import evaluate_encoder
from helpers.synth.synth import ParamSpec
from helpers.tracking import Tracker, start_experiment


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run (all of them go to Comet and into the checkpoint)."""

    encoder: str = "mlp"
    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_frac: float = 0.05
    seed: int = 0
    max_seconds: float | None = None
    n_candidates: int = 256
    encoder_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainResult:
    """A trained encoder with what it needs to be used: the normaliser of the embedding space."""

    model: nn.Module
    normalizer: EmbeddingNormalizer
    config: TrainConfig
    history: list[dict[str, float]]
    checkpoint: Path
    seconds: float
    stopped_by_budget: bool = False
    resumed_from_epoch: int = 0
    archive: Path | None = None

    @property
    def epochs_done(self) -> int:
        return len(self.history)


class CheckpointError(RuntimeError):
    """A checkpoint file is missing or was written by something else."""


def _fingerprint(data: PresetDataset) -> str:
    h = hashlib.sha1()
    h.update(data.presets.numpy().tobytes())
    h.update(data.embeddings.numpy().tobytes())
    return h.hexdigest()[:12]


def _schedule(optimizer: torch.optim.Optimizer, total_steps: int, warmup_frac: float) -> torch.optim.lr_scheduler.LambdaLR:
    warmup = max(1, int(total_steps * warmup_frac))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return 0.5 * (1 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def default_checkpoint(config: TrainConfig, run_name: str | None = None) -> Path:
    """``checkpoints/synth_proxy/<run_name or encoder>.pt``."""
    return checkpoints_dir("synth_proxy", f"{run_name or config.encoder}.pt")


def train_encoder(train: PresetDataset, val: PresetDataset, specs: tuple[ParamSpec, ...], config: TrainConfig, *,
                  run_name: str | None = None, normalizer: EmbeddingNormalizer | None = None,
                  checkpoint: Path | None = None, resume: bool = True, track: bool = True,
                  device: str | None = None, progress: bool = True, stop_after_epoch: int | None = None,
                  save_every_s: float = 20.0) -> TrainResult:
    """Train ``config.encoder`` on ``train``; validate (L1, MRR) on ``val`` after every epoch.

    A checkpoint written by the same configuration on the same data is resumed (a finished one is just
    loaded); anything else starts afresh and overwrites it. When ``config.max_seconds`` runs out, training
    stops at the end of that epoch; ``stop_after_epoch`` stops after that epoch (train in chunks). Neither is
    part of the run's identity, so a later call resumes and ends with the same weights as one uninterrupted
    run. The checkpoint is written at most every ``save_every_s`` seconds, and always when training stops.
    """
    device = device or pick_device()
    ckpt_path = checkpoint or default_checkpoint(config, run_name)
    normalizer = normalizer or EmbeddingNormalizer.fit(train.embeddings)
    out_dim = int(train.embeddings.shape[1])
    budget_free = dataclasses.asdict(dataclasses.replace(config, max_seconds=None))
    identity = {"config": budget_free, "train": _fingerprint(train), "val": _fingerprint(val),
                "specs": [dataclasses.asdict(s) for s in specs]}

    seed_everything(config.seed)
    model = build_encoder(config.encoder, specs, out_dim, **config.encoder_kwargs).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(train) / config.batch_size)
    scheduler = _schedule(optimizer, steps_per_epoch * config.epochs, config.warmup_frac)
    history: list[dict[str, float]] = []
    start_epoch = 0
    if resume and ckpt_path.exists():
        blob = torch.load(ckpt_path, map_location=device, weights_only=False)
        if blob.get("identity") == identity:
            model.load_state_dict(blob["model"])
            optimizer.load_state_dict(blob["optimizer"])
            scheduler.load_state_dict(blob["scheduler"])
            history = list(blob["history"])
            start_epoch = len(history)
            normalizer = EmbeddingNormalizer.from_state_dict(blob["normalizer"])

    targets = normalizer(train.embeddings)
    tracker: Tracker | None = None
    if track and start_epoch < min(config.epochs, stop_after_epoch or config.epochs):
        tracker = start_experiment(f"08_synth_proxy-{run_name or config.encoder}",
                                   params={**dataclasses.asdict(config), "n_train": len(train), "n_val": len(val),
                                           "weights": count_parameters(model), "resumed_from_epoch": start_epoch},
                                   tags=["synth_proxy", config.encoder])
    started = last_save = time.perf_counter()
    stopped = False
    bar = tqdm(total=config.epochs, initial=start_epoch, desc=f"train {run_name or config.encoder}",
               disable=not progress)
    last_epoch = config.epochs if stop_after_epoch is None else min(config.epochs, stop_after_epoch)
    for epoch in range(start_epoch, last_epoch):
        model.train()
        gen = torch.Generator().manual_seed(config.seed * 100_003 + epoch)  # same order when resumed
        order = torch.randperm(len(train), generator=gen)
        total, count = 0.0, 0
        for b in range(steps_per_epoch):
            idx = order[b * config.batch_size:(b + 1) * config.batch_size]
            x, y = train.presets[idx].to(device), targets[idx].to(device)
            loss = nn.functional.l1_loss(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
            if tracker is not None and b % 10 == 0:
                tracker.log_metric("train/l1_step", float(loss.detach()), step=epoch * steps_per_epoch + b)
        scores = evaluate_encoder(model, val, normalizer, n_candidates=config.n_candidates, ks=(1, 5), device=device)
        row = {"epoch": epoch + 1, "train_l1": total / count, "val_l1": scores["l1"], "val_mrr": scores["mrr"],
               "lr": scheduler.get_last_lr()[0]}
        history.append(row)
        if tracker is not None:
            tracker.log_metrics({"train/l1": row["train_l1"], "val/l1": row["val_l1"], "val/mrr": row["val_mrr"],
                                 "lr": row["lr"]}, step=(epoch + 1) * steps_per_epoch, epoch=epoch + 1)
        stopped = config.max_seconds is not None and time.perf_counter() - started > config.max_seconds
        if stopped or epoch + 1 == last_epoch or time.perf_counter() - last_save > save_every_s:
            torch_save({"identity": identity, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(), "history": history,
                        "normalizer": normalizer.state_dict(), "out_dim": out_dim}, ckpt_path)
            last_save = time.perf_counter()
        bar.update(1)
        bar.set_postfix(train_l1=f"{row['train_l1']:.3f}", val_mrr=f"{row['val_mrr']:.3f}")
        if stopped:
            break
    bar.close()
    archive = None
    if tracker is not None:
        if ckpt_path.exists():
            tracker.log_model(f"synth_proxy-{run_name or config.encoder}", ckpt_path)
        archive = tracker.end()
    model.eval()
    return TrainResult(model, normalizer, config, history, ckpt_path, time.perf_counter() - started, stopped,
                       start_epoch, archive)


def load_encoder(path: str | Path, device: str = "cpu") -> tuple[nn.Module, EmbeddingNormalizer, TrainConfig]:
    """Rebuild a trained encoder from its checkpoint: ``(model in eval mode, normaliser, config)``."""
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"{p}: no such checkpoint; train one with helpers.synth.train.train_encoder")
    blob = torch.load(p, map_location=device, weights_only=False)
    if "identity" not in blob:
        raise CheckpointError(f"{p}: not a synth-proxy checkpoint")
    config = TrainConfig(**blob["identity"]["config"])
    specs = tuple(ParamSpec(**{**s, "choices": tuple(s["choices"])}) for s in blob["identity"]["specs"])
    model = build_encoder(config.encoder, specs, blob["out_dim"], **config.encoder_kwargs).to(device)
    model.load_state_dict(blob["model"])
    return model.eval(), EmbeddingNormalizer.from_state_dict(blob["normalizer"]), config
