"""Data-parallel training on one machine's CPU cores: N single-threaded DDP processes instead of one process.

A WaveNet amp model is a stack of small dilated convolutions (8–16 channels). On a CPU, PyTorch splits
each of them across its intra-op threads, and such small operations gain little from a second thread
(see ``make bench``). Splitting the *batch* across processes instead gives each core whole
convolutions to itself; the processes then average their gradients (PyTorch DDP on the gloo backend)
after every step. The result is the same model :func:`helpers.amp.train.train` trains in one process
(a test checks it), only sooner. On GPUs use ``torchrun`` instead (one process per GPU).
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.multiprocessing as mp

from helpers.amp.checkpoint import load_model
from helpers.amp.data import AmpData
from helpers.amp.train import TrainConfig, TrainResult, train
from helpers.atomic import torch_save


def cpu_workers(requested: int | str | None = "auto", batch_size: int | None = None) -> int:
    """How many worker processes to use: ``"auto"`` = one per CPU core this process may use (at most the
    batch-friendly 8, and a divisor of ``batch_size`` when given), 1 when a GPU is present (use ``torchrun``
    there); an int is taken as given."""
    if requested in (None, "auto"):
        if torch.cuda.is_available() or (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            return 1
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        n = max(1, min(cores, 8))
        while batch_size and batch_size % n:
            n -= 1
        return n
    n = int(requested)
    if n < 1:
        raise ValueError(f"workers must be at least 1, got {n}")
    return n


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


GUARD_HINT = ("a script that calls train_on_cpu_workers must do so under `if __name__ == \"__main__\":` (each "
              "worker process imports the script again)")


def _worker(rank: int, world: int, port: int, data_path: str, cfg_dict: dict[str, Any], summary_path: str) -> None:
    data = torch.load(data_path, weights_only=False)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    try:
        result = train(data, TrainConfig(**{**cfg_dict, "device": "cpu", "progress": cfg_dict["progress"] and rank == 0}))
        if rank == 0:
            torch_save({k: v for k, v in result.__dict__.items() if k != "model"}, summary_path)
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def train_on_cpu_workers(data: AmpData, cfg: TrainConfig, workers: int | str | None = "auto") -> TrainResult:
    """Train like :func:`helpers.amp.train.train`, split over ``workers`` single-threaded CPU processes.

    ``cfg.batch_size`` is the total batch (each process takes ``batch_size / workers`` crops); checkpoints,
    Comet logging and the time budget behave as in one process (rank 0 logs and saves). With one worker
    this simply calls :func:`train`.
    """
    if getattr(sys.modules.get("__main__"), "__name__", None) == "__mp_main__":  # a worker importing the script
        raise RuntimeError(GUARD_HINT)
    n = cpu_workers(workers, cfg.batch_size)
    if n == 1:
        return train(data, cfg)
    if cfg.batch_size % n:
        raise ValueError(f"batch_size {cfg.batch_size} must be divisible by the number of workers {n}")
    with tempfile.TemporaryDirectory(prefix="nal-workers-") as tmp:
        summary_path = str(Path(tmp) / "result.pt")
        # The audio goes through a file, not the spawn pipe: a worker that dies while starting up (e.g. an
        # unguarded script) would otherwise leave this process blocked writing megabytes into that pipe.
        data_path = str(torch_save(data, Path(tmp) / "data.pt"))
        try:  # a worker's exception stops the others and is raised here with its traceback
            mp.start_processes(_worker, args=(n, _free_port(), data_path, asdict(cfg), summary_path), nprocs=n,
                               join=True, start_method="spawn")
        except mp.ProcessExitedException as exc:
            raise RuntimeError(f"a training worker exited without a Python traceback ({exc}); {GUARD_HINT}") from exc
        payload = torch.load(summary_path, weights_only=False)
    model = load_model(payload["best_path"])[0] if Path(payload["best_path"]).exists() else None
    return TrainResult(model=model, **payload)
