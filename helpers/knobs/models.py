"""Knob-conditioned amp models: the knob vector is an input at every time step.

* :class:`ConditionedWaveNet` (family ``knob_nam``): the NAM WaveNet layout with one of two mechanisms

  - ``concat`` — the knob vector joins the raw audio as the model input and the layers' *condition*:
    NAM's input mixer (a 1×1 conv per layer, ``condition_size = 1 + knobs``) adds ``mixer([x; knobs])``
    before each activation, so the knobs shift every layer's pre-activation (the first re-channel reads
    ``[x; knobs]`` too);
  - ``film`` — Feature-wise Linear Modulation (Perez et al., 2018) as NAM 0.7 has it: per layer, a 1×1
    conv of the knobs gives a per-channel scale and shift, ``a ← scale · a + shift``, by default after the
    activation (NAM's ``activation_post_film``, :data:`DEFAULT_FILM`); it starts as the identity (scale 1,
    shift 0), so an untrained FiLM model is the plain WaveNet;
  - ``concat+film`` (a kind, not a mechanism): ``concat`` routing plus FiLM (best at 3 CPU minutes, behind concat
    at 10 in the benchmark).

  ``film_positions`` puts FiLM blocks at any of NAM's positions in a layer (:data:`FILM_POSITIONS`), also on a
  ``concat`` model (knobs through the mixers *and* FiLM). The course's FiLM reads the knobs alone (the audio
  column of its condition stays zero), so at fixed knobs a crop gets one scale and shift per channel, computed
  once; ``film_reads_audio`` (files trained elsewhere) reads the whole condition ``[x; knobs]``. Every variant is
  exactly a NAM-0.7 WaveNet with ``1 + knobs`` input channels (export: :mod:`helpers.export.nam_knobs`).

* :class:`ConditionedLSTM` (family ``knob_lstm``): GuitarML's knob-aware form (Proteus):
  ``y = lin(LSTM([x; knobs])) + x`` with ``input_size = 1 + knobs``.

Every model takes ``forward(x, knobs)`` with ``x`` ``(batch, samples)`` and ``knobs`` either ``(batch, k)``
(constant) or ``(batch, k, samples)`` (one vector per input sample, for knob moves) and returns
``(batch, samples - receptive_field + 1)`` like every :class:`~helpers.models.CausalModel`. The LSTM
has no finite receptive field; its ``receptive_field`` is ``warmup + 1``: the first ``warmup`` outputs
(state still settling) are dropped, which is what training crops and offline prediction need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import helpers.realtime.conditioned  # noqa: F401  (registers the conditioned streaming engines)
from helpers.errors import CheckpointError, ConfigError
from helpers.models.base import CausalModel, modules_of
from helpers.models.nam_wavenet import PRESETS, LayerArray, LayerArrayConfig

MECHANISMS = ("concat", "film")
#: NAM 0.7's FiLM positions in a layer that :class:`ConditionedWaveNet` can hold, in NAM's weight order
#: (``input_mixin_pre_film`` would modulate the condition by itself; ``head1x1_post_film`` needs a head 1×1).
FILM_POSITIONS = ("conv_pre_film", "conv_post_film", "input_mixin_post_film", "activation_pre_film",
                  "activation_post_film", "layer1x1_post_film")
#: Where the course puts FiLM unless told (``film`` and ``concat+film`` models): after the activation, so the knobs
#: scale what each layer adds to the head and the residual stream (a knob-dependent mix of features, e.g. a tone
#: filter); with concat it measured better than before the activation at 3 CPU minutes (README, Benchmarks).
DEFAULT_FILM = ("activation_post_film",)
#: FiLM positions of checkpoints and course JSON written before ``film_positions`` existed (their ``film`` models).
LEGACY_FILM = ("activation_pre_film",)


def _knob_signal(knobs: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``(batch, k)`` → ``(batch, k, 1)`` (broadcast in time); ``(batch, k, samples)`` is checked and kept."""
    if knobs.ndim == 2:
        return knobs[..., None]
    if knobs.ndim != 3 or knobs.shape[-1] != x.shape[-1]:
        raise ConfigError(f"knobs must be (batch, k) or (batch, k, samples={x.shape[-1]}), got {tuple(knobs.shape)}")
    return knobs


