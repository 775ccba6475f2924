"""Neural Amp Modeler ``.nam`` files: export a :class:`NAMWaveNet`, and import one to audition or fine-tune.

The file written is the 0.5.x "A1" WaveNet layout that every NAM plugin build reads::

    {"version": "0.5.4", "architecture": "WaveNet",
     "config": {"layers": [{input_size, condition_size, head_size, channels, kernel_size, dilations,
                            activation, gated, head_bias}, ...], "head": null, "head_scale": 0.02},
     "weights": [...],            # flat, in the runtime's order, head_scale last
     "sample_rate": 48000, "metadata": {name, modeled_by, gear_type, tone_type, loudness, training, ...}}

Weight order per layer array: re-channel W; per layer: dilated conv W, b, input-mixer W, 1×1 W, b;
head re-channel W (, b); after all arrays: ``head_scale``. Each W is PyTorch's ``weight.flatten()``
(out, in, k). ``loudness`` is the output RMS (dBFS) of the exported model on :func:`loudness_probe`.
"""

from __future__ import annotations

import copy
import datetime as _dt
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from helpers.atomic import write_json
from helpers.export.common import ExportError, fold_gains, read_json, refuse
from helpers.models import CausalModel, NAMWaveNet
from helpers.models.nam_wavenet import ACTIVATIONS, LayerArrayConfig

FILE_VERSION = "0.5.4"
GEAR_TYPES = ("amp", "pedal", "pedal_amp", "amp_cab", "amp_pedal_cab", "preamp", "studio")
TONE_TYPES = ("clean", "overdrive", "crunch", "hi_gain", "fuzz")
_LAYER_KEYS = {"input_size", "condition_size", "head_size", "channels", "kernel_size", "dilations", "activation",
               "gated", "head_bias", "head"}


@dataclass
class NamMetadata:
    """What the NAM plugin shows about a capture (``gear_type`` ∈ :data:`GEAR_TYPES`, ``tone_type`` ∈ :data:`TONE_TYPES`)."""

    name: str = "neural-audio-lab capture"
    modeled_by: str = "neural-audio-lab"
    gear_make: str | None = None
    gear_model: str | None = None
    gear_type: str | None = "pedal"
    tone_type: str | None = "overdrive"
    input_level_dbu: float | None = None
    output_level_dbu: float | None = None
    validation_esr: float | None = None

    def __post_init__(self) -> None:
        if self.gear_type is not None and self.gear_type not in GEAR_TYPES:
            raise ExportError(f"gear_type must be one of {GEAR_TYPES}, not {self.gear_type!r}")
        if self.tone_type is not None and self.tone_type not in TONE_TYPES:
            raise ExportError(f"tone_type must be one of {TONE_TYPES}, not {self.tone_type!r}")


def loudness_probe(sample_rate: int = 48_000, seconds: float = 1.0) -> np.ndarray:
    """A deterministic guitar-like test input: decaying plucked notes at -15 dBFS RMS ``(samples,)``."""
    n = int(sample_rate * seconds)
    t = np.arange(n) / sample_rate
    x = np.zeros(n)
    notes = [82.41, 110.0, 146.83, 196.0, 246.94, 329.63]  # the open strings, one after another
    step = n // len(notes)
    for i, f0 in enumerate(notes):
        tt = t[: n - i * step]
        tone = sum(np.sin(2 * np.pi * h * f0 * tt) / h**1.5 for h in range(1, 9) if h * f0 < sample_rate / 2)
        x[i * step :] += tone * np.exp(-3.0 * tt)
    x *= 10 ** (-15 / 20) / np.sqrt(np.mean(x**2))
    return x.astype(np.float32)


@torch.no_grad()
def loudness_db(model: CausalModel, sample_rate: int = 48_000) -> float:
    """Output RMS (dBFS) of ``model`` on :func:`loudness_probe` (NAM plugins level-match with it)."""
    y = model.process(torch.from_numpy(loudness_probe(sample_rate))).numpy()
    return float(20 * np.log10(max(float(np.sqrt(np.mean(y.astype(np.float64) ** 2))), 1e-12)))


def _ordered_params(model: NAMWaveNet) -> list[torch.Tensor]:
    """The model's tensors in the .nam runtime's order (without ``head_scale``)."""
    out: list[torch.Tensor] = []
    for array in model.layer_arrays:
        out.append(array.rechannel.weight)
        for layer in array.dilated_layers:
            assert layer.conv.bias is not None and layer.layer1x1.bias is not None  # both are built with a bias
            out += [layer.conv.weight, layer.conv.bias, layer.input_mixer.weight, layer.layer1x1.weight,
                    layer.layer1x1.bias]
        out.append(array.head_rechannel.weight)
        if array.head_rechannel.bias is not None:
            out.append(array.head_rechannel.bias)
    return out


