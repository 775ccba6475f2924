"""Export conditioned models: GuitarML's knob-aware LSTM JSON, and this project's conditioned-WaveNet JSON.

GuitarML LSTM JSON (Proteus / NeuralPi / Automated-GuitarAmpModelling)::

    {"model_data": {"model": "SimpleRNN", "input_size": 1 + knobs, "skip": 1, "output_size": 1,
                    "unit_type": "LSTM", "num_layers": 1, "hidden_size": 40, "bias_fl": true},
     "state_dict": {"rec.weight_ih_l0": [[...]], "rec.weight_hh_l0", "rec.bias_ih_l0", "rec.bias_hh_l0",
                    "lin.weight", "lin.bias"},
     "knobs": [{"name", "minimum", "maximum", "default", "unit"}, ...]}

Weights keep PyTorch's shapes and gate order (i, f, g, o). The plugin feeds ``[x, knob_1, …, knob_k]``
each sample with knob values in ``0..1`` (the ``values`` encoding). ``knobs`` is extra metadata the
plugins ignore. :func:`reference_lstm` runs such a file with NumPy only (independent of PyTorch).

Conditioned-WaveNet JSON (format ``neural-audio-lab/knob-wavenet/1``), documented here because no
plugin format carries knob inputs for a WaveNet::

    {"format": "neural-audio-lab/knob-wavenet/1", "family": "knob_nam",
     "mechanism": "concat" | "film", "encoding": "values" | "onehot",
     "knobs": [...],                     # as above; the knob vector order = this list's order
     "config": {...},                    # ConditionedWaveNet(**config) rebuilds the architecture
     "sample_rate": 48000, "normalization": {...},
     "weights": {"<state_dict key>": nested lists in PyTorch shapes, ...}}

:func:`load_knob_wavenet` rebuilds the PyTorch model from it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.special import expit

from helpers.atomic import write_json
from helpers.export.common import ExportError, UnsupportedModelError, floats
from helpers.knobs.encoding import KnobEncoding
from helpers.knobs.models import ConditionedLSTM, ConditionedWaveNet, KnobModel, knob_model_from_config
from helpers.knobs.space import KnobNameError, KnobSpace

WAVENET_FORMAT = "neural-audio-lab/knob-wavenet/1"
_LSTM_KEYS = ("rec.weight_ih_l0", "rec.weight_hh_l0", "rec.bias_ih_l0", "rec.bias_hh_l0", "lin.weight", "lin.bias")


def _check_knobs(model: KnobModel, encoding: KnobEncoding) -> None:
    if encoding.size != model.num_knobs:
        raise KnobNameError(f"the encoding gives {encoding.size} values ({encoding.space.names}), the model takes "
                            f"{model.num_knobs}; export with the encoding the model was trained with")


def _read(path: str | Path, what: str) -> dict[str, Any]:
    p = Path(path)
    if not p.exists():
        raise ExportError(f"{p}: no such {what} file")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ExportError(f"{p}: not a JSON {what} file ({exc})") from exc


# ------------------------------------------------------------------------------------------ GuitarML LSTM
def guitarml_dict(model: KnobModel, encoding: KnobEncoding, output_gain: float = 1.0) -> dict[str, Any]:
    """The GuitarML JSON of a :class:`ConditionedLSTM` (``values`` encoding only); ``output_gain`` undoes a
    training output normalisation (folded into ``lin``; only possible without ``skip``)."""
    if not isinstance(model, ConditionedLSTM):
        raise UnsupportedModelError(f"GuitarML LSTM JSON holds a conditioned LSTM only, not a {model.family!r} "
                                    "model; export conditioned WaveNets with export_knob_wavenet")
    if encoding.name != "values":
        raise UnsupportedModelError("GuitarML plugins feed one 0..1 value per knob; train with encoding='values'")
    _check_knobs(model, encoding)
    if output_gain != 1.0 and model.skip:
        raise ExportError("an output gain cannot be folded into a model with skip=1 (the skip adds the raw input); "
                          "train on un-normalised data or with skip=False")
    sd = {k: v.detach().cpu().float() for k, v in model.state_dict().items()}
    sd["lin.weight"] = sd["lin.weight"] * output_gain
    sd["lin.bias"] = sd["lin.bias"] * output_gain
    return {
        "model_data": {"model": "SimpleRNN", "input_size": 1 + model.num_knobs, "skip": int(model.skip),
                       "output_size": 1, "unit_type": "LSTM", "num_layers": 1, "hidden_size": model.hidden_size,
                       "bias_fl": True},
        "state_dict": {k: floats(sd[k]) for k in _LSTM_KEYS},
        "knobs": encoding.space.to_list(),
    }


def export_guitarml(model: KnobModel, encoding: KnobEncoding, path: str | Path, output_gain: float = 1.0) -> Path:
    """Write :func:`guitarml_dict` atomically to ``path`` (``.json``)."""
    return write_json(path, guitarml_dict(model, encoding, output_gain), indent=None)


def load_guitarml(path: str | Path) -> dict[str, Any]:
    """Read and check a GuitarML LSTM JSON (fields, shapes); :class:`ExportError` says what is wrong."""
    d = _read(path, "GuitarML LSTM")
    md, sd = d.get("model_data"), d.get("state_dict")
    if not isinstance(md, dict) or not isinstance(sd, dict):
        raise ExportError(f"{path}: needs 'model_data' and 'state_dict'")
    if md.get("unit_type") != "LSTM" or md.get("num_layers", 1) != 1:
        raise ExportError(f"{path}: only single-layer LSTM files are supported, got {md.get('unit_type')} "
                          f"× {md.get('num_layers')}")
    missing = [k for k in _LSTM_KEYS if k not in sd]
    if missing:
        raise ExportError(f"{path}: state_dict lacks {missing}")
    h, n_in = int(md["hidden_size"]), int(md["input_size"])
    shapes = {"rec.weight_ih_l0": (4 * h, n_in), "rec.weight_hh_l0": (4 * h, h), "rec.bias_ih_l0": (4 * h,),
              "rec.bias_hh_l0": (4 * h,), "lin.weight": (1, h), "lin.bias": (1,)}
    for k, shape in shapes.items():
        if np.asarray(sd[k]).shape != shape:
            raise ExportError(f"{path}: {k} has shape {np.asarray(sd[k]).shape}, expected {shape}")
    return d


def reference_lstm(d: dict[str, Any], x: np.ndarray, knobs: np.ndarray) -> np.ndarray:
    """Run a GuitarML LSTM dict on ``x`` ``(samples,)`` with knob values ``(k,)`` or ``(k, samples)`` in 0..1,
    from a zero state, in float64 NumPy — an independent check of the exported file."""
    md, sd = d["model_data"], {k: np.asarray(v, dtype=np.float64) for k, v in d["state_dict"].items()}
    h_size, n_knobs = int(md["hidden_size"]), int(md["input_size"]) - 1
    x = np.asarray(x, dtype=np.float64)
    kn = np.asarray(knobs, dtype=np.float64)
    if kn.shape[0] != n_knobs:
        raise KnobNameError(f"the file takes {n_knobs} knob values, got {kn.shape[0]}")
    kn = np.broadcast_to(kn[:, None] if kn.ndim == 1 else kn, (n_knobs, len(x)))
    w_ih, w_hh = sd["rec.weight_ih_l0"], sd["rec.weight_hh_l0"]
    b = sd["rec.bias_ih_l0"] + sd["rec.bias_hh_l0"]
    h, c = np.zeros(h_size), np.zeros(h_size)
    y = np.empty(len(x))
    for t in range(len(x)):
        g = w_ih @ np.concatenate([[x[t]], kn[:, t]]) + w_hh @ h + b
        i, f, gg, o = np.split(g, 4)  # PyTorch's gate order
        c = expit(f) * c + expit(i) * np.tanh(gg)
        h = expit(o) * np.tanh(c)
        y[t] = sd["lin.weight"][0] @ h + sd["lin.bias"][0] + (x[t] if md.get("skip") else 0.0)
    return y


# ------------------------------------------------------------------------------------------ conditioned WaveNet
def export_knob_wavenet(model: KnobModel, encoding: KnobEncoding, path: str | Path, *, sample_rate: int = 48_000,
                        normalization: dict | None = None) -> Path:
    """Write a :class:`ConditionedWaveNet` as this project's documented JSON (see the module docstring)."""
    if not isinstance(model, ConditionedWaveNet):
        raise UnsupportedModelError(f"the conditioned-WaveNet JSON holds a knob_nam model, not {model.family!r}; "
                                    "export a conditioned LSTM with export_guitarml")
    _check_knobs(model, encoding)
    d = {"format": WAVENET_FORMAT, "family": model.family, "mechanism": model.mechanism, "encoding": encoding.name,
         "knobs": encoding.space.to_list(), "config": model.config(), "sample_rate": int(sample_rate),
         "normalization": normalization or {},
         "weights": {k: floats(v) for k, v in model.state_dict().items()}}
    return write_json(path, d, indent=None)


def load_knob_wavenet(path: str | Path) -> tuple[ConditionedWaveNet, KnobEncoding, dict[str, Any]]:
    """Rebuild ``(model, encoding, file dict)`` from :func:`export_knob_wavenet`'s JSON."""
    from helpers.knobs.encoding import make_encoding

    d = _read(path, "conditioned-WaveNet")
    if d.get("format") != WAVENET_FORMAT:
        raise ExportError(f"{path}: format {d.get('format')!r} is not {WAVENET_FORMAT!r}")
    model = knob_model_from_config("knob_nam", d["config"])
    assert isinstance(model, ConditionedWaveNet)  # the knob_nam family
    try:
        model.load_state_dict({k: torch.tensor(np.asarray(v, dtype=np.float32)) for k, v in d["weights"].items()})
    except RuntimeError as exc:
        raise ExportError(f"{path}: weights do not fit the architecture ({exc})") from exc
    model.eval()
    return model, make_encoding(d["encoding"], KnobSpace.from_list(d["knobs"])), d