class KnobModel(CausalModel):
    """What the conditioned models share: ``num_knobs`` inputs and a :meth:`process` that takes them."""

    num_knobs: int

    def process(self, x: torch.Tensor, pad_start: bool = True, *, knobs: torch.Tensor | None = None) -> torch.Tensor:
        """Run on ``(samples,)`` or ``(batch, samples)`` with ``knobs`` ``(k,)``, ``(batch, k)``, ``(k, samples)``
        or ``(batch, k, samples)``; with ``pad_start`` the output has the input's length (zero audio history,
        the first knob vector held during it)."""
        if knobs is None:
            raise ConfigError(f"a knob-conditioned model needs knob values ({self.num_knobs} per step)")
        squeeze = x.ndim == 1
        if squeeze:
            x = x[None]
            knobs = knobs[None]
        if knobs.shape[1] != self.num_knobs:
            raise ConfigError(f"expected {self.num_knobs} knob values, got shape {tuple(knobs.shape)}")
        if pad_start:
            lead = self.receptive_field - 1
            x = nn.functional.pad(x, (lead, 0))
            if knobs.ndim == 3:
                knobs = torch.cat([knobs[..., :1].expand(-1, -1, lead), knobs], dim=-1)
        y = self(x, knobs)
        return y[0] if squeeze else y


class FiLM(nn.Module):
    """NAM's FiLM block: ``z ← scale · z + shift`` with ``[scale; shift] = W c + b`` (a 1×1 conv of the condition).

    ``condition_size`` channels in (``[audio; knobs]``), ``dim`` channels modulated. It starts as the identity
    (``W = 0``, scale bias 1, shift bias 0), so an untrained FiLM model is the plain WaveNet. Same parameters and
    formula as ``nam.models.wavenet._film.FiLM`` with ``shift=True`` (the scale is used as is, not as ``1 + γ``).
    """

    def __init__(self, condition_size: int, dim: int):
        super().__init__()
        self.dim = dim
        self.conv = nn.Conv1d(condition_size, 2 * dim, 1, bias=True)
        bias = self.conv.bias
        assert bias is not None  # built with a bias
        with torch.no_grad():
            self.conv.weight.zero_()
            bias.zero_()
            bias[:dim] = 1.0

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """``z`` ``(batch, dim, n)``, condition ``c`` ``(batch, condition_size, n)`` → ``(batch, dim, n)``."""
        return self.modulate(z, self.conv(c))

    @staticmethod
    def modulate(z: torch.Tensor, scale_shift: torch.Tensor) -> torch.Tensor:
        """``scale · z + shift`` with ``[scale; shift]`` ``(batch, 2·dim, n or 1)`` (1: constant in time)."""
        scale, shift = scale_shift.chunk(2, dim=1)
        return torch.addcmul(shift, scale, z)


def condition_conv(conv: nn.Conv1d, audio: torch.Tensor | None, knobs: torch.Tensor,
                   into: torch.Tensor | None = None) -> torch.Tensor:
    """A 1×1 ``conv`` of the condition ``[audio; knobs]`` without building it: ``audio`` ``(batch, 1, n)`` (``None``:
    its column is skipped, as if zero), ``knobs`` ``(batch, k, 1 or n)`` (skipped when ``conv`` reads the audio
    alone) → ``(batch, out, n, or 1 without audio and with constant knobs)``. Constant knobs cost one small product
    per crop instead of one per sample. ``into``: added to that tensor in place (one that autograd does not keep,
    such as a conv's output) and returned."""
    w = conv.weight[:, :, 0]
    out = into if into is not None else torch.zeros(1, w.shape[0], 1, dtype=w.dtype, device=w.device)
    if w.shape[1] > 1:
        k = torch.einsum("ok,bkn->bon", w[:, 1:], knobs)
        out = out.add_(k) if into is not None else out + k
    if conv.bias is not None:
        out = out.add_(conv.bias[:, None])  # out is no parameter here: into, or a fresh sum
    if audio is not None:
        out = out.addcmul_(w[None, :, :1], audio) if into is not None else torch.addcmul(out, w[None, :, :1], audio)
    return out


