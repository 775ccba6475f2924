"""One training engine for every model of the course: plain PyTorch, readable top to bottom.

A domain says *what* to learn with a small :class:`Task` (the shape of d2l's ``Module.training_step``): the
model, how to draw a batch, the loss of a batch, how to validate, and its identity (model configuration and
data fingerprint). The :class:`Trainer` owns *how*, once for all of them:

* seeding; each epoch's batches come from a generator seeded by ``(seed, epoch)``, so a run resumed from its
  last checkpoint repeats exactly what the uninterrupted run would have done;
* a time budget (``budget_s`` seconds of the ``clock`` you choose: ``"wall"`` or ``"process"`` CPU time);
* the learning rate: a linear warm-up over ``warmup_fraction`` of training, times an exponential or cosine
  decay to ``final_lr_ratio``, where "training" is the larger of the steps done and the budget used;
* gradient clipping, per-element learning-rate multipliers a task asks for (:meth:`Task.lr_scales`),
  validation after every epoch, early stopping (``patience``);
* ``best.pt`` / ``last.pt`` written atomically in one format: tensors and plain data only, read back with
  ``torch.load(weights_only=True)`` so a shared checkpoint cannot run code; resume continues when the
  checkpoint's identity matches and raises :class:`CheckpointError` with the fix when it does not;
* Comet tracking, a progress bar (by time under a budget), and data parallelism: ``torchrun`` (one process per
  GPU) or ``workers`` single-threaded CPU processes.

Use it in one call, or step it by hand to see the loop::

    result = Trainer(config).fit(task)

    trainer = Trainer(config)
    trainer.start(task)
    while not trainer.done:
        loss = trainer.train_step()          # draw a batch, forward, loss, backward, clip, optimiser step
        if trainer.epoch_complete:
            row = trainer.end_epoch()        # validate, keep the best, write checkpoints
    result = trainer.finish()
"""

from __future__ import annotations

import io
import json
import math
import pickle
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from helpers import parallel
from helpers.atomic import torch_save, write_text
from helpers.errors import CheckpointError, ConfigError
from helpers.paths import checkpoints_dir
from helpers.runtime import pick_device, seed_everything

#: The one checkpoint format of the course (tensors and plain data; see :func:`read_checkpoint`).
FORMAT = "neural-audio-lab/checkpoint/2"

#: What loads each kind of checkpoint: named in the error when a checkpoint reaches the wrong loader.
LOADERS = {
    "amp": "helpers.amp.checkpoint.load_model (or `python -m helpers.amp predict/evaluate`)",
    "knobs": "helpers.knobs.train.load_trained",
    "abc": "helpers.abc.train.load_model",
    "synth": "helpers.synth.train.load_encoder",
}

Clock = Literal["wall", "process"]
Batch = tuple[Any, ...]
M = TypeVar("M", bound=nn.Module)


@dataclass
class TrainConfig:
    """The engine's settings; each domain's config extends this with its own (model, batch, loss, …)."""

    epochs: int = 20  #: epochs at most; the model is validated and checkpointed after each
    steps_per_epoch: int | None = None  #: optimiser steps per epoch; None = the task's (about one pass over its data)
    budget_s: float | None = None  #: time budget in seconds of ``clock``; None = train all epochs
    clock: Clock = "wall"  #: "wall": elapsed seconds; "process": CPU seconds of this process (all threads)
    budget_counts_validation: bool = True  #: False: time spent validating is not charged to the budget
    optimizer: Literal["adam", "adamw"] = "adam"
    lr: float = 1e-3  #: peak learning rate
    weight_decay: float = 0.0
    schedule: Literal["exponential", "cosine", "constant"] = "exponential"
    final_lr_ratio: float = 0.05  #: the rate decays to lr × this at the end of training
    warmup_fraction: float = 0.0  #: share of training over which the rate ramps up linearly from 0
    grad_clip: float = 1.0  #: max gradient norm (0 = no clipping)
    patience: int | None = None  #: epochs without a new best before stopping early (None = never)
    seed: int = 0
    device: str | None = None  #: cpu, cuda, cuda:1, mps (None = the best available)
    workers: int | str = 1  #: CPU only: single-threaded data-parallel processes ("auto" = one per core)
    run_name: str = "run"
    checkpoint_dir: str | None = None  #: default checkpoints/<run_name>
    resume: bool = True  #: continue from last.pt when it belongs to this run
    track: bool = True  #: Comet experiment (offline by default)
    log_every: int = 10  #: steps between logged training losses
    progress: bool = True

    def __post_init__(self) -> None:
        if self.clock not in ("wall", "process"):
            raise ConfigError(f"clock must be 'wall' or 'process', not {self.clock!r}")
        if self.schedule not in ("exponential", "cosine", "constant"):
            raise ConfigError(f"schedule must be 'exponential', 'cosine' or 'constant', not {self.schedule!r}")
        if self.optimizer not in ("adam", "adamw"):
            raise ConfigError(f"optimizer must be 'adam' or 'adamw', not {self.optimizer!r}")
        if not 0.0 <= self.warmup_fraction < 1.0:
            raise ConfigError(f"warmup_fraction must be in [0, 1), got {self.warmup_fraction}")
        if self.epochs < 1:
            raise ConfigError(f"epochs must be at least 1, got {self.epochs}")
        if self.budget_s is not None and self.budget_s <= 0:
            raise ConfigError(f"budget_s must be positive seconds (or None for no budget), got {self.budget_s}")


