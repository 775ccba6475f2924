"""A NumPy model of RTNeural's JSON loader and layers, reading the JSON only.

Semantics reproduced from RTNeural's source:

* ``json_parser::parseJson``: layers in order; ``dense``/``time-distributed-dense`` and ``conv1d``
  add an activation layer after them when ``"activation"`` is a non-empty name (tanh, relu, sigmoid,
  elu, softmax); ``prelu`` and ``activation`` layers; sizes from ``shape[-1]``;
* ``loadConv1D``: ``weights[0]`` nested ``[k][in][out]`` is stored as ``w[out][in][kernel_size - 1 - k]``;
  ``Conv1D::forward``: a circular state of ``(kernel_size - 1) · dilation + 1`` frames, zero at start;
  ``h[o] = bias[o] + Σ_k w[o][·][k] · state[ptr - k · dilation]`` (tap ``k`` = input delayed by ``k·dilation``);
* ``loadDense``: ``weights[0]`` nested ``[in][out]``, ``weights[1]`` the bias;
* ``loadPReLU``: ``weights[0][0]`` the slopes (one value is broadcast); ``out = x ≥ 0 ? x : α·x``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from helpers.errors import ExportError

_ACTIVATIONS = {
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
}


class RTNeuralReference:
    """Run an RTNeural JSON model frame by frame semantics, vectorised over time: ``.process(x (samples,))``."""

    def __init__(self, config: dict[str, Any]):
        in_shape = config["in_shape"]
        size = int(in_shape[-1])
        if size != 1:
            raise ExportError(f"this reference runs mono-input models, in_shape ends with {size}")
        self.steps: list[tuple[str, Any]] = []
        self.receptive_field = 1
        for layer in config["layers"]:
            kind, out = layer["type"], int(layer["shape"][-1])
            w = layer.get("weights", [])
            if kind == "conv1d":
                k, d = int(layer["kernel_size"][-1]), int(layer["dilation"][-1])
                if int(layer.get("groups", 1)) != 1:
                    raise ExportError("grouped conv1d is not implemented in this reference")
                nested = np.asarray(w[0], dtype=np.float64)  # [k][in][out]
                if nested.shape != (k, size, out):
                    raise ExportError(f"conv1d kernel shape {nested.shape}, expected {(k, size, out)}")
                taps = [nested[k - 1 - j] for j in range(k)]  # taps[j] multiplies x delayed by j·d
                self.steps.append(("conv1d", (taps, np.asarray(w[1], dtype=np.float64), d)))
                self.receptive_field += (k - 1) * d
            elif kind in ("dense", "time-distributed-dense"):
                mat = np.asarray(w[0], dtype=np.float64)  # [in][out]
                bias = np.asarray(w[1], dtype=np.float64) if len(w) > 1 else np.zeros(out)
                self.steps.append(("dense", (mat, bias)))
            elif kind == "prelu":
                alpha = np.asarray(w[0][0], dtype=np.float64).reshape(-1)
                self.steps.append(("prelu", np.broadcast_to(alpha, (size,)).copy()))
            elif kind != "activation":
                raise ExportError(f"layer type {kind!r} is not implemented in this reference")
            act = layer.get("activation", "")
            if act and kind in ("dense", "time-distributed-dense", "conv1d", "activation"):
                if act not in _ACTIVATIONS:
                    raise ExportError(f"activation {act!r} is not implemented in this reference")
                self.steps.append(("act", _ACTIVATIONS[act]))
            size = out

    def process(self, x: np.ndarray) -> np.ndarray:
        """Process ``x (samples,)`` from zero state; returns float64 ``(samples,)`` (the last layer's first output)."""
        h = np.asarray(x, dtype=np.float64)[:, None]  # (time, features), as RTNeural steps frame by frame
        n = len(h)
        for kind, p in self.steps:
            if kind == "conv1d":
                taps, bias, d = p
                out = np.tile(bias, (n, 1))
                for j, tap in enumerate(taps):
                    delayed = np.concatenate([np.zeros((min(j * d, n), h.shape[1])), h[: max(n - j * d, 0)]])
                    out += delayed @ tap
                h = out
            elif kind == "dense":
                mat, bias = p
                h = h @ mat + bias
            elif kind == "prelu":
                h = np.where(h >= 0, h, h * p)
            else:
                h = p(h)
        return h[:, 0]


def run_after_silence(config: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Output for ``x`` of a fresh runtime that first heard ``receptive_field - 1`` zeros."""
    ref = RTNeuralReference(config)
    lead = ref.receptive_field - 1
    return ref.process(np.concatenate([np.zeros(lead), np.asarray(x, dtype=np.float64)]))[lead:]
