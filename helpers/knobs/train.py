"""Training conditioned models: the amp recipe with the knob vector fed alongside, through the one engine.

:class:`KnobTask` draws, for every crop, a *recording* (a knob setting) from the training settings and gives
the model that setting's encoded knob vector; held-out settings (role ``heldout``) are never drawn. The weights
that read the knobs learn at their own rates (:attr:`KnobTrainConfig.mixer_lr_scale`,
:attr:`KnobTrainConfig.film_lr_scale`, through the engine's :meth:`~helpers.training.Task.lr_scales`). Validation:
plain ESR on the validation time range of the training settings (seen settings, unseen audio), averaged over
the settings. The loss can even out the settings' output levels (:attr:`KnobTrainConfig.level_balance`,
:func:`level_weights`). The rest (MSE loss, warm-up and decay over a time budget, clipping, checkpoints, resume,
tracking, CPU workers) is the amp recipe of :mod:`helpers.amp.train` and :mod:`helpers.training`;
:func:`recipe` takes its settings (budget, crops, workers) from :mod:`helpers.amp.workflow`, and
``python -m helpers.knobs train`` runs it from the command line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from helpers import training
from helpers.capture.splits import random_crops
from helpers.errors import CheckpointError, ConfigError, DataError
from helpers.knobs.dataset import KnobData
from helpers.knobs.encoding import KnobEncoding, make_encoding
from helpers.knobs.evaluate import evaluate_settings, knob_vectors
from helpers.knobs.models import ConditionedWaveNet, KnobModel, build_knob_model, load_knob_model
from helpers.knobs.space import KnobSpace
from helpers.losses import CombinedLoss
from helpers.runtime import seed_everything

#: default learning-rate multipliers of the knob columns (:class:`KnobTrainConfig`): the mixers' when they are the
#: only knob path (plain concat), the mixers' beside FiLM blocks, the FiLM blocks'
MIXER_LR_SCALE = 8.0
MIXER_LR_SCALE_WITH_FILM = 1.0
FILM_LR_SCALE = 16.0
#: full-mode crops of :func:`recipe`: the amp recipe's output samples per step (8 × 16,384) cut into twice as many
#: crops, so every step sees about twice as many settings (README, Benchmarks, "More settings per step")
FULL_KNOB_CROPS: dict[str, int] = {"batch_size": 16, "crop_length": 8192}


@dataclass
class KnobTrainConfig(training.TrainConfig):
    """A conditioned run: the engine's settings plus the model, knob encoding, batch and loss."""

    kind: str = "concat"  #: concat, film, concat+film (WaveNets) or lstm
    encoding: str = "values"  #: values or onehot (see helpers.knobs.encoding)
    preset: str | None = "nano"  #: NAM preset of the WaveNets
    layers: list[dict] | None = None  #: explicit NAM layer arrays (overrides preset)
    film_positions: list[str] | None = None  #: NAM FiLM positions (None: models.DEFAULT_FILM; none for concat)
    hidden_size: int = 40  #: LSTM
    lstm_warmup: int = 1024  #: LSTM samples dropped before the loss (state settling)
    batch_size: int = 8
    crop_length: int = 8192  #: output samples per crop
    loss: dict[str, float] = field(default_factory=lambda: {"mse": 1.0})
    pre_emphasis: float = 0.85
    val_seconds: float | None = 2.0  #: validation audio per setting (None = the whole range)
    epochs: int = 20
    lr: float = 8e-3
    #: learning-rate multipliers of the weights that read the knobs (:meth:`ConditionedWaveNet.knob_weights`),
    #: whose knob columns start at zero and must travel far (Adam moves a weight by about the rate per step); 1 =
    #: the rate of every other weight; not used by the LSTM. ``mixer_lr_scale``: the knob columns of the first
    #: re-channel and the input mixers (concat; None: 8 when they are the model's only knob path, 1 beside FiLM
    #: blocks); ``film_lr_scale``: those of the FiLM blocks' 1×1 convs. Measured: README, Benchmarks, "The knobs'
    #: own rates" (concat + FiLM gained most with FiLM at 16 and its mixers at 1; concat alone did better at 8).
    mixer_lr_scale: float | None = None
    film_lr_scale: float = FILM_LR_SCALE
    #: how far the loss evens out the settings' levels, 0..1: each setting's crops are weighed by
    #: ``(mean power ÷ its target's power) ** (level_balance / 2)`` (:func:`level_weights`). 0 = plain MSE, which
    #: counts a setting that plays 5× louder 25× more (the demo overdrive's settings span 0.05–0.28 RMS) and
    #: under-fits the quiet ones; 1 = every setting counts as its ESR does, which under-fits the loud ones. 0.5 was
    #: better at equal steps and worse at 10 CPU minutes (README, Benchmarks), so the default stays plain MSE.
    level_balance: float = 0.0
    warmup_fraction: float = 0.1
    run_name: str = "knobs"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.level_balance <= 1.0:
            raise ConfigError(f"level_balance must be between 0 (plain MSE) and 1 (per-setting ESR), got "
                              f"{self.level_balance}")
        for name in ("mixer_lr_scale", "film_lr_scale"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigError(f"{name} must be a positive multiplier of the rate, got {value}")

    def model_kwargs(self) -> dict[str, Any]:
        if self.kind == "lstm":
            return {"hidden_size": self.hidden_size, "warmup": self.lstm_warmup}
        return {"preset": self.preset, "layers": self.layers, "film_positions": self.film_positions}


class KnobTask(training.Task[KnobModel]):
    """Recordings at several settings, one conditioned model."""

    kind = "knobs"
    score = "val_esr"

    def __init__(self, data: KnobData, config: KnobTrainConfig):
        self.data, self.config = data, config
        seed_everything(config.seed)  # the model's initial weights depend on the seed alone
        self.encoding = make_encoding(config.encoding, data.space)
        self.vectors = knob_vectors(data, self.encoding)
        self.level_weights = level_weights(data, config.level_balance)
        self.train_idx = np.array(data.indices("train"))
        if len(self.train_idx) == 0:
            raise DataError("the data has no training settings (role 'train'); mark some recordings 'train'")
        self.model: KnobModel = build_knob_model(config.kind, self.encoding.size, **config.model_kwargs())
        self.batch_size = config.batch_size
        self.samples_per_example = config.crop_length
        self.loss_fn = CombinedLoss(config.loss, config.pre_emphasis)

    def identity(self) -> dict[str, Any]:
        return {"family": self.model.family, "config": self.model.config(), "data": self.data.fingerprint(),
                "encoding": self.encoding.name}

    def meta(self) -> dict[str, Any]:
        return {"family": self.model.family, "config": self.model.config(), "encoding": self.encoding.name,
                **self.data.meta()}

    def steps_per_epoch(self) -> int:
        """About one pass over the training audio of one setting."""
        train_samples = sum(e - s for s, e in self.data.splits["train"])
        return max(1, math.ceil(train_samples / (self.batch_size * self.config.crop_length)))

    def batch(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Inputs ``(batch, crop + rf - 1)``, targets ``(batch, crop)``, knob vectors ``(batch, size)``, level
        weights ``(batch,)`` (:func:`level_weights`)."""
        rf, n = self.model.receptive_field, self.config.crop_length
        recs = self.train_idx[rng.integers(len(self.train_idx), size=self.batch_size)]
        starts = random_crops(self.data.splits["train"], n, rf, self.batch_size, rng)
        xs = np.stack([self.data.inputs[r][s - rf + 1 : s + n] for r, s in zip(recs, starts)])
        ys = np.stack([self.data.outputs[r][s : s + n] for r, s in zip(recs, starts)])
        return xs, ys, self.vectors[recs], self.level_weights[recs]

    def loss(self, net: nn.Module, batch: training.Batch) -> torch.Tensor:
        x, y, k, w = batch
        self.loss_fn.to(y.device)
        w = w[:, None]
        return self.loss_fn(net(x, k) * w, y * w)

    def lr_scales(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``mixer_lr_scale`` and ``film_lr_scale`` on the knob columns of the WaveNets' knob-reading weights
        (none for the LSTM, none where a scale is 1)."""
        if not isinstance(self.model, ConditionedWaveNet):
            return []
        mixer = self.config.mixer_lr_scale
        if mixer is None:
            mixer = MIXER_LR_SCALE_WITH_FILM if self.model.film_blocks else MIXER_LR_SCALE
        return [(w, 1.0 + (scale - 1.0) * mask)
                for part, scale in (("mixers", mixer), ("film", self.config.film_lr_scale))
                if scale != 1.0 for w, mask in self.model.knob_weights(part)]

    def validate(self, model: nn.Module) -> dict[str, float]:
        return {"val_esr": evaluate_settings(self.model, self.data, self.encoding, list(self.train_idx),
                                             "validation", self.config.val_seconds)}

    def describe(self) -> dict[str, Any]:
        return {"receptive_field": self.model.receptive_field, "data": self.data.name, "knobs": self.data.space.names,
                "train_settings": len(self.train_idx)}


def level_weights(data: KnobData, balance: float = 1.0) -> np.ndarray:
    """Per recording ``(recordings,)``: ``(mean power ÷ its power) ** (balance / 2)``, the targets' power over the
    training range, the mean over the ``train`` settings. Scaling a crop's output and target by it makes its
    squared error relative to its setting's level (``balance`` 1: ESR-like; 0: all ones, plain MSE) while the
    loss keeps about its unweighted size."""
    if balance == 0.0:
        return np.ones(len(data.outputs), np.float32)
    power = np.array([np.mean(np.concatenate([y[s:e] for s, e in data.splits["train"]]).astype(np.float64) ** 2)
                      for y in data.outputs])
    if np.any(power <= 0):
        silent = [i for i, p in enumerate(power) if p <= 0]
        raise DataError(f"recording(s) {silent} are silent over the training range; remove them or fix the capture")
    mean = power[data.indices("train")].mean()
    return ((mean / power) ** (balance / 2)).astype(np.float32)


@dataclass
class KnobTrainResult(training.FitResult[KnobModel]):
    """The engine's result plus the knob encoding the model reads."""

    encoding: KnobEncoding | None = None


def train_knobs(data: KnobData, cfg: KnobTrainConfig | None = None, **overrides: Any) -> KnobTrainResult:
    """Train (or resume) a conditioned model on the ``train``-role settings of ``data``."""
    cfg = replace(cfg or KnobTrainConfig(), **overrides)
    task = KnobTask(data, cfg)
    result = training.Trainer(cfg).fit(task)
    return KnobTrainResult(**result.__dict__, encoding=task.encoding)


def recipe(kind: str = "concat", *, quick: bool = False, **overrides: Any) -> KnobTrainConfig:
    """The amp recipe for a conditioned model: :mod:`helpers.amp.workflow`'s training settings, reused.

    Full mode: ``FULL_TRAINING`` (a 600 s wall-clock budget, up to 1000 epochs) with :data:`FULL_KNOB_CROPS`
    (16 crops × 8192 output samples, each crop a setting drawn at random) on ``workers="auto"``
    single-threaded CPU processes, NAM preset ``standard``; the engine's
    schedule then warms the rate up over the first 10 % of the budget and decays it to 5 % at its end (MSE
    loss, Adam 8e-3 with the knob columns of the mixers at ``mixer_lr_scale`` and of the FiLM blocks at
    ``film_lr_scale`` × that rate: the :class:`KnobTrainConfig` defaults), 0.6 s of validation audio per setting.
    Quick mode: ``QUICK_TRAINING`` (4 epochs of 12 steps, 4 × 8192-sample crops) in one process, preset
    ``nano``, 0.5 s of validation audio per setting.
    ``kind="lstm"`` drops the preset. ``overrides`` (any :class:`KnobTrainConfig` field) win, e.g.
    ``budget_s=60.0 * minutes``.
    """
    from helpers.amp.workflow import FULL_TRAINING, QUICK_TRAINING

    base: dict[str, Any] = dict(QUICK_TRAINING) if quick else {**FULL_TRAINING, **FULL_KNOB_CROPS, "workers": "auto"}
    base.update(preset="nano" if quick else "standard")
    # validation audio per setting: quick 0.5 s; full 0.6 s × the settings (16 in the demo: ~10 s, what a
    # single-setting run validates on, instead of 2 s × 16 of inference between epochs)
    base["val_seconds"] = 0.5 if quick else 0.6
    if kind == "lstm":
        base["preset"] = None
    return KnobTrainConfig(kind=kind, **{**base, **overrides})


def encoding_from_payload(payload: dict[str, Any]) -> KnobEncoding:
    """The knob encoding a checkpoint was trained with (its knobs and encoding name)."""
    if "knobs" not in payload or "encoding" not in payload:
        raise CheckpointError("the checkpoint has no knob information; was it written by train_knobs?")
    return make_encoding(payload["encoding"], KnobSpace.from_list(payload["knobs"]))


def load_trained(path: str | Path) -> tuple[KnobModel, KnobEncoding, dict[str, Any]]:
    """``(model, encoding, payload)`` from a checkpoint of :func:`train_knobs`."""
    model, payload = load_knob_model(path)
    return model, encoding_from_payload(payload), payload
