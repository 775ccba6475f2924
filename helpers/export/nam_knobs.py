"""Knob-conditioned WaveNets as Neural Amp Modeler ``.nam`` files, version 0.7.0 (knobs as live model inputs).

NAM 0.7 WaveNets take several input channels: the model input ``[audio; knob_1 … knob_k]`` is also the
*condition* every layer's input mixer (and every FiLM block) reads. A :class:`~helpers.knobs.models.ConditionedWaveNet`
is exactly such a network, so it is written without approximation::

    {"version": "0.7.0", "architecture": "WaveNet",
     "config": {"in_channels": 1 + k,            # NAM's C++ core reads the channel count from here
                "layers": [{input_size, condition_size, head: {out_channels, kernel_size: 1, bias}, channels,
                            kernel_sizes, dilations, activation: [{"type": …}, …], bottleneck, head1x1, layer1x1,
                            groups_input, groups_input_mixin, conv_pre_film … head1x1_post_film,
                            gating_mode, secondary_activation, slimmable}, …],
                "head": null, "head_scale": …},
     "weights": [...],                          # NAM's import_weights order, head_scale last
     "sample_rate": 48000,
     "metadata": {name, …, loudness, "knobs": [{"name", "channel", "min", "max", "default", "unit",
                                                "default_normalized", "description"}, …],
                  "knob_encoding": …, "conditioning": "concat" | "film", "film_positions": [...]}}

* ``concat``: ``input_size = condition_size = 1 + k`` in every array's condition and the first re-channel;
* ``film``: the same routing with the audio-only weights zero-padded on the knob columns;
* FiLM (``film`` models, and ``concat`` models with ``film_positions``): NAM's FiLM block (``active``, ``shift``)
  at each of the model's positions in every layer (``activation_post_film`` by default; also ``conv_pre_film``,
  ``conv_post_film``, ``input_mixin_post_film``, ``activation_pre_film``, ``layer1x1_post_film``):
  ``v ← scale · v + shift`` with ``[scale; shift]`` a 1×1 conv (with bias) of the condition, whose audio column
  is zero when the model's FiLM reads the knobs alone.

Weight order (NAM's ``import_weights``): per layer array the re-channel weight; per layer the dilated conv weight
and bias, the input-mixer weight, the 1×1 weight and bias, then each FiLM conv's weight and bias in NAM's position
order; the head re-channel weight (and bias); finally ``head_scale``. Every weight is PyTorch's
``weight.flatten()``.

Knob channel ``1 + i`` carries knob ``i``'s value mapped linearly to ``[0, 1]`` (minimum → 0, maximum → 1: the
``values`` encoding). Levels are folded in as for plain captures (:func:`helpers.export.common.fold_gains`): the
input gain scales the weights that read the audio channel (first re-channel, input mixers, FiLM convs), never the
knob channels; the output gain scales ``head_scale``. ``loudness`` is measured at the knobs' defaults.

NAM's C++ core (file versions 0.5.0–0.7.0) takes its input count from ``config.in_channels`` and hands
``process()`` one buffer per channel; its pre-warm feeds zeros on every channel, so its first receptive field of
output differs from this course's offline runs (which hold the first knob values during the zero history) unless the
host holds the knob channels during pre-warm. NAM's Python ``WaveNet.forward`` assumes one channel: its inner network
(``._net``) runs the multi-channel input (:func:`run_nam_reader`).

:func:`load_knob_nam` reads such a file back into a ``ConditionedWaveNet`` — also a 0.7 WaveNet trained by NAM
whose extra inputs are knobs, as long as it uses only what the course model has (the A1 layer features plus FiLM at
the six positions above, with or without a shift, reading the audio or not, knobs routed through the mixers or
not); anything else is refused with :class:`~helpers.errors.ExportError` naming what is missing.
"""

from __future__ import annotations

import copy
import datetime as _dt
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from helpers.atomic import write_json
from helpers.errors import ExportError
from helpers.export.common import UnsupportedModelError, read_json
from helpers.export.nam import NamMetadata, loudness_probe
from helpers.knobs.encoding import KnobEncoding, make_encoding
from helpers.knobs.models import FILM_POSITIONS, ConditionedLSTM, ConditionedWaveNet, KnobModel, film_dim
from helpers.knobs.space import KnobSpace
from helpers.models.nam_wavenet import ACTIVATIONS, PRESETS

