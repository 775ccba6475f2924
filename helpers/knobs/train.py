"""Training conditioned models: the amp training loop's pieces, with the knob vector fed alongside.

The loop mirrors :func:`helpers.amp.train.train` (seeded crops per ``(seed, epoch)``, Adam with gradient
clipping, ExponentialLR per epoch or, with a ``minutes`` budget, the same decay spread over wall-clock time,
``last.pt``/``best.pt`` written atomically by :func:`helpers.amp.checkpoint.save_checkpoint`, exact resume,
Comet tracking), and reuses its crop sampler, losses and checkpoint format. What differs: each crop also
draws a *recording* (a knob setting) from the training settings, and the model gets that setting's encoded
knob vector. Held-out settings (role ``heldout``) are never drawn. Validation: plain ESR on the validation
time range of the training settings (seen settings, unseen audio), averaged over the settings.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from helpers.amp.checkpoint import CheckpointError, read_checkpoint, record_epoch
from helpers.amp.train import budget_fraction, set_budget_lr
from helpers.capture.splits import random_crops
from helpers.knobs.dataset import KnobData
from helpers.knobs.encoding import KnobEncoding, make_encoding
from helpers.knobs.models import KnobModel, build_knob_model, load_knob_model, predict
from helpers.knobs.space import KnobNameError, KnobSpace
from helpers.losses import CombinedLoss, esr
from helpers.paths import checkpoints_dir
from helpers.runtime import pick_device, seed_everything


@dataclass
class KnobTrainConfig:
    """Everything that decides a conditioned training run (saved in the checkpoint)."""

    kind: str = "concat"  #: concat, film (WaveNets) or lstm
    encoding: str = "values"  #: values or onehot (see helpers.knobs.encoding)
    preset: str | None = "nano"  #: NAM preset of the WaveNets
    layers: list[dict] | None = None  #: explicit NAM layer arrays (overrides preset)
    film_hidden: int = 16
    hidden_size: int = 40  #: LSTM
    warmup: int = 1024  #: LSTM samples dropped before the loss (state settling)
    epochs: int = 20
    minutes: float | None = None
    batch_size: int = 8
    crop_length: int = 8192  #: output samples per crop
    steps_per_epoch: int | None = None  #: None = about one pass over the training audio of one setting
    lr: float = 4e-3
    lr_decay: float = 0.97  #: ExponentialLR factor per epoch (runs without a time budget)
    final_lr_ratio: float = 0.05  #: with ``minutes``: the rate decays exponentially to lr × this at the budget's end
    grad_clip: float = 1.0
    loss: dict[str, float] = field(default_factory=lambda: {"esr": 1.0, "pre_esr": 1.0})
    pre_emphasis: float = 0.85
    val_seconds: float | None = 2.0  #: validation audio per setting (None = the whole range)
    seed: int = 0
    device: str | None = None
    run_name: str = "knobs"
    checkpoint_dir: str | None = None
    resume: bool = True
    track: bool = True
    log_every: int = 10
    progress: bool = True

    def model_kwargs(self) -> dict[str, Any]:
        if self.kind == "lstm":
            return {"hidden_size": self.hidden_size, "warmup": self.warmup}
        kw: dict[str, Any] = {"preset": self.preset, "layers": self.layers}
        if self.kind == "film":
            kw["film_hidden"] = self.film_hidden
        return kw


@dataclass
class KnobTrainResult:
    model: KnobModel
    encoding: KnobEncoding
    best_val_esr: float
    best_epoch: int
    history: list[dict[str, float]]
    last_path: Path
    best_path: Path
    seconds: float
    archive: Path | None = None
    stopped_by_budget: bool = False


def encoding_from_payload(payload: dict[str, Any]) -> KnobEncoding:
    """The knob encoding a checkpoint was trained with (its knobs and encoding name)."""
    if "knobs" not in payload or "train_config" not in payload:
        raise CheckpointError("the checkpoint has no knob information; was it written by train_knobs?")
    return make_encoding(payload["train_config"]["encoding"], KnobSpace.from_list(payload["knobs"]))


def load_trained(path: str | Path) -> tuple[KnobModel, KnobEncoding, dict[str, Any]]:
    """``(model, encoding, payload)`` from a checkpoint of :func:`train_knobs`."""
    model, payload = load_knob_model(path)
    return model, encoding_from_payload(payload), payload


def knob_vectors(data: KnobData, encoding: KnobEncoding) -> np.ndarray:
    """``(recordings, encoding.size)`` float32: every recording's encoded setting."""
    if encoding.space.names != data.space.names:
        raise KnobNameError(f"the model's knobs {encoding.space.names} differ from the data's {data.space.names}")
    return np.stack([encoding.encode(s) for s in data.settings])


@torch.no_grad()
def evaluate_settings(model: KnobModel, data: KnobData, encoding: KnobEncoding, indices: list[int], split: str,
                      max_seconds: float | None = None) -> float:
    """Mean plain ESR over recordings ``indices`` on the time ranges of ``split`` (each range capped at
    ``max_seconds``), with real audio as the receptive field's context."""
    vecs = knob_vectors(data, encoding)
    rf = model.receptive_field
    values = []
    for i in indices:
        preds, targets = [], []
        for start, end in data.splits[split]:
            if max_seconds:
                end = min(end, start + int(max_seconds * data.sample_rate))
            xin, target = data.with_context(i, start, end, rf - 1)
            preds.append(predict(model, xin, vecs[i])[rf - 1 :])
            targets.append(target)
        values.append(esr(np.concatenate(preds), np.concatenate(targets)))
    return float(np.mean(values))


