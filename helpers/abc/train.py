"""Training a :class:`CharLSTM` on the tune stream: the ABC-specific part of a run, handed to the one engine.

:class:`AbcTask` draws random windows of the training stream (targets are the inputs shifted by one
character), takes the cross-entropy in nats per character, and validates on the held-out tunes. The budget
(CPU seconds by default, validation not counted), warm-up and cosine decay, clipping, checkpoints, resume and
tracking are :mod:`helpers.training`'s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from helpers import training
from helpers.abc.evaluate import LN2, evaluate, model_stream
from helpers.abc.model import CharLSTM, CharLSTMConfig
from helpers.abc.vocab import Vocab, get_batch
from helpers.runtime import pick_device


@dataclass
class TrainConfig(training.TrainConfig):
    """An ABC run: the engine's settings (epochs of ``steps_per_epoch`` steps, validated after each) plus the
    batch of windows and how validation reads the held-out stream."""

    batch_size: int = 32
    seq_length: int = 200  #: characters per training window
    eval_streams: int = 16
    eval_chunk: int = 250
    sample_every: int | None = None  #: epochs between samples logged to the tracker
    epochs: int = 20
    steps_per_epoch: int | None = 100
    clock: training.Clock = "process"
    budget_counts_validation: bool = False
    optimizer: Literal["adam", "adamw"] = "adamw"
    lr: float = 3e-3
    schedule: Literal["exponential", "cosine", "constant"] = "cosine"
    warmup_fraction: float = 0.01
    run_name: str = "abc"
    track: bool = False


class AbcTask(training.Task[CharLSTM]):
    """Next-character prediction on a stream of tunes."""

    kind = "abc"
    score = "val_nats"

    def __init__(self, model: CharLSTM, vocab: Vocab, train_ids: np.ndarray, val_ids: np.ndarray,
                 config: TrainConfig, sample_fn: Callable[[CharLSTM], str] | None = None):
        self.model, self.vocab, self.config, self.sample_fn = model, vocab, config, sample_fn
        self.train_ids, self.val_ids = model_stream(model, vocab, train_ids), model_stream(model, vocab, val_ids)
        self.batch_size = config.batch_size
        self.samples_per_example = config.seq_length

    def identity(self) -> dict[str, Any]:
        digest = hashlib.sha1(np.ascontiguousarray(self.train_ids).tobytes()).hexdigest()[:16]
        return {"model_config": asdict(self.model.config), "vocab": list(self.vocab.chars), "data": digest}

    def meta(self) -> dict[str, Any]:
        return {"model_config": asdict(self.model.config), "vocab": list(self.vocab.chars)}

    def steps_per_epoch(self) -> int:
        return max(1, len(self.train_ids) // (self.batch_size * self.config.seq_length))

    def batch(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return get_batch(self.train_ids, self.config.seq_length, self.batch_size, rng)

    def loss(self, net: nn.Module, batch: training.Batch) -> torch.Tensor:
        x, y = batch
        logits, _ = net(x)
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    def validate(self, model: nn.Module) -> dict[str, float]:
        nats = evaluate(self.model, self.val_ids, n_streams=self.config.eval_streams, chunk=self.config.eval_chunk)
        return {"val_nats": nats, "val_bits": nats / LN2}

    def describe(self) -> dict[str, Any]:
        return {"vocab_size": len(self.vocab), **asdict(self.model.config)}

    def after_epoch(self, model: nn.Module, tracker: Any, row: dict[str, float]) -> None:
        every = self.config.sample_every
        if self.sample_fn is not None and every and int(row["epoch"]) % every == 0:
            tracker.log_text(self.sample_fn(self.model), step=int(row["step"]), metadata={"kind": "sample"})


def train(model: CharLSTM, vocab: Vocab, train_ids: np.ndarray, val_ids: np.ndarray, config: TrainConfig, *,
          tracker: Any | None = None, sample_fn: Callable[[CharLSTM], str] | None = None,
          pause_after_epochs: int | None = None) -> training.FitResult[CharLSTM]:
    """Train ``model`` on random windows of ``train_ids``; validate on ``val_ids`` after every epoch.

    Checkpoints go to ``config.checkpoint_dir`` (default ``checkpoints/<run_name>``); an existing ``last.pt`` of
    the same model, vocabulary and data resumes. ``sample_fn(model)`` returns text logged to ``tracker`` every
    ``sample_every`` epochs. ``result.model`` (the same object as ``model``) ends with the best weights;
    ``result.best_score`` is the best validation loss in nats per character.
    """
    task = AbcTask(model, vocab, train_ids, val_ids, config, sample_fn)
    return training.Trainer(config).fit(task, tracker=tracker, pause_after_epochs=pause_after_epochs)


def load_model(path: str | Path, *, device: str | None = None) -> tuple[CharLSTM, Vocab]:
    """Rebuild the model and vocabulary from a checkpoint file (``best.pt``) or a run folder (its ``best.pt``)."""
    p = Path(path)
    payload = training.read_checkpoint(p / "best.pt" if p.is_dir() else p, kind="abc")
    model = CharLSTM(CharLSTMConfig(**payload["model_config"]))
    model.load_state_dict(payload["state_dict"])
    model.to(device or pick_device()).eval()
    return model, Vocab(tuple(payload["vocab"]))


#: Training settings that go with the model presets: ``quick`` (seconds, for tests and quick mode),
#: ``full`` (about 10 CPU minutes on a 2-core machine) and ``lab`` (the reference lab: batch 8,
#: sequence 100, Adam 5e-3, no schedule).
TRAIN_PRESETS: dict[str, TrainConfig] = {
    "quick": TrainConfig(batch_size=16, seq_length=100, lr=5e-3, epochs=3, steps_per_epoch=50, warmup_fraction=0.07),
    "full": TrainConfig(batch_size=32, seq_length=200, lr=4e-3, epochs=400, steps_per_epoch=50, budget_s=600.0,
                        warmup_fraction=0.005, weight_decay=0.1),
    "lab": TrainConfig(batch_size=8, seq_length=100, lr=5e-3, epochs=20, steps_per_epoch=100, schedule="constant",
                       warmup_fraction=0.0, grad_clip=0.0),
}


def preset_config(name: str, **overrides: Any) -> TrainConfig:
    """A copy of ``TRAIN_PRESETS[name]`` with ``overrides``."""
    return replace(TRAIN_PRESETS[name], **overrides)