FILE_VERSION = "0.7.0"
#: NAM 0.7's optional FiLM positions in a layer, in its weight order (the course model holds all but two).
FILM_NAMES = ("conv_pre_film", "conv_post_film", "input_mixin_pre_film", "input_mixin_post_film",
              "activation_pre_film", "activation_post_film", "layer1x1_post_film", "head1x1_post_film")
KNOB_ENCODING_NOTE = ("input channel 0 is the audio; channel 1 + i carries knob i as (value - min) / (max - min), "
                      "in [0, 1]")
_ARRAY_KEYS = {"input_size", "condition_size", "head", "head_size", "head_bias", "channels", "kernel_size",
               "kernel_sizes", "dilations", "activation", "gated", "bottleneck", "head1x1", "layer1x1", "groups_input",
               "groups_input_mixin", "gating_mode", "secondary_activation", "slimmable", *FILM_NAMES}


# ------------------------------------------------------------------------------------------ writing
def check_exportable(model: KnobModel, encoding: KnobEncoding) -> ConditionedWaveNet:
    """``model`` as a :class:`ConditionedWaveNet` that a 0.7 ``.nam`` file can hold with ``encoding``'s knobs;
    :class:`UnsupportedModelError` says what would be needed otherwise."""
    if isinstance(model, ConditionedLSTM):
        raise UnsupportedModelError(
            "a .nam file holds NAM's own architectures, and NAM has no knob-conditioned LSTM (its LSTM takes the "
            "audio alone); export this model with helpers.knobs.export.export_guitarml (GuitarML JSON, which "
            "knob-aware LSTM plugins load), or train a conditioned WaveNet (kind 'concat' or 'film') for .nam")
    if not isinstance(model, ConditionedWaveNet):
        raise UnsupportedModelError(f"the knob .nam exporter writes knob-conditioned WaveNets (family 'knob_nam'), not "
                                    f"{getattr(model, 'family', type(model).__name__)!r}; plain captures go through "
                                    "helpers.export.nam.export_nam")
    if encoding.name != "values":
        raise UnsupportedModelError(
            f"a .nam knob input is one 0..1 value per knob, but this model reads the {encoding.name!r} encoding "
            f"(which knob moved, as a one-hot, plus its level: {encoding.size} inputs for {len(encoding.space)} knobs) "
            "that no plugin feeds; retrain with encoding='values' for .nam, or keep this model in the course JSON "
            "(helpers.knobs.export.export_knob_wavenet)")
    if encoding.size != model.num_knobs:
        raise UnsupportedModelError(f"the encoding gives {encoding.size} knob values ({encoding.space.names}), the "
                                    f"model takes {model.num_knobs}; export with the encoding it was trained with")
    return model


@torch.no_grad()
def fold_knob_gains(model: ConditionedWaveNet, input_gain: float = 1.0, output_gain: float = 1.0) -> ConditionedWaveNet:
    """A copy computing ``output_gain · model(input_gain · x, knobs)``: the audio columns of the first re-channel,
    the input mixers and the FiLM convs are scaled by ``input_gain`` (knob columns untouched), ``head_scale`` by
    ``output_gain``."""
    m = copy.deepcopy(model).cpu().eval()
    if input_gain != 1.0:
        m.layer_arrays[0].rechannel.weight[:, 0].mul_(input_gain)
        for array in m.layer_arrays:
            for layer in array.dilated_layers:
                layer.input_mixer.weight[:, 0].mul_(input_gain)
        for film in m.film_blocks:
            film.conv.weight[:, 0].mul_(input_gain)
    m.head_scale = float(m.head_scale * output_gain)
    return m


def _padded(weight: torch.Tensor, columns: int) -> torch.Tensor:
    """A 1×1 conv weight ``(out, in, 1)`` zero-padded to ``columns`` input channels."""
    w = weight.detach().cpu().float()
    if w.shape[1] == columns:
        return w
    out = torch.zeros(w.shape[0], columns, w.shape[2])
    out[:, : w.shape[1]] = w
    return out


