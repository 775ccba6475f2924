"""Streaming engine for the sequential TCN (:class:`helpers.models.SequentialTCN`)."""

from __future__ import annotations

import numpy as np

from helpers.models.tcn import SequentialTCN
from helpers.realtime.engine import (
    DEFAULT_CAPACITY,
    DelayLine,
    StreamingEngine,
    as_numpy,
    register_streamer,
    stacked_kernel,
)


class TCNStreamer(StreamingEngine):
    def __init__(self, model: SequentialTCN, capacity: int = DEFAULT_CAPACITY):
        super().__init__(model.receptive_field, capacity)
        c, k = model.channels, model.kernel_size
        self.channels, self.kernel, self.dilations = c, k, list(model.dilations)
        self.prelu = model.activation == "prelu"
        self.convs, self.lines, self.alphas = [], [], []
        for conv, act, d in zip(model.convs, model.acts, self.dilations):
            rows = conv.in_channels + 1  # [input; 1]
            self.convs.append(stacked_kernel(conv.weight, rows, {rows - 1: as_numpy(conv.bias)}))
            self.lines.append(DelayLine(rows, (k - 1) * d, capacity, ones_rows=(rows - 1,)))
            if self.prelu:
                self.alphas.append(as_numpy(act.weight).reshape(-1, 1))
        self.dense = np.concatenate([as_numpy(model.dense.weight)[0, :, 0], as_numpy(model.dense.bias)])[None]
        self._out: np.ndarray | None = None

    def _activate(self, i: int, z: np.ndarray, out: np.ndarray) -> None:
        if self.prelu:
            np.multiply(z, np.where(z >= 0, np.float32(1.0), self.alphas[i]), out=out)
        else:
            np.tanh(z, out=out)

    def _run(self, x: np.ndarray, q: int) -> np.ndarray:
        n, c = len(x), self.channels
        if self._out is None or self._out.shape[1] != n:
            self._out = np.ones((c + 1, n), dtype=np.float32)
        lines = self.lines
        lines[0].window(q, n)[0] = x
        last = len(lines) - 1
        for i, (line, d) in enumerate(zip(lines, self.dilations)):
            z = self.convs[i] @ line.taps(q, n, self.kernel, d)
            target = lines[i + 1].window(q, n)[:c] if i < last else self._out[:c]
            self._activate(i, z, target)
        return (self.dense @ self._out)[0]


@register_streamer("tcn")
def _build(model: SequentialTCN, capacity: int = DEFAULT_CAPACITY) -> TCNStreamer:
    return TCNStreamer(model, capacity)
