"""RTNeural JSON for the sequential TCN (read by ``RTNeural::json_parser::parseJson``).

Layout (RTNeural ``python/model_utils.py``, the Keras writer)::

    {"in_shape": [null, null, 1],
     "layers": [{"type": "conv1d", "activation": "" | "tanh", "shape": [null, null, C],
                 "kernel_size": [k], "dilation": [d], "groups": 1, "weights": [kernel (k, in, out), bias (C)]},
                {"type": "prelu", "activation": "", "shape": [null, null, C], "weights": [[alpha (C)]]},
                ...,
                {"type": "dense", "activation": "", "shape": [null, null, 1], "weights": [W (C, 1), bias (1)]}]}

RTNeural's ``conv1d`` is a stateful causal streaming convolution (its loader reverses the kernel
index), so the TCN maps layer for layer. Residual or skip graphs (NAM, gated WaveNet) cannot be
expressed in this sequential format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from helpers.atomic import write_json
from helpers.export.common import floats, fold_gains, refuse, tf_kernel
from helpers.models import CausalModel, SequentialTCN
from helpers.models.base import modules_of


def rtneural_dict(model: CausalModel, *, input_gain: float = 1.0, output_gain: float = 1.0) -> dict[str, Any]:
    """The RTNeural JSON content for a :class:`SequentialTCN` (level gains folded in)."""
    if not isinstance(model, SequentialTCN):
        raise refuse(model, "The RTNeural JSON format (sequential layers only)", "sequential TCNs")
    m = fold_gains(model, input_gain, output_gain)
    layers: list[dict[str, Any]] = []
    shape = [None, None, m.channels]
    for conv, act, d in zip(modules_of(m.convs, nn.Conv1d), m.acts, m.dilations):
        assert conv.bias is not None  # every convolution of the TCN has a bias
        layers.append({"type": "conv1d", "activation": "tanh" if m.activation == "tanh" else "", "shape": shape,
                       "kernel_size": [m.kernel_size], "dilation": [d], "groups": 1,
                       "weights": [floats(tf_kernel(conv.weight)), floats(conv.bias)]})
        if m.activation == "prelu":
            assert isinstance(act, nn.PReLU)
            layers.append({"type": "prelu", "activation": "", "shape": shape, "weights": [[floats(act.weight)]]})
    assert m.dense.bias is not None
    layers.append({"type": "dense", "activation": "", "shape": [None, None, 1],
                   "weights": [floats(m.dense.weight[:, :, 0].T), floats(m.dense.bias)]})
    return {"in_shape": [None, None, 1], "layers": layers}


def export_rtneural(model: CausalModel, path: str | Path, **kwargs: Any) -> Path:
    """Write ``model`` as RTNeural JSON (atomically); keyword arguments as for :func:`rtneural_dict`."""
    return write_json(path, rtneural_dict(model, **kwargs), indent=None)