def _ordered_tensors(model: ConditionedWaveNet) -> list[torch.Tensor]:
    """The weights in NAM's ``import_weights`` order (without ``head_scale``), padded to the file's shapes."""
    n_in = model.input_channels
    films = iter(model.film_weights())
    out: list[torch.Tensor] = []
    for i, array in enumerate(model.layer_arrays):
        re = array.rechannel.weight
        out.append(_padded(re, n_in) if i == 0 else re)
        for layer in array.dilated_layers:
            assert layer.conv.bias is not None and layer.layer1x1.bias is not None  # built with biases
            out += [layer.conv.weight, layer.conv.bias, _padded(layer.input_mixer.weight, n_in),
                    layer.layer1x1.weight, layer.layer1x1.bias]
            for _ in model.film_positions:  # NAM's FiLM order within a layer
                out += list(next(films))
        out.append(array.head_rechannel.weight)
        if array.head_rechannel.bias is not None:
            out.append(array.head_rechannel.bias)
    return out


def knob_nam_weights(model: ConditionedWaveNet) -> list[float]:
    """The flat ``weights`` list of the 0.7 file (float32 values, ``head_scale`` last)."""
    flat = torch.cat([t.detach().cpu().float().flatten() for t in _ordered_tensors(model)]).numpy()
    return [float(v) for v in flat] + [float(np.float32(model.head_scale))]


def _film_entry(active: bool) -> dict[str, Any]:
    return {"active": active, "shift": True, "groups": 1}


def knob_nam_layers(model: ConditionedWaveNet) -> list[dict[str, Any]]:
    """The ``config.layers`` list, key for key what NAM 0.13's ``LayerArray.export_config`` writes."""
    n_in, layers = model.input_channels, []
    for i, c in enumerate(model.layer_cfgs):
        n = len(c.dilations)
        primary = {"type": c.activation}  # gated: activation(top) · sigmoid(bottom), as NAM gates
        layers.append({
            "input_size": n_in if i == 0 else c.input_size, "condition_size": n_in,
            "head": {"out_channels": c.head_size, "kernel_size": 1, "bias": c.head_bias},
            "channels": c.channels, "kernel_sizes": [c.kernel_size] * n, "dilations": list(c.dilations),
            "activation": [dict(primary) for _ in range(n)], "bottleneck": c.channels,
            "head1x1": {"active": False, "out_channels": 1, "groups": 1}, "layer1x1": {"active": True, "groups": 1},
            "groups_input": 1, "groups_input_mixin": 1,
            **{name: _film_entry(name in model.film_positions) for name in FILM_NAMES},
            "gating_mode": ["gated" if c.gated else "none"] * n,
            "secondary_activation": [{"type": "Sigmoid"} if c.gated else None for _ in range(n)],
            "slimmable": None,
        })
    return layers


def knob_metadata(space: KnobSpace) -> list[dict[str, Any]]:
    """``metadata.knobs``: per knob its name, input ``channel`` (audio is 0), range, default, unit and description."""
    return [{"name": k.name, "channel": 1 + i, "min": float(k.minimum), "max": float(k.maximum),
             "default": float(k.default), "unit": k.unit,
             "default_normalized": float((k.default - k.minimum) / (k.maximum - k.minimum)),
             "description": k.description}
            for i, k in enumerate(space.knobs)]


@torch.no_grad()
def knob_loudness_db(model: ConditionedWaveNet, knobs: np.ndarray, sample_rate: int = 48_000) -> float:
    """Output RMS (dBFS) of ``model`` on :func:`~helpers.export.nam.loudness_probe` with encoded ``knobs`` ``(k,)``."""
    x = torch.from_numpy(loudness_probe(sample_rate))
    y = model.process(x, knobs=torch.from_numpy(np.asarray(knobs, dtype=np.float32))).numpy()
    return float(20 * np.log10(max(float(np.sqrt(np.mean(y.astype(np.float64) ** 2))), 1e-12)))


