"""Data parallelism for the training engine: ``torchrun`` (one process per GPU) or CPU worker processes.

A WaveNet amp model is a stack of small dilated convolutions (8–16 channels). On a CPU, PyTorch splits each of
them across its intra-op threads, and such small operations gain little from a second thread (see ``make
bench``). Splitting the *batch* across single-threaded processes instead gives each core whole convolutions to
itself; the processes average their gradients (PyTorch DDP on gloo) after every step, so the result is the
model one process would train, only sooner.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.multiprocessing as mp

from helpers.errors import ConfigError, LabError

#: Said whenever a worker cannot start because the calling script re-runs in every worker.
GUARD_HINT = ("a script that trains on CPU workers must do so under `if __name__ == \"__main__\":` (each worker "
              "process imports the script again)")


class WorkerError(LabError, RuntimeError):
    """A CPU training worker failed to start or died."""


def init_distributed() -> tuple[int, int]:
    """``(rank, world_size)`` from ``torchrun``'s environment; joins the process group when ``WORLD_SIZE`` > 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (torch.distributed.get_rank() if world > 1 else 0), world


def cpu_workers(requested: int | str | None = "auto", batch_size: int | None = None) -> int:
    """How many worker processes to use: ``"auto"`` = one per CPU core this process may use (at most 8, and a
    divisor of ``batch_size`` when given), 1 when a GPU is present (use ``torchrun`` there); an int as given."""
    if requested in (None, "auto"):
        if torch.cuda.is_available() or (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            return 1
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        n = max(1, min(cores, 8))
        while batch_size and batch_size % n:
            n -= 1
        return n
    try:
        n = int(requested)
    except ValueError:
        raise ConfigError(f"workers must be a whole number or 'auto', not {requested!r}") from None
    if n < 1:
        raise ConfigError(f"workers must be at least 1, got {n}")
    return n


def free_port() -> int:
    """A free TCP port on the loopback interface (for the workers' rendezvous)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def exit_with_parent(parent: int, period_s: float = 1.0) -> None:
    """End this process as soon as its parent process ``parent`` is gone (checked every ``period_s`` seconds, and
    at once when it is gone already).

    By hand because nothing covers every case: torch's spawn asks Linux to interrupt a worker when its parent dies,
    but only once the worker has imported the training code (a parent killed in those first seconds, or any on
    macOS, leaves it running). An orphaned worker keeps training on its own, burning the CPU and writing the run's
    checkpoints behind the next run's back."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(period_s)
        os._exit(1)  # checkpoints are written atomically: a half-written one is never left behind
    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _entry(rank: int, world: int, port: int, target: Callable[..., None], args: tuple[Any, ...],
           parent: int) -> None:
    exit_with_parent(parent)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    try:
        target(rank, *args)
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def spawn_cpu_workers(n: int, target: Callable[..., None], *args: Any) -> None:
    """Run ``target(rank, *args)`` in ``n`` single-threaded processes that form one DDP group on gloo.

    Keep ``args`` small (paths, plain settings): a worker that dies while starting would otherwise leave this
    process blocked writing megabytes into the spawn pipe. A worker's exception is raised here. The workers end
    with this process: when it is interrupted (a notebook's stop button, Ctrl-C) or killed.
    """
    if getattr(sys.modules.get("__main__"), "__name__", None) == "__mp_main__":  # a worker importing the script
        raise WorkerError(GUARD_HINT)
    context = mp.start_processes(_entry, args=(n, free_port(), target, args, os.getpid()), nprocs=n, join=False,
                                 start_method="spawn")
    try:
        while not context.join():
            pass
    except BaseException as exc:
        for process in context.processes:  # interrupted, or a worker failed: stop the others too
            if process.is_alive():
                process.terminate()
        for process in context.processes:
            process.join()
        if isinstance(exc, mp.ProcessExitedException):
            raise WorkerError(f"a training worker exited without a Python traceback ({exc}); {GUARD_HINT}") from exc
        if isinstance(exc, mp.ProcessRaisedException):  # the worker's traceback is in the message; its last line
            last = str(exc).strip().splitlines()[-1]
            raise WorkerError(f"a training worker failed: {last}") from exc
        raise
