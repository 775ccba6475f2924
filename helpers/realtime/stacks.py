"""Streaming engines for the plain dilated stacks: the gated WaveNet (:class:`helpers.models.GatedWaveNet`,
WaveNetVA's model) and the sequential TCN (:class:`helpers.models.SequentialTCN`).

Gated WaveNet: delay-line rows are ``[x (channels); 1]``; the gated outputs of all layers live in one
``(layers, channels + 1, n)`` array with a ones row, so the final mix over the concatenated skips
(bias included) is a single matrix product. TCN: one delay line per dilated convolution, PReLU or tanh between.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit
from torch import nn

from helpers.models.base import modules_of
from helpers.models.gated_wavenet import GatedWaveNet
from helpers.models.tcn import SequentialTCN
from helpers.realtime.engine import (
    DEFAULT_CAPACITY,
    DelayLine,
    StreamingEngine,
    as_numpy,
    register_streamer,
    stacked_kernel,
)


class DilatedStackStreamer(StreamingEngine):
    """Base of the streamers of plain dilated stacks (gated WaveNet, TCN): their channels, kernel and dilations."""

    def __init__(self, model: Any, capacity: int = DEFAULT_CAPACITY):
        super().__init__(model.receptive_field, capacity)
        self.channels, self.kernel, self.dilations = int(model.channels), int(model.kernel_size), list(model.dilations)


class GatedStreamer(DilatedStackStreamer):
    """A gated WaveNet block by block: one delay line per dilated layer, weights stacked per tap."""

    def __init__(self, model: GatedWaveNet, capacity: int = DEFAULT_CAPACITY):
        super().__init__(model, capacity)
        c, k = self.channels, self.kernel
        rows = c + 1
        self.inp_w = np.zeros((rows, 2), dtype=np.float32)  # [x; 1] → [W x + b; 1]
        self.inp_w[:c, 0] = as_numpy(model.input_layer.weight)[:, 0, 0]
        self.inp_w[:c, 1] = as_numpy(model.input_layer.bias)
        self.inp_w[c, 1] = 1.0
        self.convs = [stacked_kernel(h.weight, rows, {c: as_numpy(h.bias)})
                      for h in modules_of(model.hidden, nn.Conv1d)]
        self.res = []
        for r in modules_of(model.residuals, nn.Conv1d):
            m = np.zeros((rows, c + 1), dtype=np.float32)
            m[:c, :c] = as_numpy(r.weight)[:, :, 0]
            m[:c, c] = as_numpy(r.bias)
            self.res.append(m)
        n_layers = len(self.dilations)
        mix = np.zeros((n_layers, c + 1), dtype=np.float32)
        mix[:, :c] = as_numpy(model.linear_mix.weight)[0, :, 0].reshape(n_layers, c)
        mix[0, c] = as_numpy(model.linear_mix.bias)[0]  # the bias rides on the first skip's ones row
        self.mix = mix.reshape(1, -1)
        self.lines = [DelayLine(rows, (k - 1) * d, capacity, ones_rows=(c,)) for d in self.dilations]
        self._inp: np.ndarray | None = None
        self._skips: np.ndarray | None = None

    def _run(self, x: np.ndarray, q: int) -> np.ndarray:
        n, c = len(x), self.channels
        if self._inp is None or self._skips is None or self._inp.shape[1] != n:
            self._inp = np.ones((2, n), dtype=np.float32)
            self._skips = np.ones((len(self.dilations), c + 1, n), dtype=np.float32)
        self._inp[0] = x
        skips, lines = self._skips, self.lines
        np.matmul(self.inp_w, self._inp, out=lines[0].window(q, n))
        last = len(lines) - 1
        for i, (line, d) in enumerate(zip(lines, self.dilations)):
            h = self.convs[i] @ line.taps(q, n, self.kernel, d)
            g = skips[i, :c]
            np.tanh(h[:c], out=g)
            g *= expit(h[c:])
            if i < last:  # the last residual output feeds nothing
                np.add(line.window(q, n), self.res[i] @ skips[i], out=lines[i + 1].window(q, n))
        return (self.mix @ skips.reshape(-1, n))[0]


@register_streamer("gated")
def _build_gated(model: GatedWaveNet, capacity: int = DEFAULT_CAPACITY) -> GatedStreamer:
    return GatedStreamer(model, capacity)


class TCNStreamer(DilatedStackStreamer):
    """A sequential TCN block by block: one delay line per dilated convolution, PReLU or tanh between."""

    def __init__(self, model: SequentialTCN, capacity: int = DEFAULT_CAPACITY):
        super().__init__(model, capacity)
        k = self.kernel
        self.prelu = model.activation == "prelu"
        self.convs, self.lines, self.alphas = [], [], []
        for conv, act, d in zip(modules_of(model.convs, nn.Conv1d), model.acts, self.dilations):
            rows = conv.in_channels + 1  # [input; 1]
            self.convs.append(stacked_kernel(conv.weight, rows, {rows - 1: as_numpy(conv.bias)}))
            self.lines.append(DelayLine(rows, (k - 1) * d, capacity, ones_rows=(rows - 1,)))
            if self.prelu:
                assert isinstance(act, nn.PReLU)
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
def _build_tcn(model: SequentialTCN, capacity: int = DEFAULT_CAPACITY) -> TCNStreamer:
    return TCNStreamer(model, capacity)