def knob_nam_dict(model: KnobModel, encoding: KnobEncoding, *, metadata: NamMetadata | None = None,
                  sample_rate: int = 48_000, input_gain: float = 1.0, output_gain: float = 1.0,
                  date: _dt.datetime | None = None) -> dict[str, Any]:
    """The 0.7 ``.nam`` content of a knob-conditioned WaveNet (``values`` encoding) with the level gains folded in."""
    m = fold_knob_gains(check_exportable(model, encoding), input_gain, output_gain)
    if not all(torch.isfinite(p).all() for p in m.parameters()) or not np.isfinite(m.head_scale):
        raise ExportError("the model has non-finite weights (NaN or inf: training diverged); export a checkpoint "
                          "from before the divergence (best.pt) or retrain with a lower learning rate")
    meta = metadata or NamMetadata(name="neural-audio-lab knob capture")
    d = date or _dt.datetime.now()
    defaults = encoding.encode(encoding.space.defaults())
    md: dict[str, Any] = {
        "date": {"year": d.year, "month": d.month, "day": d.day, "hour": d.hour, "minute": d.minute, "second": d.second},
        "loudness": knob_loudness_db(m, defaults, sample_rate),
    }
    for key, value in asdict(meta).items():
        if key != "validation_esr" and value is not None:  # the C++ reader wants numbers, not nulls
            md[key] = value
    md["training"] = {"validation_esr": meta.validation_esr, "trainer": "neural-audio-lab"}
    md["knobs"] = knob_metadata(encoding.space)
    md["knob_encoding"] = KNOB_ENCODING_NOTE
    md["conditioning"] = m.mechanism
    md["film_positions"] = list(m.film_positions)
    config = {"in_channels": m.input_channels, "layers": knob_nam_layers(m), "head": None,
              "head_scale": float(np.float32(m.head_scale))}
    return {"version": FILE_VERSION, "metadata": md, "architecture": "WaveNet", "config": config,
            "weights": knob_nam_weights(m), "sample_rate": int(sample_rate)}


def export_knob_nam(model: KnobModel, encoding: KnobEncoding, path: str | Path, **kwargs: Any) -> Path:
    """Write ``model`` as a 0.7 ``.nam`` file with knob inputs (atomically: a failed write leaves no file);
    keyword arguments as for :func:`knob_nam_dict`."""
    return write_json(path, knob_nam_dict(model, encoding, **kwargs), indent=None)


# ------------------------------------------------------------------------------------------ reading
def _types(value: Any) -> list[Any]:
    """An activation entry (or list of them) as a list of plain type names (``None`` stays)."""
    items = value if isinstance(value, list) else [value]
    out = []
    for a in items:
        if isinstance(a, dict):
            if set(a) - {"type", "name"}:
                raise ExportError(f"parametrised activation {a} is not supported (the course model has "
                                  f"{sorted(ACTIVATIONS)} without parameters)")
            a = a.get("type", a.get("name"))
        out.append(a)
    return out