def film_dim(position: str, channels: int, mid: int) -> int:
    """Channels a FiLM block at ``position`` modulates in a layer of ``channels`` (``mid``: the conv's outputs,
    2 × channels when gated)."""
    return channels if position in ("conv_pre_film", "activation_post_film", "layer1x1_post_film") else mid


class ConditionedWaveNet(KnobModel):
    """NAM-layout WaveNet conditioned on ``num_knobs`` values by ``mechanism`` (``concat`` or ``film``).

    The model's input is NAM 0.7's multi-channel input ``[audio; knobs]`` (``1 + num_knobs`` channels, knob values
    in 0..1), which is also every layer's condition. ``concat`` is NAM's own routing: the first layer array's
    re-channel reads all ``1 + k`` channels and every input mixer reads the condition (their knob columns start at
    zero, so an untrained model ignores the knobs; :meth:`knob_weights` lists them).
    ``film`` keeps the re-channel and the mixers on the audio alone. ``film_positions`` (default
    :data:`DEFAULT_FILM` for ``film``, none for ``concat``) adds one NAM FiLM block per layer at each position
    named, fed by the knobs (and the audio with ``film_reads_audio``). All export exactly to a version-0.7 ``.nam``
    file (:mod:`helpers.export.nam_knobs`).
    """

    family = "knob_nam"

    def __init__(self, num_knobs: int, mechanism: str = "concat", preset: str | None = "nano",
                 layers: list[dict[str, Any]] | None = None, head_scale: float = 0.02,
                 film_positions: Sequence[str] | None = None, film_reads_audio: bool = False):
        super().__init__()
        if mechanism not in MECHANISMS:
            raise ConfigError(f"unknown conditioning mechanism {mechanism!r}; choose one of {MECHANISMS}")
        if film_positions is None:
            film_positions = DEFAULT_FILM if mechanism == "film" else ()
        unknown = sorted(set(film_positions) - set(FILM_POSITIONS))
        if unknown:
            raise ConfigError(f"unknown FiLM position(s) {unknown}; choose from {FILM_POSITIONS}")
        if mechanism == "film" and not film_positions:
            raise ConfigError("a 'film' model needs at least one FiLM position (e.g. 'activation_pre_film')")
        if num_knobs < 1:
            raise ConfigError(f"num_knobs must be at least 1, got {num_knobs}")
        if layers is None:
            if preset not in PRESETS:
                raise ConfigError(f"unknown NAM preset {preset!r}; choose one of {sorted(PRESETS)}")
            layers = [asdict(c) for c in PRESETS[preset]]
        if not layers:
            raise ConfigError("a conditioned WaveNet needs at least one layer array")
        cond = 1 + num_knobs if mechanism == "concat" else 1
        cfgs = [{**(asdict(c) if isinstance(c, LayerArrayConfig) else dict(c)), "condition_size": cond} for c in layers]
        cfgs[0]["input_size"] = cond  # concat: NAM's first re-channel reads [audio; knobs]; film: the audio
        self.layer_cfgs = [LayerArrayConfig(**c) for c in cfgs]
        self.num_knobs, self.mechanism, self.preset = int(num_knobs), mechanism, preset
        self.head_scale = float(head_scale)
        self.arrays = nn.ModuleList(LayerArray(c) for c in self.layer_cfgs)
        #: FiLM positions in NAM's order; one block per position per layer, layer-major in :attr:`films`
        self.film_positions = tuple(p for p in FILM_POSITIONS if p in film_positions)
        #: whether the FiLM blocks read the audio channel of the condition (NAM's FiLM can); the course trains them
        #: on the knobs alone (audio column zero and unused), so a crop at fixed knobs gets one scale and shift
        self.film_reads_audio = bool(film_reads_audio)
        self.films = nn.ModuleList()
        for c in self.layer_cfgs:
            mid = (2 if c.gated else 1) * c.channels
            self.films.extend(FiLM(1 + num_knobs, film_dim(p, c.channels, mid))
                              for _ in c.dilations for p in self.film_positions)
        with torch.no_grad():  # an untrained model ignores the knobs (FiLM starts as the identity, the mixers at 0)
            for w, mask in self.knob_weights():
                w.mul_(1.0 - mask)

    @property
    def receptive_field(self) -> int:
        return 1 + sum(a.receptive_field - 1 for a in self.layer_arrays)

    @property
    def layer_arrays(self) -> list[LayerArray]:
        """:attr:`arrays` as a typed list."""
        return modules_of(self.arrays, LayerArray)

    @property
    def film_blocks(self) -> list[FiLM]:
        """The FiLM blocks: per dilated layer in order, one per position of :attr:`film_positions` (none for plain
        ``concat``)."""
        return modules_of(self.films, FiLM)

    def knob_weights(self, part: str = "all") -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The weights that read the knobs, each with a 0/1 mask of the same shape marking its knob columns:
        ``part="mixers"``, the first re-channel and every input mixer (``concat``); ``"film"``, every FiLM
        block's 1×1 conv; ``"all"``, both. The training recipe gives each part its own learning rate
        (:attr:`KnobTrainConfig.mixer_lr_scale`, :attr:`KnobTrainConfig.film_lr_scale`)."""
        if part not in ("all", "mixers", "film"):
            raise ConfigError(f"part must be 'all', 'mixers' or 'film', got {part!r}")
        convs = []
        if self.mechanism == "concat" and part != "film":
            convs.append(self.layer_arrays[0].rechannel)
            convs.extend(layer.input_mixer for array in self.layer_arrays for layer in array.dilated_layers)
        if part != "mixers":
            convs.extend(block.conv for block in self.film_blocks)
        out = []
        for conv in convs:
            mask = torch.zeros_like(conv.weight)
            mask[:, 1:] = 1.0  # column 0 reads the audio
            out.append((conv.weight, mask))
        return out

    def film_weights(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Each FiLM block's 1×1 conv of the condition ``[audio; knobs]`` as the model uses it: weight
        ``(2·dim, 1 + k)`` (the audio column zeroed unless :attr:`film_reads_audio`) and bias ``(2·dim,)``."""
        out = []
        for block in self.film_blocks:
            w = block.conv.weight.detach()[:, :, 0].clone()
            if not self.film_reads_audio:
                w[:, 0] = 0.0
            assert block.conv.bias is not None  # built with a bias
            out.append((w, block.conv.bias.detach().clone()))
        return out

    @property
    def input_channels(self) -> int:
        """Channels of the model input and condition: audio plus one per knob (``in_channels`` of the .nam file)."""
        return 1 + self.num_knobs

    def config(self) -> dict[str, Any]:
        return {"num_knobs": self.num_knobs, "mechanism": self.mechanism, "preset": self.preset,
                "layers": [asdict(c) for c in self.layer_cfgs], "head_scale": self.head_scale,
                "film_positions": list(self.film_positions), "film_reads_audio": self.film_reads_audio}

    def describe(self) -> str:
        return super().describe().replace("knob_nam model", f"knob-conditioned WaveNet ({self.mechanism})", 1)

    def forward(self, x: torch.Tensor, knobs: torch.Tensor) -> torch.Tensor:
        """``x`` ``(batch, samples)``, ``knobs`` ``(batch, k)`` or ``(batch, k, samples)`` → ``(batch, samples - rf + 1)``.

        Computes what NAM's ``WaveNet`` computes on the input ``[x; knobs]`` (layer by layer, same operations), with
        the condition's 1×1 convolutions split into their audio and knob columns (:func:`condition_conv`)."""
        kn = _knob_signal(knobs.to(x.dtype), x)  # (batch, k, 1) constant or (batch, k, samples)
        audio = x[:, None]
        concat = self.mechanism == "concat"

        def at(n: int) -> tuple[torch.Tensor, torch.Tensor]:  # the condition's last n samples
            return audio[..., -n:], kn if kn.shape[-1] == 1 else kn[..., -n:]

        def film(block: FiLM, z: torch.Tensor) -> torch.Tensor:
            a, k = at(z.shape[-1])
            return block.modulate(z, condition_conv(block.conv, a if self.film_reads_audio else None, k))

        films = iter(self.film_blocks)
        y, head = audio, None
        for i, array in enumerate(self.layer_arrays):
            final = i == len(self.arrays) - 1
            y = condition_conv(array.rechannel, y, kn) if i == 0 and concat else array.rechannel(y)
            last = len(array.layers) - 1
            for j, layer in enumerate(array.dilated_layers):
                blocks = {p: next(films) for p in self.film_positions}
                z = layer.conv(film(blocks["conv_pre_film"], y) if "conv_pre_film" in blocks else y)
                n = z.shape[-1]
                if "conv_post_film" in blocks:
                    z = film(blocks["conv_post_film"], z)
                a_n, k_n = at(n)
                if "input_mixin_post_film" in blocks:
                    z = z + film(blocks["input_mixin_post_film"], condition_conv(layer.input_mixer, a_n, k_n))
                else:  # the conv's output is not kept for its backward: the mixer is added in place
                    z = condition_conv(layer.input_mixer, a_n, k_n, into=z)
                if "activation_pre_film" in blocks:
                    z = film(blocks["activation_pre_film"], z)
                if layer.gated:
                    a = layer.activation(z[:, : layer.channels]) * torch.sigmoid(z[:, layer.channels :])
                else:
                    a = layer.activation(z)
                if "activation_post_film" in blocks:
                    a = film(blocks["activation_post_film"], a)
                if not (final and j == last):
                    r = layer.layer1x1(a)
                    if "layer1x1_post_film" in blocks:
                        r = film(blocks["layer1x1_post_film"], r)
                    y = y[..., layer.shrink :] + r
                head = a if head is None else head[..., -n:] + a
            assert head is not None
            head = array.head_rechannel(head)
        assert head is not None
        return self.head_scale * head[:, 0]