def nam_weights(model: NAMWaveNet) -> list[float]:
    """The flat ``weights`` list (float32 values, ``head_scale`` last)."""
    flat = torch.cat([p.detach().cpu().float().flatten() for p in _ordered_params(model)]).numpy()
    return [float(v) for v in flat] + [float(np.float32(model.head_scale))]


def nam_dict(model: CausalModel, *, metadata: NamMetadata | None = None, sample_rate: int = 48_000,
             input_gain: float = 1.0, output_gain: float = 1.0, date: _dt.datetime | None = None) -> dict[str, Any]:
    """The .nam content for ``model`` with the level gains folded in (see :func:`helpers.export.common.fold_gains`)."""
    if not isinstance(model, NAMWaveNet):
        raise refuse(model, "The Neural Amp Modeler .nam WaveNet format", "NAM WaveNets")
    m = fold_gains(model, input_gain, output_gain)
    meta = metadata or NamMetadata()
    d = date or _dt.datetime.now()
    md: dict[str, Any] = {
        "date": {"year": d.year, "month": d.month, "day": d.day, "hour": d.hour, "minute": d.minute, "second": d.second},
        "loudness": loudness_db(m, sample_rate),
    }
    for key, value in asdict(meta).items():
        if key != "validation_esr" and value is not None:  # the C++ reader wants numbers, not nulls
            md[key] = value
    md["training"] = {"validation_esr": meta.validation_esr, "trainer": "neural-audio-lab"}
    layers = [{"input_size": c.input_size, "condition_size": c.condition_size, "head_size": c.head_size,
               "channels": c.channels, "kernel_size": c.kernel_size, "dilations": list(c.dilations),
               "activation": c.activation, "gated": c.gated, "head_bias": c.head_bias} for c in m.layer_cfgs]
    return {"version": FILE_VERSION, "metadata": md, "architecture": "WaveNet",
            "config": {"layers": layers, "head": None, "head_scale": float(np.float32(m.head_scale))},
            "weights": nam_weights(m), "sample_rate": sample_rate}


def export_nam(model: CausalModel, path: str | Path, **kwargs: Any) -> Path:
    """Write ``model`` as a .nam file (atomically); keyword arguments as for :func:`nam_dict`."""
    return write_json(path, nam_dict(model, **kwargs), indent=None)


def for_python_reader(nam: dict[str, Any]) -> dict[str, Any]:
    """A copy that ``neural-amp-modeler`` ≥ 0.13's Python reader accepts: each layer array's
    ``head_size``/``head_bias`` becomes ``"head": {"out_channels", "kernel_size": 1, "bias"}``.
    (The file itself stays A1: that is what the C++ plugins read.)"""
    d = copy.deepcopy(nam)
    for layer in d["config"]["layers"]:
        if "head_size" in layer:
            layer["head"] = {"out_channels": layer.pop("head_size"), "kernel_size": 1, "bias": layer.pop("head_bias")}
    return d


def _neutral(raw: dict[str, Any]) -> dict[str, Any]:
    """Map a newer (0.6/0.7) layer array whose extra features are all switched off to the A1 fields."""
    raw = dict(raw)
    problems = []
    if "kernel_sizes" in raw:
        ks = set(raw.pop("kernel_sizes"))
        if len(ks) == 1:
            raw["kernel_size"] = ks.pop()
        else:
            problems.append("kernel_sizes differ between layers")
    if isinstance(raw.get("activation"), list):
        types = {a.get("type") if isinstance(a, dict) else a for a in raw["activation"]}
        extra = [a for a in raw["activation"] if isinstance(a, dict) and set(a) - {"type"}]
        if len(types) == 1 and not extra:
            raw["activation"] = types.pop()
        else:
            problems.append("per-layer or parametrised activations")
    if "bottleneck" in raw and raw.pop("bottleneck") != raw.get("channels"):
        problems.append("a bottleneck")
    for key in ("head1x1", *[k for k in raw if k.endswith("_film")]):
        if key in raw and raw.pop(key).get("active"):
            problems.append(key)
    if "layer1x1" in raw:
        l1 = raw.pop("layer1x1")
        if not l1.get("active", True) or l1.get("groups", 1) != 1:
            problems.append("a modified layer1x1")
    for key in ("groups_input", "groups_input_mixin"):
        if raw.pop(key, 1) != 1:
            problems.append(key)
    secondary = {a.get("type") if isinstance(a, dict) else a for a in raw.pop("secondary_activation", [])}
    if "gating_mode" in raw:
        modes = set(raw.pop("gating_mode"))
        if modes == {"gated"} and secondary == {"Sigmoid"}:
            raw["gated"] = True  # activation(top) · sigmoid(bottom): the A1 gating
            secondary = set()
        elif modes - {"none"}:
            problems.append(f"gating modes {sorted(modes)}")
    if secondary - {None}:
        problems.append("secondary activations")
    if raw.pop("slimmable", None) is not None:
        problems.append("slimmable layers")
    if problems:
        raise ExportError(f"this WaveNet uses {', '.join(problems)}, which the A1 layout (and this project's "
                          "NAMWaveNet) cannot hold; only A1-equivalent WaveNets can be imported")
    return raw