def _array_config(raw: dict[str, Any], i: int, n_in: int) -> tuple[dict[str, Any], dict[str, bool]]:
    """One layer array of the file → (``LayerArrayConfig`` fields, its active FiLM positions → whether each has a
    shift); refuses what the course model cannot hold."""
    where = f"layer array {i}"
    unknown = set(raw) - _ARRAY_KEYS
    if unknown:
        raise ExportError(f"{where} uses {sorted(unknown)}, which ConditionedWaveNet does not have")
    missing = [key for key in ("input_size", "condition_size", "channels", "dilations", "activation") if key not in raw]
    if "kernel_sizes" not in raw and "kernel_size" not in raw:
        missing.append("kernel_sizes")
    if "head" not in raw and "head_size" not in raw:
        missing.append("head")
    if missing:
        raise ExportError(f"{where} lacks {missing}; is this a complete NAM WaveNet config?")
    problems = []
    channels = int(raw["channels"])
    dilations = [int(d) for d in raw["dilations"]]
    ks = raw["kernel_sizes"] if "kernel_sizes" in raw else raw["kernel_size"]
    ks_set = {int(k) for k in ks} if isinstance(ks, list) else {int(ks)}
    if len(ks_set) != 1:
        problems.append("kernel sizes that differ between layers")
    acts = set(_types(raw.get("activation")))
    gating = set(raw.get("gating_mode") or ["gated" if raw.get("gated") else "none"])
    secondary = set(_types(raw.get("secondary_activation") or [None]))
    gated = gating == {"gated"}
    if len(acts) != 1 or len(gating) != 1:
        problems.append("per-layer activations or gating")
    elif gated and (not acts <= set(ACTIVATIONS) or secondary != {"Sigmoid"}):
        problems.append(f"gating other than activation·sigmoid ({sorted(map(str, acts))} · {sorted(map(str, secondary))})")
    elif not gated and (gating != {"none"} or secondary != {None}):
        problems.append(f"gating mode {sorted(gating)}")
    elif not gated and next(iter(acts)) not in ACTIVATIONS:
        problems.append(f"activation {next(iter(acts))!r} (supported: {sorted(ACTIVATIONS)})")
    if int(raw.get("bottleneck", channels)) != channels:
        problems.append("a bottleneck")
    if (raw.get("head1x1") or {}).get("active"):
        problems.append("head1x1")
    l1 = raw.get("layer1x1") or {}
    if not l1.get("active", True) or l1.get("groups", 1) != 1:
        problems.append("a modified layer1x1")
    for key in ("groups_input", "groups_input_mixin"):
        if raw.get(key, 1) != 1:
            problems.append(key)
    if raw.get("slimmable") is not None:
        problems.append("slimmable layers")
    films: dict[str, bool] = {}  # active FiLM position → has a shift
    for name in FILM_NAMES:
        fp = raw.get(name) or {}
        if not fp.get("active"):
            continue
        if name not in FILM_POSITIONS:
            problems.append(f"{name} (the course model's FiLM positions are {', '.join(FILM_POSITIONS)})")
        elif fp.get("groups", 1) != 1:
            problems.append(f"{name} with groups {fp.get('groups')}")
        else:
            films[name] = bool(fp.get("shift", True))
    head = raw.get("head")
    if head is not None:
        if head.get("kernel_size", 1) != 1:
            problems.append(f"a head re-channel of kernel size {head.get('kernel_size')}")
        head_size, head_bias = int(head["out_channels"]), bool(head.get("bias", False))
    else:
        head_size, head_bias = int(raw["head_size"]), bool(raw.get("head_bias", False))
    if int(raw["condition_size"]) != n_in:
        problems.append(f"condition_size {raw['condition_size']} (the condition is the {n_in}-channel input)")
    if i == 0 and int(raw["input_size"]) != n_in:
        problems.append(f"input_size {raw['input_size']} for the {n_in}-channel input")
    if problems:
        raise ExportError(f"{where} uses {', '.join(problems)}, which ConditionedWaveNet cannot hold; run such a "
                          "file with neural-amp-modeler's own reader (nam.models.init_from_nam)")
    cfg = {"input_size": int(raw["input_size"]), "condition_size": n_in, "head_size": head_size, "channels": channels,
           "kernel_size": next(iter(ks_set)), "dilations": dilations,
           "activation": str(next(iter(acts))), "gated": gated, "head_bias": head_bias}
    return cfg, films


def _take(weights: np.ndarray, pos: int, shape: tuple[int, ...]) -> tuple[np.ndarray, int]:
    n = int(np.prod(shape))
    if pos + n > len(weights):
        raise ExportError("weight mismatch: the file has fewer weights than its config needs")
    return weights[pos : pos + n].reshape(shape), pos + n


