"""Train a :class:`CharLSTM` on the tune stream: a plain loop with tqdm, Comet, checkpoints, resume and a
time budget. Losses are in nats per character (divide by ln 2 for bits per character)."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from helpers.abc import metre
from helpers.abc.model import CharLSTM, CharLSTMConfig
from helpers.abc.vocab import Vocab, contiguous_streams, get_batch
from helpers.atomic import torch_save
from helpers.runtime import pick_device, seed_everything

LN2 = math.log(2.0)


@dataclass
class TrainConfig:
    """Training settings. ``time_budget_s`` stops training after that many seconds of ``clock`` time
    (``"process"``: CPU seconds of this process, all threads; ``"wall"``: elapsed seconds); time spent on
    validation and samples is not counted."""

    batch_size: int = 32
    seq_length: int = 200
    lr: float = 3e-3
    max_steps: int = 2000
    time_budget_s: float | None = None
    clock: str = "process"
    schedule: str = "cosine"  # or "constant"
    min_lr_ratio: float = 0.05
    warmup_steps: int = 20
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    eval_every: int = 100
    eval_streams: int = 16
    eval_chunk: int = 250
    patience: int | None = None  # evaluations without improvement before stopping early
    sample_every: int | None = None
    checkpoint_every: int | None = None  # steps; default: at every evaluation
    seed: int = 0


@dataclass
class TrainResult:
    """What :func:`train` did: per-evaluation history, best validation loss and where it was saved."""

    history: list[dict[str, float]] = field(default_factory=list)
    best_val: float = float("inf")
    best_step: int = 0
    steps: int = 0
    seconds: float = 0.0
    checkpoint: Path | None = None
    stopped: str = ""

    @property
    def best_val_bits(self) -> float:
        return self.best_val / LN2


class _Clock:
    def __init__(self, kind: str, offset: float):
        if kind not in ("process", "wall"):
            raise ValueError(f"clock must be 'process' or 'wall', not {kind!r}")
        self.fn = time.process_time if kind == "process" else time.perf_counter
        self.start = self.fn() - offset

    def elapsed(self) -> float:
        return self.fn() - self.start

    def exclude(self, seconds: float) -> None:
        """Do not count ``seconds`` (spent evaluating or sampling) against the training budget."""
        self.start += seconds


def model_stream(model: nn.Module, vocab: Vocab, ids: np.ndarray) -> np.ndarray:
    """What ``model`` reads from the character ids ``ids`` ``(n,)``: the ids themselves, or for a model with a
    bar clock ``(n, 4)`` rows of (character id, the three clock features after that character)."""
    if not getattr(model, "reads_clock", False) or ids.ndim == 2:
        return ids
    return np.concatenate([ids[:, None], metre.clock_states(vocab.decode(ids))], axis=-1)


@torch.no_grad()
def evaluate(model: nn.Module, ids: np.ndarray, *, n_streams: int = 16, chunk: int = 250, device: str | None = None,
             vocab: Vocab | None = None) -> float:
    """Mean cross-entropy (nats/char) of ``model`` over the vectorised stream ``ids``.

    The stream is cut into ``n_streams`` contiguous rows read in chunks of ``chunk`` characters with
    the LSTM state carried over, so every character is scored once with its full left context (up to
    its row's start). A model with a bar clock needs ``vocab`` (or ids from :func:`model_stream`).
    """
    if getattr(model, "reads_clock", False) and ids.ndim == 1:
        if vocab is None:
            raise ValueError("this model reads the bar clock: pass vocab= or ids from model_stream(model, vocab, ids)")
        ids = model_stream(model, vocab, ids)
    device = device or next(model.parameters()).device.type
    was_training = model.training
    model.eval()
    x, y = contiguous_streams(ids, n_streams)
    total, count, state = 0.0, 0, None
    for s in range(0, x.shape[1], chunk):
        xb = torch.from_numpy(x[:, s : s + chunk]).to(device)
        yb = torch.from_numpy(y[:, s : s + chunk]).to(device)
        logits, state = model(xb, state)
        total += float(nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), yb.reshape(-1), reduction="sum"))
        count += yb.numel()
    model.train(was_training)
    return total / max(count, 1)


def learning_rate(config: TrainConfig, progress: float, step: int) -> float:
    """Learning rate at ``progress`` ∈ [0, 1] of training (linear warm-up, then constant or cosine)."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    if config.schedule == "constant":
        return config.lr
    if config.schedule != "cosine":
        raise ValueError(f"schedule must be 'cosine' or 'constant', not {config.schedule!r}")
    floor = config.lr * config.min_lr_ratio
    return floor + (config.lr - floor) * 0.5 * (1 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))


