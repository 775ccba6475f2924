"""Amp-model checkpoints: written atomically, loaded back with the architecture they were trained with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from helpers.atomic import torch_save
from helpers.models import CausalModel, model_from_config

FORMAT = "neural-audio-lab/amp-checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint is unreadable, of another kind, or from another architecture."""


def save_checkpoint(path: str | Path, model: CausalModel, **extra: Any) -> Path:
    """Write ``model`` (family, config, weights) plus ``extra`` state (optimizer, epoch, …) atomically."""
    payload = {"format": FORMAT, "family": model.family, "config": model.config(),
               "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}, **extra}
    return torch_save(payload, path)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The raw checkpoint dictionary; :class:`CheckpointError` if it is not one of ours."""
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"{p}: no such checkpoint")
    try:
        payload = torch.load(p, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises several types for corrupt or foreign files
        raise CheckpointError(f"{p}: not a readable checkpoint ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{p}: not an amp-model checkpoint of this course (format {payload.get('format') if isinstance(payload, dict) else type(payload).__name__!r})")
    return payload


def load_model(path: str | Path, expect: CausalModel | None = None) -> tuple[CausalModel, dict[str, Any]]:
    """Rebuild the checkpoint's model and load its weights.

    With ``expect`` (a model you built), the checkpoint must have the same family and configuration;
    otherwise :class:`CheckpointError` names both architectures instead of a wall of size mismatches.
    """
    payload = read_checkpoint(path)
    if expect is not None:
        check_architecture(payload, expect, path)
    model = model_from_config(payload["family"], payload["config"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not fit the {payload['family']!r} architecture ({exc})") from exc
    model.eval()
    return model, payload


def check_architecture(payload: dict[str, Any], expect: CausalModel, path: str | Path = "checkpoint") -> None:
    """Raise :class:`CheckpointError` unless ``payload`` holds the same family and configuration as ``expect``."""
    if expect.family != payload["family"] or expect.config() != payload["config"]:
        raise CheckpointError(
            f"{path}: the checkpoint holds a {payload['family']!r} model {payload['config']}, "
            f"not the {expect.family!r} model {expect.config()} you asked for; "
            "build the model from the checkpoint (load_model(path)) or train a new run"
        )


def record_epoch(history: list[dict[str, float]], *, epoch: int, step: int, train_loss: float, val: float,
                 seconds: float, best: tuple[float, int], model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 scheduler: Any, train_config: dict[str, Any], meta: dict[str, Any], best_path: Path, last_path: Path,
                 tracker: Any = None, bar: Any = None, save: bool = True) -> tuple[float, int]:
    """End-of-epoch bookkeeping shared by the amp and knob trainers.

    Appends the epoch's record to ``history``; with ``save`` (rank 0 under DDP) writes ``best.pt`` when the
    validation ESR ``val`` beats ``best = (best_val, best_epoch)``, always writes ``last.pt`` (the resume
    point), logs to ``tracker`` and updates the progress ``bar``. Returns the new ``(best_val, best_epoch)``.
    """
    lr = optimizer.param_groups[0]["lr"]
    record = {"epoch": epoch, "step": step, "train_loss": train_loss, "val_esr": val, "lr": lr, "seconds": seconds}
    history.append(record)
    if not save:
        return best
    best_val, best_epoch = best
    if val < best_val:
        best_val, best_epoch = val, epoch
        save_checkpoint(best_path, model, epoch=epoch, val_esr=val, train_config=train_config, **meta)
    save_checkpoint(last_path, model, optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict(),
                    epoch=epoch, history=history, best_val_esr=best_val, best_epoch=best_epoch,
                    train_config=train_config, seconds=seconds, **meta)
    if tracker:
        tracker.log_metrics({"val/esr": val, "train/epoch_loss": train_loss, "lr": lr}, step=step, epoch=epoch)
    if bar is not None:
        bar.set_postfix(loss=f"{train_loss:.4f}", val_esr=f"{val:.4f}", best=f"{best_val:.4f}")
    return best_val, best_epoch