def knob_model_from_nam(nam: dict[str, Any]) -> tuple[ConditionedWaveNet, KnobEncoding]:
    """Rebuild ``(ConditionedWaveNet, values encoding)`` from 0.7 ``.nam`` content whose extra inputs are knobs.

    The knob space comes from ``metadata.knobs``; a file without it (trained elsewhere) gets knobs named
    ``input_1 …`` with range 0..1 and default 0. :class:`ExportError` names what a file uses that the course
    model lacks (FiLM at input_mixin_pre_film or head1x1_post_film, bottlenecks, head 1×1s, grouped convs, a
    post-head, …)."""
    if nam.get("architecture") != "WaveNet":
        raise ExportError(f"knob .nam files are WaveNets; this one is {nam.get('architecture')!r} (NAM's LSTM and "
                          "Linear models take the audio alone)")
    cfg = nam.get("config") or {}
    if cfg.get("head") is not None:
        raise ExportError("this WaveNet has a post-head network ('head' is not null), which ConditionedWaveNet lacks")
    if cfg.get("condition_dsp") is not None:
        raise ExportError("this WaveNet computes its condition with a condition_dsp network; ConditionedWaveNet's "
                          "condition is the input itself")
    raw_layers = cfg.get("layers") or []
    if not raw_layers:
        raise ExportError("the .nam config has no layer arrays")
    n_in = int(cfg.get("in_channels", raw_layers[0].get("input_size", 1)))
    if n_in < 2:
        raise ExportError("this .nam file has one input channel (audio only, no knobs); import it with "
                          "helpers.export.nam.load_nam")
    parsed = [_array_config(raw, i, n_in) for i, raw in enumerate(raw_layers)]
    weights = np.asarray(nam.get("weights", []), dtype=np.float32)
    # read every tensor at the file's shapes, in NAM's order
    pos, arrays = 0, []
    for c, films in parsed:
        mid = (2 if c["gated"] else 1) * c["channels"]
        rec: dict[str, Any] = {}
        rec["rechannel"], pos = _take(weights, pos, (c["channels"], c["input_size"], 1))
        layers = []
        for _ in c["dilations"]:
            lay: dict[str, Any] = {}
            lay["conv_w"], pos = _take(weights, pos, (mid, c["channels"], c["kernel_size"]))
            lay["conv_b"], pos = _take(weights, pos, (mid,))
            lay["mixer"], pos = _take(weights, pos, (mid, n_in, 1))
            lay["l1_w"], pos = _take(weights, pos, (c["channels"], c["channels"], 1))
            lay["l1_b"], pos = _take(weights, pos, (c["channels"],))
            lay["films"] = {}
            for name, shift in films.items():  # NAM's order (FILM_NAMES)
                rows = (2 if shift else 1) * film_dim(name, c["channels"], mid)
                w, pos = _take(weights, pos, (rows, n_in, 1))
                b, pos = _take(weights, pos, (rows,))
                lay["films"][name] = (w, b)
            layers.append(lay)
        rec["layers"] = layers
        rec["head_w"], pos = _take(weights, pos, (c["head_size"], c["channels"], 1))
        if c["head_bias"]:
            rec["head_b"], pos = _take(weights, pos, (c["head_size"],))
        arrays.append(rec)
    if len(weights) != pos + 1:
        raise ExportError(f"weight mismatch: the config needs {pos + 1} weights, the file has {len(weights)}")
    positions = [name for name in FILM_POSITIONS if any(name in films for _, films in parsed)]
    knob_paths = np.any(arrays[0]["rechannel"][:, 1:]) or any(np.any(lay["mixer"][:, 1:])
                                                               for rec in arrays for lay in rec["layers"])
    # knobs through the re-channel and mixers: NAM's concat routing (with FiLM as well, if the file has it)
    mechanism = "concat" if knob_paths or not positions else "film"
    reads_audio = any(np.any(w[:, 0]) for rec in arrays for lay in rec["layers"] for w, _ in lay["films"].values())
    k = n_in - 1
    model = ConditionedWaveNet(k, mechanism, preset=None, layers=[c for c, _ in parsed], head_scale=float(weights[-1]),
                               film_positions=positions, film_reads_audio=bool(reads_audio))
    model.preset = next((name for name in PRESETS if [asdict(c) for c in model.layer_cfgs]
                         == [asdict(c) for c in ConditionedWaveNet(k, mechanism, name).layer_cfgs]), None)

    def put(param: torch.Tensor, value: np.ndarray) -> None:
        param.copy_(torch.from_numpy(np.ascontiguousarray(value)))

    blocks = iter(model.film_blocks)
    with torch.no_grad():
        for i, (array, rec) in enumerate(zip(model.layer_arrays, arrays)):
            re = rec["rechannel"]
            put(array.rechannel.weight, re[:, : array.rechannel.weight.shape[1]] if i == 0 else re)
            for layer, lay in zip(array.dilated_layers, rec["layers"]):
                assert layer.conv.bias is not None and layer.layer1x1.bias is not None
                put(layer.conv.weight, lay["conv_w"])
                put(layer.conv.bias, lay["conv_b"])
                put(layer.input_mixer.weight, lay["mixer"][:, : layer.input_mixer.weight.shape[1]])
                put(layer.layer1x1.weight, lay["l1_w"])
                put(layer.layer1x1.bias, lay["l1_b"])
                for name in positions:
                    block = next(blocks)
                    if name not in lay["films"]:
                        continue  # this array has no FiLM here in the file: the block stays the identity
                    fw, fb = lay["films"][name]
                    assert block.conv.bias is not None
                    w, b = np.zeros(tuple(block.conv.weight.shape), np.float32), np.zeros(block.conv.bias.shape, np.float32)
                    w[: len(fw)], b[: len(fb)] = fw, fb  # without a shift the shift rows stay 0
                    put(block.conv.weight, w)
                    put(block.conv.bias, b)
            put(array.head_rechannel.weight, rec["head_w"])
            if array.head_rechannel.bias is not None:
                put(array.head_rechannel.bias, rec["head_b"])
    knobs = (nam.get("metadata") or {}).get("knobs")
    if knobs:
        if len(knobs) != k or sorted(int(kn.get("channel", j + 1)) for j, kn in enumerate(knobs)) != list(range(1, n_in)):
            raise ExportError(f"metadata.knobs describes {len(knobs)} knobs on channels "
                              f"{[kn.get('channel') for kn in knobs]}, but the model has knob channels 1..{k}")
        ordered = sorted(enumerate(knobs), key=lambda t: int(t[1].get("channel", t[0] + 1)))
        space = KnobSpace.from_list([{"name": kn["name"], "minimum": kn["min"], "maximum": kn["max"],
                                      "default": kn.get("default", kn["min"]), "unit": kn.get("unit", ""),
                                      "description": kn.get("description", "")}
                                     for _, kn in ordered])
    else:
        space = KnobSpace.from_list([{"name": f"input_{j}", "minimum": 0.0, "maximum": 1.0, "default": 0.0}
                                     for j in range(1, n_in)])
    return model.eval(), make_encoding("values", space)