def save_checkpoint(path: str | os.PathLike[str], payload: dict[str, Any]) -> Path:
    """Atomically write a training checkpoint."""
    return torch_save(payload, path)


def load_model(path: str | os.PathLike[str], *, best: bool = True, device: str | None = None) -> tuple[CharLSTM, Vocab]:
    """Rebuild the model (best validation weights by default) and vocabulary from a checkpoint."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no checkpoint; train a model first (notebook 07)")
    ckpt = torch.load(p, map_location="cpu", weights_only=False)
    model = CharLSTM(CharLSTMConfig(**ckpt["model_config"]))
    model.load_state_dict(ckpt["best_state"] if best and ckpt.get("best_state") else ckpt["model_state"])
    model.to(device or pick_device()).eval()
    return model, Vocab(tuple(ckpt["vocab"]))


def train(
    model: CharLSTM,
    vocab: Vocab,
    train_ids: np.ndarray,
    val_ids: np.ndarray,
    config: TrainConfig,
    *,
    checkpoint_path: str | os.PathLike[str] | None = None,
    resume: bool = True,
    tracker: Any | None = None,
    sample_fn: Callable[[CharLSTM], str] | None = None,
    device: str | None = None,
    progress: bool = True,
    stop_after: int | None = None,
) -> TrainResult:
    """Train ``model`` on random windows of ``train_ids``; evaluate on ``val_ids`` every ``eval_every`` steps.

    Keeps the best-validation weights in the checkpoint (``best_state``); with ``resume`` an existing
    checkpoint at ``checkpoint_path`` continues where it stopped (same batches as an uninterrupted run).
    ``sample_fn(model)`` returns text logged to ``tracker`` every ``sample_every`` steps. ``stop_after``
    pauses after that many steps of this call (the schedule still follows ``config``): resume later.
    """
    device = device or pick_device()
    seed_everything(config.seed)
    rng = np.random.default_rng(config.seed)
    train_ids, val_ids = model_stream(model, vocab, train_ids), model_stream(model, vocab, val_ids)
    model.to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    result = TrainResult(checkpoint=Path(checkpoint_path) if checkpoint_path else None)
    best_state: dict[str, torch.Tensor] | None = None
    step, offset, bad_evals = 0, 0.0, 0
    if checkpoint_path and resume and Path(checkpoint_path).exists():
        ckpt = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
        if tuple(ckpt["vocab"]) != vocab.chars or ckpt["model_config"] != asdict(model.config):
            raise ValueError(f"{checkpoint_path}: checkpoint was made for another vocabulary or model size; "
                             "delete it or pass resume=False")
        model.load_state_dict(ckpt["model_state"])
        opt.load_state_dict(ckpt["optimizer"])
        rng.bit_generator.state = ckpt["rng"]
        torch.set_rng_state(ckpt["torch_rng"])
        step, offset = ckpt["step"], ckpt["seconds"]
        result.history, result.best_val, result.best_step = ckpt["history"], ckpt["best_val"], ckpt["best_step"]
        best_state, bad_evals = ckpt.get("best_state"), ckpt.get("bad_evals", 0)
    clock = _Clock(config.clock, offset)

    def progress_of(s: int) -> float:
        p = s / config.max_steps
        if config.time_budget_s:
            p = max(p, clock.elapsed() / config.time_budget_s)
        return p

    def checkpoint() -> None:
        if checkpoint_path is None:
            return
        save_checkpoint(checkpoint_path, {
            "model_state": model.state_dict(), "best_state": best_state, "optimizer": opt.state_dict(),
            "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "step": step,
            "seconds": clock.elapsed(), "history": result.history, "best_val": result.best_val,
            "best_step": result.best_step, "bad_evals": bad_evals, "vocab": list(vocab.chars),
            "model_config": asdict(model.config), "train_config": asdict(config),
        })

    bar = tqdm(total=config.max_steps, initial=step, desc="training", disable=not progress, leave=False)
    running = None
    stopped = "max_steps"
    first_step = step
    while step < config.max_steps:
        if stop_after is not None and step - first_step >= stop_after:
            stopped = "paused"
            break
        if config.time_budget_s and clock.elapsed() >= config.time_budget_s:
            stopped = "time budget"
            break
        lr = learning_rate(config, progress_of(step), step)
        for group in opt.param_groups:
            group["lr"] = lr
        x, y = get_batch(train_ids, config.seq_length, config.batch_size, rng)
        xb, yb = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
        logits, _ = model(xb)
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), yb.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip:
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        opt.step()
        step += 1
        value = loss.item()
        running = value if running is None else 0.95 * running + 0.05 * value
        bar.update(1)
        if tracker is not None:
            tracker.log_metrics({"train/loss": value, "train/lr": lr}, step=step)
        last = step == config.max_steps or (config.time_budget_s and clock.elapsed() >= config.time_budget_s)
        if step % config.eval_every == 0 or last:
            eval_start = clock.elapsed()
            val = evaluate(model, val_ids, n_streams=config.eval_streams, chunk=config.eval_chunk, device=device)
            clock.exclude(clock.elapsed() - eval_start)
            row = {"step": step, "seconds": clock.elapsed(), "train_loss": running, "val_nats": val,
                   "val_bits": val / LN2, "lr": lr}
            result.history.append(row)
            bar.set_postfix(train=f"{running:.3f}", val=f"{val:.3f}")
            if tracker is not None:
                tracker.log_metrics({"val/nats_per_char": val, "val/bits_per_char": val / LN2,
                                     "train/loss_smoothed": running}, step=step)
            if val < result.best_val:
                result.best_val, result.best_step, bad_evals = val, step, 0
                best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            else:
                bad_evals += 1
            checkpoint()
            if config.patience is not None and bad_evals >= config.patience:
                stopped = f"early stop: no improvement in {config.patience} evaluations"
                break
        elif config.checkpoint_every and step % config.checkpoint_every == 0:
            checkpoint()
        if sample_fn is not None and tracker is not None and config.sample_every and step % config.sample_every == 0:
            sample_start = clock.elapsed()
            tracker.log_text(sample_fn(model), step=step, metadata={"kind": "sample"})
            clock.exclude(clock.elapsed() - sample_start)
    bar.close()
    result.steps, result.seconds, result.stopped = step, clock.elapsed(), stopped
    checkpoint()  # the latest weights, so that a longer run can resume from here
    if best_state is not None:
        model.load_state_dict(best_state)
    return result


#: Training settings that go with the model presets: ``quick`` (seconds, for tests and quick mode),
#: ``full`` (about 10 CPU minutes on a 2-core machine) and ``lab`` (the reference lab: batch 8,
#: sequence 100, Adam 5e-3, no schedule).
TRAIN_PRESETS: dict[str, TrainConfig] = {
    "quick": TrainConfig(batch_size=16, seq_length=100, lr=5e-3, max_steps=150, eval_every=50, warmup_steps=10),
    "full": TrainConfig(batch_size=32, seq_length=200, lr=4e-3, max_steps=20_000, time_budget_s=600.0,
                        eval_every=50, warmup_steps=10, weight_decay=0.1),
    "lab": TrainConfig(batch_size=8, seq_length=100, lr=5e-3, max_steps=2000, schedule="constant", warmup_steps=0,
                       grad_clip=0.0, eval_every=100),
}