class Task(Generic[M]):
    """What a domain tells the engine. Subclass it and fill in the methods that raise.

    ``model`` is the network being trained; ``kind`` names the checkpoint kind (``amp``, ``knobs``, ``abc``,
    ``synth``); ``score`` is the validation metric (lower is better) that picks ``best.pt``.
    """

    kind: str = "task"
    score: str = "val_loss"
    model: M
    batch_size: int = 1  #: examples per optimiser step (split over the processes under DDP)
    samples_per_example: int = 1  #: for throughput: e.g. audio samples per crop

    def identity(self) -> dict[str, Any]:
        """Plain data that must match for a checkpoint to resume this run (model configuration, data hash)."""
        raise NotImplementedError

    def meta(self) -> dict[str, Any]:
        """Plain data (and tensors) saved in every checkpoint: what a loader needs to rebuild and use the model."""
        return {}

    def steps_per_epoch(self) -> int:
        """Optimiser steps in one epoch when the config does not say (about one pass over the training data)."""
        raise NotImplementedError

    def batch(self, rng: np.random.Generator) -> Batch:
        """One whole batch (arrays or tensors with the batch first), drawn with ``rng``."""
        raise NotImplementedError

    def loss(self, net: nn.Module, batch: Batch) -> torch.Tensor:
        """The training loss of ``batch`` (already on the device) through ``net`` (the model, or its DDP wrapper)."""
        raise NotImplementedError

    def validate(self, model: nn.Module) -> dict[str, float]:
        """Validation metrics; must include :attr:`score`."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Extra parameters for the experiment tracker."""
        return {}

    def lr_scales(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per-element learning-rate multipliers: ``(parameter of model, multiplier)`` pairs, the multiplier
        broadcastable to the parameter (e.g. 8 on the columns of a weight that read a conditioning input, 1
        elsewhere). After each optimiser step the engine scales every such parameter's change by its multiplier,
        whatever the optimiser. Default: none."""
        return []

    def after_epoch(self, model: nn.Module, tracker: Any, row: dict[str, float]) -> None:
        """Called on the main process after each validation (e.g. to log a sample); not charged to the budget
        when the config says validation is not."""

    def report(self, model: nn.Module, tracker: Any, history: list[dict[str, float]]) -> None:
        """Called once at the end with the best model, to log figures and audio."""


@dataclass
class FitResult(Generic[M]):
    """What a run produced. ``model`` holds the best validation weights."""

    model: M
    history: list[dict[str, float]]
    best_score: float
    best_epoch: int
    steps: int  #: optimiser steps of the whole run, earlier sessions included
    new_steps: int  #: optimiser steps taken in this call (0: a finished run was only loaded)
    seconds: float  #: wall-clock seconds of this call
    samples_per_second: float  #: training throughput of this call (examples × samples_per_example per second)
    last_path: Path
    best_path: Path
    archive: Path | None = None  #: Comet offline archive, when tracked offline
    stopped: str = "epochs"  #: why training ended: epochs, budget, patience, paused
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def epochs_run(self) -> int:
        return len(self.history)

    @property
    def stopped_by_budget(self) -> bool:
        return self.stopped == "budget"

    def summary(self) -> dict[str, Any]:
        """Everything but the model, as plain data."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items() if k != "model"}


# ------------------------------------------------------------------------------------------ checkpoints
def plain(obj: Any) -> Any:
    """``obj`` with paths as strings and NumPy values as Python numbers or tensors: what ``weights_only`` reads."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(plain(v) for v in obj)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write a checkpoint atomically (a crash mid-write leaves the previous file whole)."""
    return torch_save({"format": FORMAT, **plain(payload)}, path)


def read_checkpoint(path: str | Path, kind: str | None = None) -> dict[str, Any]:
    """A checkpoint's dictionary, read without running any code it may carry (``weights_only=True``).

    Raises :class:`CheckpointError` when the file is missing, unreadable, holds pickled code, is not a
    checkpoint of this course, or (with ``kind``) is of another kind: the message names the loader it needs.
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: no such checkpoint; train a model first, or check the path")
    try:
        payload = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" not in str(exc):
            raise CheckpointError(f"{p}: not a readable checkpoint ({exc})") from exc
        raise CheckpointError(
            f"{p}: refused: the file holds Python objects that would run code when opened. Only open checkpoints "
            "written by this course (tensors and plain data); ask its author for the training run instead") from exc
    except Exception as exc:  # torch raises several types for corrupt or foreign files
        raise CheckpointError(f"{p}: not a readable checkpoint ({type(exc).__name__}: {exc})") from exc
    found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
    if found != FORMAT:
        raise CheckpointError(f"{p}: not a checkpoint of this course's current format ({found!r}, expected "
                              f"{FORMAT!r}); retrain it, or delete the folder to start over")
    if kind is not None and payload.get("kind") != kind:
        loader = LOADERS.get(payload.get("kind", ""), "its own loader")
        raise CheckpointError(f"{p} holds a {payload.get('kind')!r} model, not a {kind!r} one: load it with {loader}")
    return payload


def _same(a: Any, b: Any) -> bool:
    """Identity equality after a round trip through JSON (tuples and lists compare equal)."""
    return bool(json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str))


# ------------------------------------------------------------------------------------------ schedule and clock
def learning_rate(cfg: TrainConfig, progress: float) -> float:
    """The rate at ``progress`` ∈ [0, 1] of training: ``lr`` × linear warm-up ramp × decay."""
    p = min(max(progress, 0.0), 1.0)
    ramp = min(1.0, p / cfg.warmup_fraction) if cfg.warmup_fraction > 0 else 1.0
    if cfg.schedule == "exponential":
        decay = cfg.final_lr_ratio**p
    elif cfg.schedule == "cosine":
        decay = cfg.final_lr_ratio + (1.0 - cfg.final_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * p))
    else:
        decay = 1.0
    return cfg.lr * ramp * decay


class BudgetClock:
    """Seconds charged to the budget: ``before`` (earlier sessions) plus this session's, less excluded spans."""

    def __init__(self, kind: Clock, before: float = 0.0):
        self.read = time.process_time if kind == "process" else time.perf_counter
        self.start = self.read() - before

    def elapsed(self) -> float:
        return float(self.read() - self.start)

    def exclude(self, since: float) -> None:
        """Do not charge the time since ``elapsed()`` was ``since`` (e.g. validation) to the budget."""
        self.start += self.elapsed() - since


# ------------------------------------------------------------------------------------------ the engine
class Trainer:
    """Trains a :class:`Task` (see the module docstring for what it owns)."""

    def __init__(self, config: TrainConfig | None = None):
        self.config = config or TrainConfig()
        self.done, self.epoch_complete, self.stopped = True, False, "epochs"
        self.history: list[dict[str, float]] = []

    # -- one call -------------------------------------------------------------------------------------
    def fit(self, task: Task[M], *, tracker: Any = None, pause_after_epochs: int | None = None) -> FitResult[M]:
        """Train (or resume) ``task`` until the epochs, the budget or the patience run out.

        A ``tracker`` you started is used and left open; otherwise one is started when ``config.track``.
        ``pause_after_epochs`` stops after that many epochs of this call without changing the schedule:
        a later call resumes and ends where one uninterrupted run would.
        """
        n = parallel.cpu_workers(self.config.workers, task.batch_size)
        if n > 1 and parallel.init_distributed()[1] == 1:
            if task.batch_size % n:
                raise ConfigError(f"batch size {task.batch_size} must be divisible by the number of workers {n}; "
                                  "choose another batch size or number of workers")
            return self._fit_on_cpu_workers(task, n, pause_after_epochs)
        self.start(task, tracker=tracker)
        epochs_here = 0
        while not self.done:
            self.train_step()
            if self.epoch_complete:
                self.end_epoch()
                epochs_here += 1
                if pause_after_epochs is not None and epochs_here >= pause_after_epochs and not self.done:
                    self.stopped, self.done = "paused", True
        return self.finish()

    # -- by hand --------------------------------------------------------------------------------------
    def start(self, task: Task[Any], *, tracker: Any = None) -> None:
        """Build the optimiser, resume from ``last.pt`` when it belongs to this run, open tracking."""
        cfg = self.config
        self.task = task
        self.rank, self.world = parallel.init_distributed()
        self.is_main = self.rank == 0
        self.device = pick_device(cfg.device)
        seed_everything(cfg.seed)
        if task.batch_size % self.world:
            raise ConfigError(f"batch size {task.batch_size} must be divisible by the number of processes "
                              f"{self.world}; choose another batch size or number of workers")
        self.model = task.model.to(self.device)
        self.scaled = [(p, s.to(self.device, p.dtype)) for p, s in task.lr_scales()]  # after .to: same Parameters
        self.spe = cfg.steps_per_epoch or task.steps_per_epoch()
        self.max_steps = cfg.epochs * self.spe
        folder = Path(cfg.checkpoint_dir) if cfg.checkpoint_dir else checkpoints_dir(cfg.run_name)
        self.last_path, self.best_path = folder / "last.pt", folder / "best.pt"
        opt_class = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
        self.optimizer = opt_class(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.identity = json.loads(json.dumps(task.identity(), default=str))
        self.epoch, self.step, self.history = 1, 0, []
        self.best_score, self.best_epoch, self.bad_epochs = math.inf, 0, 0
        before = 0.0
        if cfg.resume and self.last_path.exists():
            before = self._resume()
        self.stopped = "epochs"
        budget_spent = cfg.budget_s is not None and before >= cfg.budget_s  # the same checkpoint on every rank
        self.done = self.epoch > cfg.epochs or budget_spent or (
            cfg.patience is not None and self.bad_epochs >= cfg.patience)
        self.net: nn.Module = self.model
        if self.world > 1:  # static_graph: a NAM layout's last residual 1×1 never receives a gradient
            self.net = nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device] if self.device.startswith("cuda") else None, static_graph=True)
        self.tracker, self.own_tracker = tracker, False
        if tracker is None and self.is_main and cfg.track and not self.done:
            from helpers.tracking import start_experiment

            weights = sum(p.numel() for p in self.model.parameters())
            self.tracker = start_experiment(cfg.run_name, params={**asdict(cfg), **task.describe(),
                                                                  "weights": weights, "world_size": self.world})
            self.own_tracker = True
        self.t0, self.steps_here = time.perf_counter(), 0
        self.clock = BudgetClock(cfg.clock, before)
        self.epoch_losses: list[float] = []
        self.epoch_complete = False
        self.bar = self._progress_bar()

    def train_step(self) -> float:
        """One optimiser step on a fresh batch; returns its loss."""
        cfg = self.config
        if not self.epoch_losses:  # first step of an epoch: its batches depend only on (seed, epoch)
            self.rng = np.random.default_rng([cfg.seed, self.epoch])
            torch.manual_seed(cfg.seed * 1_000_003 + self.epoch)
            self.net.train()
        used = self._budget_used(self.clock)
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(cfg, max(self.step / self.max_steps, used))
        batch = self._shard(self.task.batch(self.rng))
        loss = self.task.loss(self.net, batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        before = [p.detach().clone() for p, _ in self.scaled]
        self.optimizer.step()
        with torch.no_grad():  # p ← before + multiplier · (p − before): a per-element rate for any optimiser
            for (p, scale), p0 in zip(self.scaled, before):
                p.copy_(torch.lerp(p0, p, scale))
        self.step += 1
        self.steps_here += 1
        value = float(loss.detach())
        self.epoch_losses.append(value)
        if self.tracker is not None and self.step % cfg.log_every == 0:
            self.tracker.log_metric("train/loss", value, step=self.step, epoch=self.epoch)
        if used >= 1.0:
            self.stopped = "budget"
        self.epoch_complete = (len(self.epoch_losses) >= self.spe or self.stopped == "budget"
                               or self.step >= self.max_steps)
        self._update_bar(used)
        return value

    def end_epoch(self) -> dict[str, float]:
        """Validate, record the epoch, keep the best, write the checkpoints; returns the epoch's record."""
        cfg = self.config
        mark = self.clock.elapsed()
        metrics = self.task.validate(self.model) if self.is_main else {self.task.score: math.nan}
        row = {"epoch": self.epoch, "step": self.step, "seconds": mark, "lr": self.optimizer.param_groups[0]["lr"],
               "train_loss": float(np.mean(self.epoch_losses)), **metrics}
        self.history.append(row)
        score = metrics[self.task.score]
        if score < self.best_score:
            self.best_score, self.best_epoch, self.bad_epochs = score, self.epoch, 0
            if self.is_main:
                save_checkpoint(self.best_path, self._payload(with_optimizer=False))
        else:
            self.bad_epochs += 1
        if self.is_main:
            if self.tracker is not None:
                self.tracker.log_metrics({f"val/{k}": v for k, v in metrics.items()} | {
                    "train/epoch_loss": row["train_loss"], "lr": row["lr"]}, step=self.step, epoch=self.epoch)
                self.task.after_epoch(self.model, self.tracker, row)
        if not cfg.budget_counts_validation:
            self.clock.exclude(mark)
        if self.is_main:  # after the exclusion, so a resumed run's clock starts where this one's stops
            save_checkpoint(self.last_path, self._payload(with_optimizer=True))
        self.epoch += 1
        self.epoch_losses, self.epoch_complete = [], False
        if cfg.patience is not None and self.bad_epochs >= cfg.patience:
            self.stopped = "patience"
        self.done = self.stopped != "epochs" or self.epoch > cfg.epochs
        if self.bar is not None:
            self.bar.set_postfix({self.task.score: f"{score:.4g}", "best": f"{self.best_score:.4g}"})
        return row

    def finish(self) -> FitResult[Any]:
        """Close the bar, load the best weights into the model, end tracking; the run's result."""
        if self.bar is not None:
            self.bar.close()
        seconds = time.perf_counter() - self.t0
        if self.world > 1:
            torch.distributed.barrier()
        if self.best_path.exists():
            self.model.load_state_dict(read_checkpoint(self.best_path)["state_dict"])
        self.model.eval()
        archive = None
        if self.tracker is not None and self.is_main and self.history:
            self.task.report(self.model, self.tracker, self.history)
            if self.best_path.exists():
                self.tracker.log_model("best", self.best_path)
            self.tracker.log_metric(f"best/{self.task.score}", self.best_score)
        if self.own_tracker and self.tracker is not None:
            archive = self.tracker.end()
        examples = self.steps_here * self.task.batch_size * self.task.samples_per_example
        return FitResult(model=self.model, history=self.history, best_score=self.best_score,
                         best_epoch=self.best_epoch, steps=self.step, new_steps=self.steps_here, seconds=seconds,
                         samples_per_second=examples / max(seconds, 1e-9), last_path=self.last_path,
                         best_path=self.best_path, archive=archive, stopped=self.stopped)

    # -- pieces ---------------------------------------------------------------------------------------
    def _payload(self, with_optimizer: bool) -> dict[str, Any]:
        payload = {"kind": self.task.kind, "identity": self.identity, **self.task.meta(),
                   "state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
                   "train_config": asdict(self.config),
                   "trainer": {"epoch": self.epoch, "step": self.step, "seconds": self.clock.elapsed(),
                               "best_score": self.best_score, "best_epoch": self.best_epoch,
                               "bad_epochs": self.bad_epochs, "history": self.history}}
        if with_optimizer:
            payload["optimizer"] = self.optimizer.state_dict()
        return payload

    def _resume(self) -> float:
        state = read_checkpoint(self.last_path, kind=self.task.kind)
        if not _same(state.get("identity"), self.identity):
            raise CheckpointError(
                f"{self.last_path} belongs to another run (model or data differ: {state.get('identity')} vs "
                f"{self.identity}); choose another run name, or resume=False to start over")
        self.model.load_state_dict(state["state_dict"])
        self.optimizer.load_state_dict(state["optimizer"])
        t = state["trainer"]
        self.epoch, self.step, self.history = t["epoch"] + 1, t["step"], list(t["history"])
        self.best_score, self.best_epoch, self.bad_epochs = t["best_score"], t["best_epoch"], t["bad_epochs"]
        return float(t["seconds"])

    def _budget_used(self, clock: BudgetClock) -> float:
        """Share of the budget used (0 without one); rank 0's clock under DDP, so every rank agrees."""
        if self.config.budget_s is None:
            return 0.0
        used = torch.tensor([clock.elapsed() / self.config.budget_s], dtype=torch.float64)
        if self.world > 1:
            torch.distributed.broadcast(used, src=0)
        return float(used.item())

    def _shard(self, batch: Batch) -> Batch:
        """This process's share of the batch, moved to the device."""
        per = self.task.batch_size // self.world
        lo = self.rank * per
        return tuple((torch.as_tensor(a) if isinstance(a, np.ndarray) else a)[lo : lo + per].to(self.device)
                     for a in batch)

    def _progress_bar(self) -> Any:
        cfg = self.config
        if not (cfg.progress and self.is_main) or self.done:
            return None
        if cfg.budget_s is not None:  # by time: elapsed / budget, not an epoch count with an hours-long estimate
            return tqdm(total=cfg.budget_s, initial=min(self.clock.elapsed(), cfg.budget_s),
                        desc=cfg.run_name, unit="s", bar_format="{desc}: {percentage:3.0f}%|{bar}| "
                        "{n:.0f}/{total:.0f} s of the budget{postfix}")
        return tqdm(total=self.max_steps, initial=self.step, desc=cfg.run_name, unit="step")

    def _update_bar(self, used: float) -> None:
        if self.bar is None:
            return
        if self.config.budget_s is not None:
            self.bar.n = min(used * self.config.budget_s, self.bar.total)
            self.bar.refresh()
        else:
            self.bar.update(1)

    def _fit_on_cpu_workers(self, task: Task[M], n: int, pause_after_epochs: int | None) -> FitResult[M]:
        cfg = replace(self.config, workers=1, device="cpu")
        try:  # pickle, not torch.save: the job goes to a file this process writes into its own private folder
            job = _pickle_for_workers((task, cfg))
        except (pickle.PicklingError, AttributeError, TypeError) as exc:  # e.g. a loss defined in a notebook
            warnings.warn(f"the training task cannot be sent to worker processes ({exc}); training in this process "
                          "instead (define its functions in a module to use the workers)", stacklevel=3)
            return Trainer(replace(self.config, workers=1)).fit(task, pause_after_epochs=pause_after_epochs)
        with tempfile.TemporaryDirectory(prefix="nal-workers-") as tmp:  # private to this user (mode 0700)
            job_path, summary_path = Path(tmp) / "job.pkl", Path(tmp) / "result.json"
            job_path.write_bytes(job)
            parallel.spawn_cpu_workers(n, _worker_fit, str(job_path), str(summary_path), pause_after_epochs)
            summary = json.loads(summary_path.read_text())
        if Path(summary["best_path"]).exists():
            task.model.load_state_dict(read_checkpoint(summary["best_path"])["state_dict"])
        task.model.eval()
        summary.update(last_path=Path(summary["last_path"]), best_path=Path(summary["best_path"]),
                       archive=Path(summary["archive"]) if summary["archive"] else None)
        return FitResult(model=task.model, **summary)


class _WorkerPickler(pickle.Pickler):
    """Refuses objects defined in an interactive ``__main__`` (a notebook or a REPL): pickle would store them by
    name, and a spawned worker, which cannot re-run the notebook, would fail to find them."""

    def reducer_override(self, obj: Any) -> Any:
        main = sys.modules.get("__main__")
        if getattr(obj, "__module__", None) == "__main__" and not getattr(main, "__file__", None):
            raise pickle.PicklingError(f"{getattr(obj, '__qualname__', obj)!s} is defined in this notebook")
        return NotImplemented


def _pickle_for_workers(obj: Any) -> bytes:
    buffer = io.BytesIO()
    _WorkerPickler(buffer).dump(obj)
    return buffer.getvalue()


def _worker_fit(rank: int, job_path: str, summary_path: str, pause_after_epochs: int | None) -> None:
    """One CPU worker: the same engine, as one rank of the DDP group; rank 0 writes the result's summary."""
    task, cfg = pickle.loads(Path(job_path).read_bytes())
    result = Trainer(replace(cfg, progress=cfg.progress and rank == 0)).fit(task, pause_after_epochs=pause_after_epochs)
    if rank == 0:
        write_text(summary_path, json.dumps(result.summary()))