class ConditionedLSTM(KnobModel):
    """GuitarML's conditioned LSTM: ``y = lin(LSTM([x; knobs])) (+ x with skip)``; names match its JSON."""

    family = "knob_lstm"

    def __init__(self, num_knobs: int, hidden_size: int = 40, skip: bool = True, warmup: int = 1024):
        super().__init__()
        if num_knobs < 1 or hidden_size < 1 or warmup < 0:
            raise ConfigError("num_knobs and hidden_size must be ≥ 1 and warmup ≥ 0")
        self.num_knobs, self.hidden_size, self.skip, self.warmup = int(num_knobs), int(hidden_size), bool(skip), int(warmup)
        self.rec = nn.LSTM(1 + num_knobs, hidden_size, batch_first=True)
        self.lin = nn.Linear(hidden_size, 1)

    @property
    def receptive_field(self) -> int:
        return self.warmup + 1

    def config(self) -> dict[str, Any]:
        return {"num_knobs": self.num_knobs, "hidden_size": self.hidden_size, "skip": self.skip,
                "warmup": self.warmup}

    def describe(self) -> str:
        return (f"knob-conditioned LSTM: {self.num_weights():,} weights, hidden {self.hidden_size}, "
                f"input_size {1 + self.num_knobs}, warm-up {self.warmup} samples")

    def forward(self, x: torch.Tensor, knobs: torch.Tensor) -> torch.Tensor:
        """``x`` ``(batch, samples)``, ``knobs`` ``(batch, k)`` or ``(batch, k, samples)`` → ``(batch, samples - warmup)``."""
        kn = _knob_signal(knobs.to(x.dtype), x).expand(-1, -1, x.shape[-1])
        inp = torch.cat([x[:, None], kn], dim=1).transpose(1, 2)
        h, _ = self.rec(inp)
        y = self.lin(h)[..., 0]
        if self.skip:
            y = y + x
        return y[:, self.warmup :]


