"""Block-by-block inference with cached state: the machinery every model family's streamer shares.

A plugin hands the model a block of ``n`` new samples at a time (``n`` anywhere from 1 to thousands)
and must answer with ``n`` output samples, without recomputing the whole receptive field. Each
dilated convolution therefore keeps a :class:`DelayLine`: the last ``(kernel - 1) · dilation`` frames
of its input plus room for new blocks. A block is written once, the convolution reads its taps
straight from the line, and the write position moves on; only when the room runs out are the last
frames copied back to the front (a "rewind", once every ``capacity / n`` blocks), so no per-block
shifting or re-allocation happens.

The engines run on NumPy float32 (the streaming path is dominated by per-call overhead at small
blocks, and NumPy's is about half of PyTorch's). They are built from a trained PyTorch model's
weights and reproduce ``model.process(x)`` (zero history before the start) to float32 precision:
:meth:`StreamingEngine.reset` "pre-warms" the state by streaming ``receptive_field - 1`` zeros, as
the NAM plugin does, so intermediate layers hold exactly the values the offline run computes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from helpers.errors import ConfigError
from helpers.models import CausalModel

#: Samples of room per delay line (blocks longer than this are processed in pieces of this size).
DEFAULT_CAPACITY = 8192


class StreamingError(ConfigError):
    """The model or the block cannot be streamed (unknown family, wrong shape)."""


class DelayLine:
    """The input history of one dilated convolution: ``(rows, history + capacity)`` float32.

    ``rows`` may include constant rows (a row of ones lets the bias ride inside one matrix product);
    they are filled at construction and survive rewinds because whole columns are copied.
    """

    def __init__(self, rows: int, history: int, capacity: int, ones_rows: tuple[int, ...] = ()):
        self.history = history
        self.buf = np.zeros((rows, history + capacity), dtype=np.float32)
        self.ones_rows = ones_rows
        for r in ones_rows:
            self.buf[r] = 1.0

    def clear(self) -> None:
        """Forget the history (zeros; constant rows stay)."""
        self.buf[:] = 0.0
        for r in self.ones_rows:
            self.buf[r] = 1.0

    def window(self, q: int, n: int) -> np.ndarray:
        """The ``n`` columns being written this block (a view)."""
        s = self.history + q
        return self.buf[:, s : s + n]

    def taps(self, q: int, n: int, kernel: int, dilation: int) -> np.ndarray:
        """``(kernel · rows, n)``: tap ``j`` holds the input delayed by ``(kernel - 1 - j) · dilation``
        samples (PyTorch's kernel order), stacked so one matrix product does the whole convolution."""
        s = self.history + q
        if kernel == 1:
            return self.buf[:, s : s + n]
        # im2col by hand: three views and one copy beat a strided conv1d call at these sizes
        return np.concatenate([self.buf[:, s - (kernel - 1 - j) * dilation : s - (kernel - 1 - j) * dilation + n]
                               for j in range(kernel)])

    def rewind(self, q: int) -> None:
        """Move the last ``history`` frames before write position ``q`` to the front."""
        if self.history:
            self.buf[:, : self.history] = self.buf[:, q : q + self.history]  # NumPy handles the overlap


def stacked_kernel(weight: torch.Tensor, rows: int, extra: dict[int, np.ndarray] | None = None) -> np.ndarray:
    """PyTorch conv weight ``(out, in, k)`` → ``(out, k · rows)`` matching :meth:`DelayLine.taps`.

    Input channels fill rows ``0 .. in-1`` of every tap; ``extra`` maps a row index to a column
    ``(out,)`` placed on the newest tap only (a 1×1 term such as a bias on a ones row, or a mixer).
    """
    w = weight.detach().cpu().double().numpy()
    out, inp, k = w.shape
    stacked = np.zeros((out, k, rows), dtype=np.float64)
    stacked[:, :, :inp] = w.transpose(0, 2, 1)
    for row, col in (extra or {}).items():
        stacked[:, k - 1, row] += np.asarray(col, dtype=np.float64).reshape(out)
    return stacked.reshape(out, k * rows).astype(np.float32)


def as_numpy(t: torch.Tensor | None, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """A parameter as float32 NumPy (zeros of ``shape`` when it is ``None``)."""
    if t is None:
        assert shape is not None
        return np.zeros(shape, dtype=np.float32)
    return t.detach().cpu().float().numpy().copy()


class StreamingEngine:
    """Base class: subclasses build their delay lines and implement :meth:`_run` for one piece.

    ``process_block(x)`` takes ``(n,)`` float samples and returns ``(n,)`` float32 outputs.
    """

    def __init__(self, receptive_field: int, capacity: int = DEFAULT_CAPACITY):
        if capacity < 1:
            raise StreamingError(f"capacity must be at least 1 sample, got {capacity}")
        self.receptive_field = receptive_field
        self.capacity = capacity
        self.lines: list[DelayLine] = []
        self._q = 0  # write offset shared by every delay line (they all advance by n per block)

    # -- subclass API -------------------------------------------------------------------------------
    def _run(self, x: np.ndarray, q: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- public -------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the state after ``receptive_field - 1`` zeros (what offline zero padding assumes)."""
        for line in self.lines:
            line.clear()
        self._q = 0
        lead = self.receptive_field - 1
        if lead:
            self.process_block(np.zeros(lead, dtype=np.float32))

    def process_block(self, x: np.ndarray) -> np.ndarray:
        """Process the next ``n`` samples (any ``n`` ≥ 1) and return ``n`` output samples."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 1:
            raise StreamingError(f"a block must be 1-D (samples,), got shape {x.shape}")
        n = len(x)
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        if n > self.capacity:
            return np.concatenate([self.process_block(x[i : i + self.capacity]) for i in range(0, n, self.capacity)])
        if self._q + n > self.capacity:
            for line in self.lines:
                line.rewind(self._q)
            self._q = 0
        y = self._run(x, self._q)
        self._q += n
        return y



_BUILDERS: dict[str, Callable[..., StreamingEngine]] = {}


def register_streamer(family: str) -> Callable[[Callable[..., StreamingEngine]], Callable[..., StreamingEngine]]:
    """Decorator: ``builder(model, capacity=...)`` makes the streaming engine for ``family``
    (later model families, e.g. knob-conditioned ones, plug in here)."""

    def wrap(builder: Callable[..., StreamingEngine]) -> Callable[..., StreamingEngine]:
        _BUILDERS[family] = builder
        return builder

    return wrap


def streamable_families() -> list[str]:
    """Model families that have a streaming engine."""
    return sorted(_BUILDERS)


def make_streamer(model: CausalModel, capacity: int = DEFAULT_CAPACITY) -> StreamingEngine:
    """A reset streaming engine for ``model`` (weights are copied: later training does not affect it)."""
    family = getattr(model, "family", "")
    if family not in _BUILDERS:
        raise StreamingError(f"no streaming engine for model family {family!r}; streamable: {streamable_families()}")
    engine = _BUILDERS[family](model, capacity=capacity)
    engine.reset()
    return engine


def stream(model: CausalModel | StreamingEngine, x: np.ndarray, block_size: int = 64) -> np.ndarray:
    """Run a whole signal ``x`` (samples,) through a fresh engine in blocks of ``block_size`` samples."""
    if block_size < 1:
        raise StreamingError(f"block_size must be ≥ 1 sample, got {block_size}")
    engine = model if isinstance(model, StreamingEngine) else make_streamer(model)
    x = np.asarray(x, dtype=np.float32)
    out = np.empty(len(x), dtype=np.float32)
    for i in range(0, len(x), block_size):
        out[i : i + block_size] = engine.process_block(x[i : i + block_size])
    return out