def load_knob_nam(path: str | Path) -> tuple[ConditionedWaveNet, KnobEncoding, dict[str, Any]]:
    """Import a 0.7 ``.nam`` knob WaveNet: ``(model, encoding, info)`` with ``info`` = version, sample_rate,
    metadata, mechanism. The model streams and fine-tunes like one trained here."""
    nam = read_json(path, ".nam")
    model, encoding = knob_model_from_nam(nam)
    return model, encoding, {"version": nam.get("version"), "sample_rate": nam.get("sample_rate"),
                             "metadata": nam.get("metadata") or {}, "mechanism": model.mechanism}


# ------------------------------------------------------------------------------------------ NAM's own reader
@torch.no_grad()
def run_nam_reader(nam: dict[str, Any] | str | Path, x: np.ndarray, knobs: np.ndarray) -> np.ndarray:
    """Run a knob ``.nam`` (content or path) with ``neural-amp-modeler``'s own reader (``init_from_nam``) on
    ``x`` ``(samples,)`` with encoded ``knobs`` ``(k,)`` or ``(k, samples)``: zero audio history, the first knob
    vector held before the start (as ``model.process`` does). Returns ``(samples,)`` float32.

    NAM's ``WaveNet.forward`` assumes one input channel, so the inner network (``._net``) runs the
    ``(1, 1 + k, samples)`` input."""
    from nam.models import init_from_nam  # imported lazily: it pulls in pytorch-lightning

    d = read_json(nam, ".nam") if isinstance(nam, (str, Path)) else nam
    reader = init_from_nam(d).eval()
    net = reader._net
    xs = np.asarray(x, dtype=np.float32)
    kn = np.asarray(knobs, dtype=np.float32)
    kn = np.broadcast_to(kn[:, None], (len(kn), len(xs))) if kn.ndim == 1 else kn
    lead = int(net.receptive_field) - 1
    inp = np.concatenate([np.concatenate([np.zeros((1, lead), np.float32), xs[None]], axis=1),
                          np.concatenate([np.repeat(kn[:, :1], lead, axis=1), kn], axis=1)])
    y = net(torch.from_numpy(np.ascontiguousarray(inp))[None])
    return y[0, 0].float().numpy()