KNOB_FAMILIES: dict[str, type[KnobModel]] = {"knob_nam": ConditionedWaveNet, "knob_lstm": ConditionedLSTM}
#: Short names for :func:`build_knob_model`.
KINDS = ("concat", "film", "concat+film", "lstm")


def build_knob_model(kind: str, num_knobs: int, **kwargs: Any) -> KnobModel:
    """``concat`` / ``film`` → :class:`ConditionedWaveNet` with that mechanism; ``concat+film`` → concat routing
    plus FiLM (at :data:`DEFAULT_FILM` unless ``film_positions`` says); ``lstm`` → :class:`ConditionedLSTM`."""
    if kind == "concat+film":
        kwargs["film_positions"] = kwargs.get("film_positions") or DEFAULT_FILM
        return ConditionedWaveNet(num_knobs, "concat", **kwargs)
    if kind in MECHANISMS:
        return ConditionedWaveNet(num_knobs, kind, **kwargs)
    if kind == "lstm":
        return ConditionedLSTM(num_knobs, **kwargs)
    raise ConfigError(f"unknown conditioned model kind {kind!r}; choose one of {KINDS}")


def knob_model_from_config(family: str, config: dict[str, Any]) -> KnobModel:
    """Rebuild a conditioned model from ``(model.family, model.config())``."""
    if family not in KNOB_FAMILIES:
        raise ConfigError(f"unknown conditioned model family {family!r}; choose one of {sorted(KNOB_FAMILIES)}")
    if family == "knob_nam" and "film_positions" not in config:  # written before FiLM positions were chosen
        config = {**config, "film_positions": LEGACY_FILM if config.get("mechanism") == "film" else ()}
    return KNOB_FAMILIES[family](**config)


