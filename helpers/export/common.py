"""What every exporter shares: its errors, the format each model family goes to, and level folding.

Training saw normalised levels (``x · g_in`` → ``y · g_out``, see :mod:`helpers.capture.normalization`);
a plugin gets the real input and must give the real output. Both gains are folded into the weights
(exact, because the first layer is linear in the input and the last layer is linear):

* input gain ``g_in``: scales the first layer's input weights (NAM: the first re-channel and every
  input mixer; gated WaveNet: the input 1×1; TCN: the first convolution) — never the biases;
* output gain ``g_out = 1 / output normalisation``: scales the last linear layer (NAM: ``head_scale``;
  gated WaveNet: the final mix, weights and bias; TCN: the dense layer, weights and bias).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from helpers.capture.normalization import Normalization, export_gains
from helpers.errors import ExportError
from helpers.models import CausalModel, GatedWaveNet, NAMWaveNet, SequentialTCN

#: Which file format can express each model family (and the module that writes it).
FORMAT_FOR_FAMILY: dict[str, str] = {
    "nam": "Neural Amp Modeler .nam (helpers.export.nam.export_nam)",
    "gated": "PedalNetRT / WaveNetVA JSON (helpers.export.wavenetva.export_wavenetva)",
    "tcn": "RTNeural JSON (helpers.export.rtneural.export_rtneural)",
    "knob_nam": "Neural Amp Modeler .nam 0.7 with knob inputs (helpers.export.nam_knobs.export_knob_nam)",
    "knob_lstm": "GuitarML LSTM JSON (helpers.knobs.export.export_guitarml)",
}


class UnsupportedModelError(ExportError):
    """The format cannot express this model; the message names the format that can."""


def refuse(model: CausalModel, format_name: str, accepted: str) -> UnsupportedModelError:
    """The error for a model of the wrong family, pointing at the right format."""
    family = getattr(model, "family", type(model).__name__)
    hint = FORMAT_FOR_FAMILY.get(family)
    where = f"export it as {hint} instead" if hint else "no exporter of this project can express it"
    return UnsupportedModelError(f"{format_name} cannot express a {family!r} model (it holds {accepted} only); {where}")


def gains_from_payload(payload: dict[str, Any] | None) -> tuple[float, float]:
    """Linear ``(input_gain, output_gain)`` that undo a checkpoint's training normalisation ((1, 1) if none)."""
    norm = (payload or {}).get("normalization") or {}
    return export_gains(Normalization.from_dict(norm)) if norm else (1.0, 1.0)


ModelT = TypeVar("ModelT", bound=CausalModel)


@torch.no_grad()
def fold_gains(model: ModelT, input_gain: float = 1.0, output_gain: float = 1.0) -> ModelT:
    """A copy of ``model`` computing ``output_gain · model(input_gain · x)`` with no extra operations."""
    m = copy.deepcopy(model).cpu().eval()
    if input_gain == 1.0 and output_gain == 1.0:
        return m
    if isinstance(m, NAMWaveNet):
        m.layer_arrays[0].rechannel.weight.mul_(input_gain)
        for array in m.layer_arrays:
            for layer in array.dilated_layers:
                layer.input_mixer.weight.mul_(input_gain)
        m.head_scale = float(m.head_scale * output_gain)
    elif isinstance(m, GatedWaveNet):
        assert m.linear_mix.bias is not None  # built with a bias
        m.input_layer.weight.mul_(input_gain)
        m.linear_mix.weight.mul_(output_gain)
        m.linear_mix.bias.mul_(output_gain)
    elif isinstance(m, SequentialTCN):
        first = m.convs[0]
        assert isinstance(first, nn.Conv1d) and m.dense.bias is not None
        first.weight.mul_(input_gain)
        m.dense.weight.mul_(output_gain)
        m.dense.bias.mul_(output_gain)
    else:
        raise ExportError(f"cannot fold gains into a {m.family!r} model; export a 'nam', 'gated' or 'tcn' model")
    return m


def tf_kernel(weight: torch.Tensor) -> np.ndarray:
    """PyTorch conv weight ``(out, in, k)`` → TensorFlow order ``(k, in, out)`` (float32)."""
    return weight.detach().cpu().float().numpy().transpose(2, 1, 0)


def floats(a: np.ndarray | torch.Tensor) -> list:
    """Nested Python floats (JSON-ready) from an array, keeping its shape."""
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float32).astype(np.float64).tolist()


def read_json(path: str | Path, what: str) -> dict[str, Any]:
    """Parse a JSON model file; :class:`ExportError` if it is missing or not JSON."""
    p = Path(path)
    if not p.exists():
        raise ExportError(f"{p}: no such {what} file; check the path")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ExportError(f"{p}: not valid JSON ({exc}); is it really a {what} file?") from exc
    if not isinstance(data, dict):
        raise ExportError(f"{p}: a {what} file is a JSON object, got {type(data).__name__}")
    return data
