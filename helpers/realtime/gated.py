"""Streaming engine for the gated WaveNet (:class:`helpers.models.GatedWaveNet`, WaveNetVA's model).

Delay-line rows are ``[x (channels); 1]``; the gated outputs of all layers live in one
``(layers, channels + 1, n)`` array with a ones row, so the final mix over the concatenated skips
(bias included) is a single matrix product.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from helpers.models.gated_wavenet import GatedWaveNet
from helpers.realtime.engine import (
    DEFAULT_CAPACITY,
    DelayLine,
    StreamingEngine,
    as_numpy,
    register_streamer,
    stacked_kernel,
)


class GatedStreamer(StreamingEngine):
    def __init__(self, model: GatedWaveNet, capacity: int = DEFAULT_CAPACITY):
        super().__init__(model.receptive_field, capacity)
        c, k = model.channels, model.kernel_size
        self.channels, self.kernel, self.dilations = c, k, list(model.dilations)
        rows = c + 1
        self.inp_w = np.zeros((rows, 2), dtype=np.float32)  # [x; 1] → [W x + b; 1]
        self.inp_w[:c, 0] = as_numpy(model.input_layer.weight)[:, 0, 0]
        self.inp_w[:c, 1] = as_numpy(model.input_layer.bias)
        self.inp_w[c, 1] = 1.0
        self.convs = [stacked_kernel(h.weight, rows, {c: as_numpy(h.bias)}) for h in model.hidden]
        self.res = []
        for r in model.residuals:
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
        if self._inp is None or self._inp.shape[1] != n:
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
def _build(model: GatedWaveNet, capacity: int = DEFAULT_CAPACITY) -> GatedStreamer:
    return GatedStreamer(model, capacity)