def load_knob_model(path: str | Path) -> tuple[KnobModel, dict[str, Any]]:
    """Rebuild a conditioned model from a checkpoint written by :func:`helpers.knobs.train.train_knobs`."""
    from helpers.training import read_checkpoint

    payload = read_checkpoint(path, kind="knobs")
    if "film_hidden" in (payload.get("config") or {}):
        raise CheckpointError(f"{path}: a FiLM model of the earlier course version (a knob MLP, which NAM's .nam "
                              "format cannot hold); retrain it (notebook 05 or train_knobs): FiLM is now NAM's own "
                              "linear FiLM block")
    try:
        model = knob_model_from_config(payload["family"], payload["config"])
        model.load_state_dict(payload["state_dict"])
    except (KeyError, ValueError, RuntimeError, TypeError) as exc:
        raise CheckpointError(f"{path}: not a loadable knob-conditioned model ({exc})") from exc
    model.eval()
    return model, payload


@torch.no_grad()
def predict(model: KnobModel, x: np.ndarray, knobs: np.ndarray, chunk: int = 131_072) -> np.ndarray:
    """Run ``model`` over ``x`` ``(samples,)`` with encoded ``knobs`` ``(k,)`` or ``(k, samples)`` and zero
    history before the start; returns ``(samples,)`` float32. WaveNets run in chunks; the LSTM in one pass."""
    device = next(model.parameters()).device
    xs = np.asarray(x, dtype=np.float32)
    kn = np.asarray(knobs, dtype=np.float32)
    was_training = model.training
    model.eval()
    try:
        if isinstance(model, ConditionedLSTM) or len(xs) <= chunk:
            y = model.process(torch.from_numpy(xs).to(device), knobs=torch.from_numpy(kn).to(device))
            return y.float().cpu().numpy()
        lead = model.receptive_field - 1
        xp = np.concatenate([np.zeros(lead, dtype=np.float32), xs])
        if kn.ndim == 2:
            kn = np.concatenate([np.repeat(kn[:, :1], lead, axis=1), kn], axis=1)
        out = np.empty(len(xs), dtype=np.float32)
        for start in range(0, len(xs), chunk):
            end = min(start + chunk, len(xs))
            seg = torch.from_numpy(xp[start : end + lead]).to(device)[None]
            k = kn[:, start : end + lead] if kn.ndim == 2 else kn
            out[start:end] = model(seg, torch.from_numpy(np.ascontiguousarray(k)).to(device)[None])[0].cpu().numpy()
        return out
    finally:
        model.train(was_training)
