"""PedalNetRT / WaveNetVA JSON: the gated WaveNet that WaveNetVA, SmartGuitarAmp and AmpEmulatorModel load.

Layout (GuitarML PedalNetRT ``export.py``; read by damskaggep/WaveNetVA ``WaveNetLoader.cpp``)::

    {"name", "activation": "gated", "input_channels": 1, "output_channels": 1, "residual_channels": C,
     "filter_width": k, "dilations": [...],
     "variables": [{"layer_idx": -1, "name": "W"|"b", "data": [...]},            # input 1×1
                   {"layer_idx": i, "name": "W_conv"|"b_conv"|"W_out"|"b_out", "data": [...]},  # each layer
                   {"layer_idx": L, "name": "W"|"b", "data": [...]}]}            # mix of the L·C skips

Each ``W`` is the PyTorch weight permuted to TensorFlow's ``(k, in, out)`` and flattened; the runtime
stores it with the kernel index reversed. Values are written as numbers (PedalNetRT writes strings;
JUCE's ``var`` reads both).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from helpers.atomic import write_json
from helpers.export.common import fold_gains, refuse, tf_kernel
from helpers.models import CausalModel, GatedWaveNet
from helpers.models.base import modules_of


def _var(layer_idx: int, name: str, values: Any) -> dict[str, Any]:
    flat = values.reshape(-1) if hasattr(values, "reshape") else values
    return {"layer_idx": layer_idx, "name": name, "data": [float(v) for v in flat]}


def _bias(conv: nn.Conv1d) -> np.ndarray:
    """A convolution's bias (every convolution of a gated WaveNet has one)."""
    assert conv.bias is not None
    return conv.bias.detach().numpy()


def wavenetva_dict(model: CausalModel, *, name: str = "neural-audio-lab", input_gain: float = 1.0,
                   output_gain: float = 1.0) -> dict[str, Any]:
    """The WaveNetVA JSON content for a :class:`GatedWaveNet` (level gains folded in)."""
    if not isinstance(model, GatedWaveNet):
        raise refuse(model, "The PedalNetRT / WaveNetVA JSON format", "gated WaveNets")
    m = fold_gains(model, input_gain, output_gain)
    variables = [_var(-1, "W", tf_kernel(m.input_layer.weight)), _var(-1, "b", _bias(m.input_layer))]
    for i, (hidden, res) in enumerate(zip(modules_of(m.hidden, nn.Conv1d), modules_of(m.residuals, nn.Conv1d))):
        variables += [_var(i, "W_conv", tf_kernel(hidden.weight)), _var(i, "b_conv", _bias(hidden)),
                      _var(i, "W_out", tf_kernel(res.weight)), _var(i, "b_out", _bias(res))]
    n = len(m.dilations)
    variables += [_var(n, "W", tf_kernel(m.linear_mix.weight)), _var(n, "b", _bias(m.linear_mix))]
    return {"name": name, "activation": "gated", "output_channels": 1, "input_channels": 1,
            "residual_channels": m.channels, "filter_width": m.kernel_size, "dilations": list(m.dilations),
            "variables": variables}


def export_wavenetva(model: CausalModel, path: str | Path, **kwargs: Any) -> Path:
    """Write ``model`` as WaveNetVA JSON (atomically); keyword arguments as for :func:`wavenetva_dict`."""
    return write_json(path, wavenetva_dict(model, **kwargs), indent=None)
