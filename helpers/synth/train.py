"""Train a preset encoder f to output the teacher's (normalised) embedding of the preset's sound.

:class:`SynthTask` says what one step learns: a batch of presets (each epoch a fresh permutation, drawn from
the engine's per-epoch generator), the L1 distance to their normalised teacher embeddings, and validation L1
and MRR. AdamW with a warm-up + cosine schedule, the time budget, checkpoints, resume, the progress bar and
Comet tracking (offline by default) are :mod:`helpers.training`'s.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from helpers import training
from helpers.errors import CheckpointError
from helpers.paths import checkpoints_dir
from helpers.runtime import seed_everything
from helpers.synth.dataset import EmbeddingNormalizer, PresetDataset
from helpers.synth.encoders import build_encoder, count_parameters
from helpers.synth.evaluate import evaluate_encoder
from helpers.synth.synth import ParamSpec


@dataclass
class TrainConfig(training.TrainConfig):
    """An encoder run: the engine's settings plus the encoder and how validation ranks candidates."""

    encoder: str = "mlp"
    batch_size: int = 128
    n_candidates: int = 256  #: candidates per query in the validation MRR
    encoder_kwargs: dict[str, Any] = field(default_factory=dict)
    epochs: int = 30
    optimizer: Literal["adam", "adamw"] = "adamw"
    lr: float = 1e-3
    weight_decay: float = 0.01
    schedule: Literal["exponential", "cosine", "constant"] = "cosine"
    final_lr_ratio: float = 0.0
    warmup_fraction: float = 0.05
    grad_clip: float = 0.0


def fingerprint(data: PresetDataset) -> str:
    """A short hash of a dataset's presets and embeddings (a checkpoint only resumes on the same data)."""
    h = hashlib.sha1()
    h.update(data.presets.numpy().tobytes())
    h.update(data.embeddings.numpy().tobytes())
    return h.hexdigest()[:12]


class SynthTask(training.Task[nn.Module]):
    """Presets in, normalised teacher embeddings out (L1)."""

    kind = "synth"
    score = "val_l1"

    def __init__(self, train: PresetDataset, val: PresetDataset, specs: tuple[ParamSpec, ...], config: TrainConfig,
                 normalizer: EmbeddingNormalizer):
        self.train, self.val, self.specs, self.config, self.normalizer = train, val, specs, config, normalizer
        seed_everything(config.seed)  # the model's initial weights depend on the seed alone
        self.out_dim = int(train.embeddings.shape[1])
        self.model = build_encoder(config.encoder, specs, self.out_dim, **config.encoder_kwargs)
        self.targets = normalizer(train.embeddings)
        self.batch_size = config.batch_size
        self.order: np.ndarray = np.arange(0)
        self.cursor = 0

    def identity(self) -> dict[str, Any]:
        return {"encoder": self.config.encoder, "encoder_kwargs": self.config.encoder_kwargs,
                "specs": [dataclasses.asdict(s) for s in self.specs], "out_dim": self.out_dim,
                "train": fingerprint(self.train), "val": fingerprint(self.val)}

    def meta(self) -> dict[str, Any]:
        return {"encoder": self.config.encoder, "encoder_kwargs": self.config.encoder_kwargs,
                "specs": [dataclasses.asdict(s) for s in self.specs], "out_dim": self.out_dim,
                "normalizer": self.normalizer.state_dict()}

    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.train) / self.batch_size)

    def batch(self, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """The next ``batch_size`` presets of a permutation drawn with ``rng`` once the last one is used up (so an
        epoch of :meth:`steps_per_epoch` steps sees every preset once; its last batch may be smaller)."""
        if self.cursor >= len(self.order):
            self.order, self.cursor = rng.permutation(len(self.train)), 0
        idx = torch.from_numpy(self.order[self.cursor : self.cursor + self.batch_size])
        self.cursor += self.batch_size
        return self.train.presets[idx], self.targets[idx]

    def loss(self, net: nn.Module, batch: training.Batch) -> torch.Tensor:
        x, y = batch
        return nn.functional.l1_loss(net(x), y)

    def validate(self, model: nn.Module) -> dict[str, float]:
        device = next(self.model.parameters()).device.type
        scores = evaluate_encoder(self.model, self.val, self.normalizer, n_candidates=self.config.n_candidates,
                                  ks=(1, 5), device=device)
        return {"val_l1": scores["l1"], "val_mrr": scores["mrr"]}

    def describe(self) -> dict[str, Any]:
        return {"n_train": len(self.train), "n_val": len(self.val), "weights": count_parameters(self.model)}


@dataclass
class SynthTrainResult(training.FitResult[nn.Module]):
    """The engine's result plus the normaliser of the embedding space the encoder predicts into."""

    normalizer: EmbeddingNormalizer | None = None


def train_encoder(train: PresetDataset, val: PresetDataset, specs: tuple[ParamSpec, ...], config: TrainConfig, *,
                  normalizer: EmbeddingNormalizer | None = None,
                  pause_after_epochs: int | None = None) -> SynthTrainResult:
    """Train ``config.encoder`` on ``train``; validate (L1, MRR) on ``val`` after every epoch.

    Checkpoints go to ``config.checkpoint_dir`` (default ``checkpoints/synth_proxy/<run_name>``); a checkpoint of
    the same encoder on the same data resumes (a finished one is just loaded). ``result.model`` holds the weights
    of the best validation L1.
    """
    if config.checkpoint_dir is None:
        config = dataclasses.replace(config, checkpoint_dir=str(checkpoints_dir("synth_proxy", config.run_name)))
    task = SynthTask(train, val, specs, config, normalizer or EmbeddingNormalizer.fit(train.embeddings))
    result = training.Trainer(config).fit(task, pause_after_epochs=pause_after_epochs)
    return SynthTrainResult(**result.__dict__, normalizer=task.normalizer)


def load_encoder(path: str | Path, device: str = "cpu") -> tuple[nn.Module, EmbeddingNormalizer, TrainConfig]:
    """Rebuild a trained encoder from its checkpoint (a ``.pt`` file or a run folder, whose ``best.pt`` is read):
    ``(model in eval mode, normaliser, config)``."""
    p = Path(path)
    payload = training.read_checkpoint(p / "best.pt" if p.is_dir() else p, kind="synth")
    try:
        config = TrainConfig(**payload["train_config"])
        specs = tuple(ParamSpec(**{**s, "choices": tuple(s["choices"])}) for s in payload["specs"])
        model = build_encoder(payload["encoder"], specs, payload["out_dim"], **payload["encoder_kwargs"]).to(device)
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, RuntimeError) as exc:
        raise CheckpointError(f"{p}: not a loadable synth-proxy encoder ({exc})") from exc
    return model.eval(), EmbeddingNormalizer.from_state_dict(payload["normalizer"]), config