def _layer_config(raw: dict[str, Any], i: int) -> LayerArrayConfig:
    raw = _neutral(raw)
    unknown = set(raw) - _LAYER_KEYS
    if unknown:
        raise ExportError(f"layer array {i} uses {sorted(unknown)}, which only newer NAM WaveNets have; "
                          "this project imports the A1 WaveNet layout (NAM trainer 'standard'/'lite'/'feather'/'nano')")
    raw = dict(raw)
    head = raw.pop("head", None)
    if head is not None:
        if head.get("kernel_size", 1) != 1:
            raise ExportError(f"layer array {i}: head kernel_size {head.get('kernel_size')} is not supported (only 1)")
        raw["head_size"], raw["head_bias"] = head["out_channels"], bool(head.get("bias", False))
    if not isinstance(raw.get("activation"), str) or raw["activation"] not in ACTIVATIONS:
        raise ExportError(f"layer array {i}: activation {raw.get('activation')!r} is not supported "
                          f"(supported: {sorted(ACTIVATIONS)})")
    try:
        return LayerArrayConfig(**raw)
    except TypeError as exc:
        raise ExportError(f"layer array {i}: incomplete configuration ({exc})") from exc


def nam_model_from_dict(nam: dict[str, Any]) -> NAMWaveNet:
    """Rebuild a :class:`NAMWaveNet` from .nam content (A1 layout, or the same with ``head`` objects)."""
    arch = nam.get("architecture")
    if arch != "WaveNet":
        raise ExportError(f"only WaveNet .nam files can be imported; this one is {arch!r}")
    cfg = nam.get("config") or {}
    if cfg.get("head") is not None:
        raise ExportError("this WaveNet has a post-head network ('head' is not null), which the A1 layout does not have")
    layers = [_layer_config(raw, i) for i, raw in enumerate(cfg.get("layers", []))]
    if not layers:
        raise ExportError("the .nam config has no layer arrays")
    model = NAMWaveNet(preset=None, layers=[asdict(c) for c in layers], head_scale=float(cfg.get("head_scale", 0.02)))
    weights = np.asarray(nam.get("weights", []), dtype=np.float32)
    params = _ordered_params(model)
    expected = sum(p.numel() for p in params) + 1
    if len(weights) != expected:
        raise ExportError(f"weight mismatch: the config needs {expected} weights, the file has {len(weights)}")
    i = 0
    with torch.no_grad():
        for p in params:
            p.copy_(torch.from_numpy(weights[i : i + p.numel()].reshape(p.shape)))
            i += p.numel()
    model.head_scale = float(weights[-1])
    # label the model with its preset name when the layers are a preset's
    for name in ("standard", "lite", "feather", "nano"):
        if [asdict(c) for c in model.layer_cfgs] == [asdict(c) for c in NAMWaveNet(name).layer_cfgs]:
            model.preset = name
    return model.eval()


def load_nam(path: str | Path) -> tuple[NAMWaveNet, dict[str, Any]]:
    """Import a .nam WaveNet: ``(model, info)`` with ``info`` = version, sample_rate, metadata.

    The model is an ordinary :class:`NAMWaveNet`: audition it (``model.process``), evaluate it, stream
    it, or fine-tune it like one trained here.
    """
    nam = read_json(path, ".nam")
    model = nam_model_from_dict(nam)
    return model, {"version": nam.get("version"), "sample_rate": nam.get("sample_rate"),
                   "metadata": nam.get("metadata") or {}}
