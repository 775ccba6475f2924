"""A NumPy model of the WaveNetVA runtime (damskaggep/WaveNetVA), reading its JSON only.

Semantics reproduced from the C++ source:

* ``Convolution::setKernel``: ``W`` arrives flattened in ``(k, in, out)`` order and is stored as
  ``kernel[filter_width - 1 - k]`` (the kernel index is reversed);
* ``Convolution::processSingleSample``: a FIFO of ``(filter_width - 1) · dilation + 1`` input frames,
  zero at start; ``out = bias + Σ_j fifo[pos - j · dilation] · kernel[j]`` (row vector times
  ``(in, out)`` matrix), so ``kernel[j]`` multiplies the input delayed by ``j · dilation`` samples;
* ``WaveNet::process``: input layer (1×1 conv, linear) → ``ConvolutionStack`` → output layer (1×1
  over the ``channels · layers`` skip rows, layer ``i`` at rows ``i·C … i·C + C - 1``);
* ``ConvolutionStack::process``: per layer keep the input, conv to ``2C`` rows, gated activation
  ``tanh(row r) · sigmoid(row r + C)`` written to the first ``C`` rows, copy them to the skip rows,
  ``out1x1`` (1×1 with bias) on them, then add the kept input back (residual).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from helpers.errors import ExportError


class Convolution:
    """One WaveNetVA ``Convolution``: kernel list ``[j] → (in, out)`` and a bias row."""

    def __init__(self, in_ch: int, out_ch: int, width: int, dilation: int, w: list, b: list):
        flat = np.asarray(w, dtype=np.float64)
        if flat.size != in_ch * out_ch * width:
            raise ExportError(f"kernel has {flat.size} values, expected {in_ch}·{out_ch}·{width}")
        tf = flat.reshape(width, in_ch, out_ch)
        self.kernel = [tf[width - 1 - j] for j in range(width)]  # kernel[filterWidth-1-k] = W[k]
        self.bias = np.asarray(b, dtype=np.float64).reshape(out_ch)
        self.dilation, self.width, self.in_ch = dilation, width, in_ch
        self.order = (width - 1) * dilation + 1
        self.fifo = np.zeros((self.order, in_ch))
        self.pos = 0

    def process(self, data: np.ndarray) -> np.ndarray:
        """``data (in, n)`` → ``(out, n)``: the same result as ``n`` calls of :meth:`step`, vectorised over time."""
        n, order = data.shape[1], self.order
        # frames already in the FIFO, oldest first: the one delayed by m sits at fifo[pos - m]
        past = np.array([self.fifo[(self.pos - m) % order] for m in range(order - 1, 0, -1)]).reshape(order - 1, self.in_ch)
        hist = np.concatenate([past, data.T])  # (order - 1 + n, in)
        off = order - 1
        out = np.tile(self.bias, (n, 1))
        for j, k in enumerate(self.kernel):
            out += hist[off - j * self.dilation : off - j * self.dilation + n] @ k
        # leave the FIFO as the per-sample loop would (write position 0, newest frame just before it)
        for m in range(order):
            self.fifo[(-1 - m) % order] = hist[-1 - m] if m < len(hist) else 0.0
        self.pos = 0
        return out.T

    def step(self, frame: np.ndarray) -> np.ndarray:
        """One sample, literally as ``processSingleSample`` (for checking :meth:`process`)."""
        self.fifo[self.pos] = frame
        out = self.bias.copy()
        for j, k in enumerate(self.kernel):
            out += self.fifo[(self.pos - j * self.dilation) % self.order] @ k
        self.pos = (self.pos + 1) % self.order
        return out


class WaveNetVAReference:
    """Run a WaveNetVA JSON model: ``WaveNetVAReference(json_dict).process(x)`` with ``x (samples,)``."""

    def __init__(self, config: dict[str, Any]):
        if config.get("activation") != "gated":
            raise ExportError(f"this reference implements the 'gated' activation only, not {config.get('activation')!r}")
        self.channels = c = int(config["residual_channels"])
        self.width = int(config["filter_width"])
        self.dilations = [int(d) for d in config["dilations"]]
        if int(config.get("input_channels", 1)) != 1 or int(config.get("output_channels", 1)) != 1:
            raise ExportError("this reference handles mono models (input_channels = output_channels = 1)")
        var: dict[tuple[int, str], list] = {}
        for v in config["variables"]:
            var[(int(v["layer_idx"]), v["name"])] = [float(x) for x in v["data"]]  # strings or numbers
        n = len(self.dilations)
        self.input = Convolution(1, c, 1, 1, var[(-1, "W")], var[(-1, "b")])
        self.layers = [(Convolution(c, 2 * c, self.width, d, var[(i, "W_conv")], var[(i, "b_conv")]),
                        Convolution(c, c, 1, 1, var[(i, "W_out")], var[(i, "b_out")]))
                       for i, d in enumerate(self.dilations)]
        self.output = Convolution(c * n, 1, 1, 1, var[(n, "W")], var[(n, "b")])

    @property
    def receptive_field(self) -> int:
        return 1 + (self.width - 1) * sum(self.dilations)

    def process(self, x: np.ndarray) -> np.ndarray:
        """Process ``x (samples,)`` from the current state; returns float64 ``(samples,)``."""
        c = self.channels
        data = self.input.process(np.asarray(x, dtype=np.float64)[None])
        skips = []
        for conv, out1x1 in self.layers:
            residual = data
            h = conv.process(data)
            gated = np.tanh(h[:c]) * (1.0 / (1.0 + np.exp(-h[c:])))
            skips.append(gated)
            data = out1x1.process(gated) + residual
        return self.output.process(np.concatenate(skips))[0]


def run_after_silence(config: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Output for ``x`` of a fresh runtime that first heard ``receptive_field - 1`` zeros."""
    ref = WaveNetVAReference(config)
    lead = ref.receptive_field - 1
    return ref.process(np.concatenate([np.zeros(lead), np.asarray(x, dtype=np.float64)]))[lead:]
