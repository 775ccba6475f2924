"""Training amp models: the capture-specific part of a run, handed to the course's one engine.

:class:`AmpTask` says what one step learns: random crops of the training ranges (``crop_length`` output samples
plus the receptive field's context each), the loss (MSE by default: the batch's ESR taken as one signal, what
validation ESR measures), and plain ESR on the validation range. Everything else (the time budget with warm-up
and decay, clipping, checkpoints, resume, tracking, CPU workers and ``torchrun``) is :mod:`helpers.training`'s.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from helpers import training
from helpers.amp.data import AmpData, make_batch
from helpers.amp.evaluate import evaluate_split, predict
from helpers.capture.splits import random_crops
from helpers.losses import CombinedLoss
from helpers.models import CausalModel, build_model
from helpers.runtime import seed_everything

#: What a run returns (the engine's result; ``best_score`` is the best validation ESR).
TrainResult = training.FitResult[CausalModel]


@dataclass
class TrainConfig(training.TrainConfig):
    """An amp run: the engine's settings (budget, rate, checkpoints, …) plus the model, batch and loss."""

    model: str = "nam"  #: model family: nam, gated or tcn
    preset: str | None = "feather"
    batch_size: int = 8
    crop_length: int = 16_384  #: output samples per training crop (2x NAM's: less receptive-field overhead)
    #: MSE = the batch's ESR taken as one signal: what validation ESR measures, without overweighting quiet crops
    loss: dict[str, float] = field(default_factory=lambda: {"mse": 1.0})
    pre_emphasis: float = 0.85
    epochs: int = 50
    lr: float = 8e-3
    warmup_fraction: float = 0.1
    run_name: str = "amp"


class AmpTask(training.Task[CausalModel]):
    """One capture, one model: crops in, ESR out."""

    kind = "amp"
    score = "val_esr"

    def __init__(self, data: AmpData, config: TrainConfig, model: CausalModel | None = None,
                 loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None):
        self.data, self.config = data, config
        seed_everything(config.seed)  # the model's initial weights depend on the seed alone
        self.model: CausalModel = model or build_model(config.model, config.preset)
        self.batch_size = config.batch_size
        self.samples_per_example = config.crop_length
        self.loss_fn = loss_fn or CombinedLoss(config.loss, config.pre_emphasis)

    def identity(self) -> dict[str, Any]:
        return {"family": self.model.family, "config": self.model.config(), "data": self.data.fingerprint()}

    def meta(self) -> dict[str, Any]:
        return {"family": self.model.family, "config": self.model.config(), **self.data.meta()}

    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(self.data.split_samples("train") / (self.batch_size * self.config.crop_length)))

    def batch(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        rf = self.model.receptive_field
        starts = random_crops(self.data.splits["train"], self.config.crop_length, rf, self.batch_size, rng)
        return make_batch(self.data, starts, self.config.crop_length, rf)

    def loss(self, net: nn.Module, batch: training.Batch) -> torch.Tensor:
        x, y = batch
        if isinstance(self.loss_fn, nn.Module):
            self.loss_fn.to(y.device)
        return self.loss_fn(net(x), y)

    def validate(self, model: nn.Module) -> dict[str, float]:
        return {"val_esr": evaluate_split(self.model, self.data, "validation")}

    def describe(self) -> dict[str, Any]:
        return {"receptive_field": self.model.receptive_field, "data": self.data.name}

    def report(self, model: nn.Module, tracker: Any, history: list[dict[str, float]]) -> None:
        """Validation audio (target and prediction, 3 s) and the learning curve."""
        import matplotlib.pyplot as plt

        data, rf = self.data, self.model.receptive_field
        start, end = data.splits["validation"][0]
        xin, target = data.with_context(start, min(end, start + 3 * data.sample_rate), rf)
        tracker.log_audio(target, data.sample_rate, "validation_target")
        tracker.log_audio(predict(self.model, xin)[rf - 1 :], data.sample_rate, "validation_prediction")
        fig, ax = plt.subplots(figsize=(7, 3))
        ax.semilogy([h["epoch"] for h in history], [h["val_esr"] for h in history], "o-")
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation ESR")
        ax.set_title(f"{data.name}: validation ESR per epoch")
        tracker.log_figure(fig, "learning_curve")
        plt.close(fig)


def train(data: AmpData, cfg: TrainConfig | None = None, *,
          loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None, **overrides: Any) -> TrainResult:
    """Train (or resume) a model on ``data`` with the engine; ``result.model`` holds the best validation weights.

    ``loss_fn(prediction, target)`` (both ``(batch, samples)``) replaces the config's loss: e.g. one you wrote.

    ``cfg.workers`` > 1 (or ``"auto"``) splits each batch over single-threaded CPU processes; under ``torchrun``
    each process trains its share (DDP).
    """
    cfg = replace(cfg or TrainConfig(), **overrides)
    return training.Trainer(cfg).fit(AmpTask(data, cfg, loss_fn=loss_fn))