def make_knob_batch(data: KnobData, vecs: np.ndarray, recs: np.ndarray, starts: np.ndarray, crop_length: int,
                    context: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs ``(batch, crop + context)``, targets ``(batch, crop)``, knob vectors ``(batch, size)``."""
    xs = np.stack([data.inputs[r][s - context : s + crop_length] for r, s in zip(recs, starts)])
    ys = np.stack([data.outputs[r][s : s + crop_length] for r, s in zip(recs, starts)])
    return xs, ys, vecs[recs]


def train_knobs(data: KnobData, cfg: KnobTrainConfig | None = None, **overrides: Any) -> KnobTrainResult:
    """Train (or resume) a conditioned model on the ``train``-role settings of ``data``."""
    cfg = cfg or KnobTrainConfig()
    if overrides:
        cfg = KnobTrainConfig(**{**asdict(cfg), **overrides})
    device = pick_device(cfg.device)
    seed_everything(cfg.seed)
    encoding = make_encoding(cfg.encoding, data.space)
    vecs = knob_vectors(data, encoding)
    train_idx = np.array(data.indices("train"))
    if len(train_idx) == 0:
        raise ValueError("the data has no training settings (role 'train')")
    model = build_knob_model(cfg.kind, encoding.size, **cfg.model_kwargs()).to(device)
    rf = model.receptive_field
    folder = Path(cfg.checkpoint_dir) if cfg.checkpoint_dir else checkpoints_dir(cfg.run_name)
    last_path, best_path = folder / "last.pt", folder / "best.pt"
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=cfg.lr_decay)
    loss_fn = CombinedLoss(cfg.loss, cfg.pre_emphasis).to(device)
    meta = {**data.meta(), "encoding": encoding.name}

    start_epoch, history, best_val, best_epoch, elapsed_before = 1, [], float("inf"), 0, 0.0
    if cfg.resume and last_path.exists():
        state = read_checkpoint(last_path)
        if state.get("family") != model.family or state.get("config") != model.config():
            raise CheckpointError(f"{last_path} holds another architecture ({state.get('family')} "
                                  f"{state.get('config')}); choose another run_name or resume=False")
        if state.get("data_fingerprint") != meta["data_fingerprint"] or state.get("encoding") != encoding.name:
            raise CheckpointError(f"{last_path} was trained on other data or another knob encoding; choose another "
                                  "run_name or resume=False")
        model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch = state["epoch"] + 1
        history, best_val, best_epoch = state["history"], state["best_val_esr"], state["best_epoch"]
        elapsed_before = state.get("seconds", 0.0)

    tracker = None
    if cfg.track:
        from helpers.tracking import start_experiment

        tracker = start_experiment(cfg.run_name, params={**asdict(cfg), "receptive_field": rf,
                                                         "weights": model.num_weights(), "data": data.name,
                                                         "knobs": data.space.names,
                                                         "train_settings": len(train_idx)})
    train_samples = sum(e - s for s, e in data.splits["train"])
    steps = cfg.steps_per_epoch or max(1, math.ceil(train_samples / (cfg.batch_size * cfg.crop_length)))
    t0 = time.perf_counter()
    step, stopped = (start_epoch - 1) * steps, False
    bar = tqdm(range(start_epoch, cfg.epochs + 1), desc=cfg.run_name, disable=not cfg.progress,
               initial=start_epoch - 1, total=cfg.epochs)
    for epoch in bar:
        rng = np.random.default_rng([cfg.seed, epoch])
        model.train()
        losses = []
        for _ in range(steps):
            recs = train_idx[rng.integers(len(train_idx), size=cfg.batch_size)]
            starts = random_crops(data.splits["train"], cfg.crop_length, rf, cfg.batch_size, rng)
            xs, ys, ks = make_knob_batch(data, vecs, recs, starts, cfg.crop_length, rf - 1)
            xb, yb, kb = (torch.from_numpy(a).to(device) for a in (xs, ys, ks))
            frac = 0.0
            if cfg.minutes is not None:  # a known budget: decay the rate over wall-clock time, not epochs
                frac = budget_fraction(t0, elapsed_before, cfg.minutes)
                set_budget_lr(optimizer, cfg.lr, cfg.final_lr_ratio, frac)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb, kb), yb)
            loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            step += 1
            losses.append(float(loss.detach()))
            if tracker and step % cfg.log_every == 0:
                tracker.log_metric("train/loss", losses[-1], step=step, epoch=epoch)
            if frac >= 1.0:
                stopped = True
                break
        if cfg.minutes is None:
            scheduler.step()
        val = evaluate_settings(model, data, encoding, list(train_idx), "validation", cfg.val_seconds)
        best_val, best_epoch = record_epoch(
            history, epoch=epoch, step=step, train_loss=float(np.mean(losses)), val=val,
            seconds=elapsed_before + time.perf_counter() - t0, best=(best_val, best_epoch), model=model,
            optimizer=optimizer, scheduler=scheduler, train_config=asdict(cfg), meta=meta,
            best_path=best_path, last_path=last_path, tracker=tracker, bar=bar)
        if stopped:
            break
    bar.close()
    best_model = load_knob_model(best_path)[0].to(device) if best_path.exists() else model
    archive = None
    if tracker:
        tracker.log_metric("best/val_esr", best_val)
        tracker.log_model("best", best_path)
        archive = tracker.end()
    return KnobTrainResult(best_model, encoding, best_val, best_epoch, history, last_path, best_path,
                           time.perf_counter() - t0, archive, stopped)
