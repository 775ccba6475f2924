"""The Neural Amp Modeler WaveNet ("A1" layout of .nam files 0.5.x), layer for layer.

Structure (NeuralAmpModelerCore ``NAM/wavenet``, and the ``neural-amp-modeler`` trainer): a stack of
*layer arrays*. Each array re-channels its input with a 1×1 conv (no bias), then runs dilated layers::

    z = conv_d(x) + mixer(c)            # c = the raw input signal (the "condition"), 1×1 mixer, no bias
    a = act(z)                          # tanh, ReLU or sigmoid (gated: act(top) · sigmoid(bottom))
    x = x + conv1x1(a)                  # residual
    head += a                           # accumulated skip ("head") signal

and finishes with a 1×1 head re-channel. The next array takes the residual stream as input and the
previous head output as its head accumulator's start. The model output is ``head_scale · head``.
All convolutions are "valid" (no padding), so the output is ``receptive_field - 1`` samples shorter.
The last layer's residual 1×1 conv exists in the file format but feeds nothing; it is not computed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from helpers.models.base import CausalModel, modules_of

#: The activations a layer array may name (``LayerArrayConfig.activation``), as the .nam file spells them.
ACTIVATIONS = {"Tanh": torch.tanh, "ReLU": torch.relu, "Sigmoid": torch.sigmoid}


@dataclass
class LayerArrayConfig:
    """One layer array, with the field names of the .nam file."""

    input_size: int
    condition_size: int
    head_size: int
    channels: int
    kernel_size: int
    dilations: list[int]
    activation: str = "Tanh"
    gated: bool = False
    head_bias: bool = False


def _dilations_lite() -> tuple[list[int], list[int]]:
    return [1, 2, 4, 8, 16, 32, 64], [128, 256, 512, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512]


def _preset(ch1: int, ch2: int, head: int, d1: list[int], d2: list[int]) -> list[LayerArrayConfig]:
    return [
        LayerArrayConfig(1, 1, ch2, ch1, 3, d1, head_bias=False),
        LayerArrayConfig(ch1, 1, head, ch2, 3, d2, head_bias=True),
    ]


_D = [2**i for i in range(10)]
#: The trainer's standard architectures (weights: 842 / 3,026 / 6,554 / 13,802; receptive field 4,093).
PRESETS: dict[str, list[LayerArrayConfig]] = {
    "standard": _preset(16, 8, 1, _D, _D),
    "lite": _preset(12, 6, 1, *_dilations_lite()),
    "feather": _preset(8, 4, 1, *_dilations_lite()),
    "nano": _preset(4, 2, 1, *_dilations_lite()),
}


class DilatedLayer(nn.Module):
    """One layer of an array: dilated conv plus input mixer, activation, residual 1×1 conv."""

    def __init__(self, cfg: LayerArrayConfig, dilation: int):
        super().__init__()
        mid = 2 * cfg.channels if cfg.gated else cfg.channels
        self.conv = nn.Conv1d(cfg.channels, mid, cfg.kernel_size, dilation=dilation, bias=True)
        self.input_mixer = nn.Conv1d(cfg.condition_size, mid, 1, bias=False)
        self.layer1x1 = nn.Conv1d(cfg.channels, cfg.channels, 1, bias=True)
        self.channels = cfg.channels
        self.gated = cfg.gated
        self.activation = ACTIVATIONS[cfg.activation]
        self.shrink = dilation * (cfg.kernel_size - 1)

    def forward(self, x: torch.Tensor, c: torch.Tensor, residual: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.conv(x)
        z = z + self.input_mixer(c[..., -z.shape[-1]:])
        if self.gated:
            a = self.activation(z[:, : self.channels]) * torch.sigmoid(z[:, self.channels :])  # as NAM gates
        else:
            a = self.activation(z)
        return (x[..., self.shrink :] + self.layer1x1(a) if residual else x), a


class LayerArray(nn.Module):
    """A re-channel, a run of dilated layers, and a head re-channel."""

    def __init__(self, cfg: LayerArrayConfig):
        super().__init__()
        self.cfg = cfg
        self.rechannel = nn.Conv1d(cfg.input_size, cfg.channels, 1, bias=False)
        self.layers = nn.ModuleList(DilatedLayer(cfg, d) for d in cfg.dilations)
        self.head_rechannel = nn.Conv1d(cfg.channels, cfg.head_size, 1, bias=cfg.head_bias)

    @property
    def dilated_layers(self) -> list[DilatedLayer]:
        """:attr:`layers` as a typed list (see :func:`~helpers.models.base.modules_of`)."""
        return modules_of(self.layers, DilatedLayer)

    @property
    def receptive_field(self) -> int:
        return 1 + (self.cfg.kernel_size - 1) * sum(self.cfg.dilations)

    def forward(
        self, x: torch.Tensor, c: torch.Tensor, head: torch.Tensor | None, final: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``final``: this is the model's last array, whose last residual output nobody reads (skip it)."""
        x = self.rechannel(x)
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x, a = layer(x, c, residual=not (final and i == last))
            head = a if head is None else head[..., -a.shape[-1]:] + a
        assert head is not None
        return self.head_rechannel(head), x


class NAMWaveNet(CausalModel):
    """NAM-compatible WaveNet. Build from a preset name or a list of layer-array configs."""

    family = "nam"

    def __init__(self, preset: str | None = "standard", layers: list[dict[str, Any]] | None = None,
                 head_scale: float = 0.02):
        super().__init__()
        if layers is None:
            if preset not in PRESETS:
                raise ValueError(f"unknown NAM preset {preset!r}; choose one of {sorted(PRESETS)}")
            cfgs = PRESETS[preset]
        else:
            cfgs = [c if isinstance(c, LayerArrayConfig) else LayerArrayConfig(**c) for c in layers]
        # The preset name is kept as a label only while the layers are the preset's own.
        self.preset = preset if preset in PRESETS and [asdict(c) for c in cfgs] == [asdict(c) for c in PRESETS[preset]] else None
        self.layer_cfgs = [LayerArrayConfig(**asdict(c)) for c in cfgs]
        self.arrays = nn.ModuleList(LayerArray(c) for c in self.layer_cfgs)
        self.head_scale = float(head_scale)

    @property
    def layer_arrays(self) -> list[LayerArray]:
        """:attr:`arrays` as a typed list (see :func:`~helpers.models.base.modules_of`)."""
        return modules_of(self.arrays, LayerArray)

    @property
    def receptive_field(self) -> int:
        return 1 + sum(a.receptive_field - 1 for a in self.layer_arrays)

    def nam_weight_count(self) -> int:
        """Length of the flat ``weights`` list of the .nam file: every parameter plus ``head_scale``."""
        return self.num_weights() + 1

    def describe(self) -> str:
        return super().describe().replace(" weights", f" weights ({self.nam_weight_count():,} in the .nam file)", 1)

    def config(self) -> dict[str, Any]:
        return {"preset": self.preset, "layers": [asdict(c) for c in self.layer_cfgs], "head_scale": self.head_scale}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, samples)`` → ``(batch, samples - receptive_field + 1)``."""
        c = x[:, None]
        y, head = c, None
        for i, array in enumerate(self.arrays):
            head, y = array(y, c, head, final=i == len(self.arrays) - 1)
        assert head is not None  # a model has at least one layer array
        return self.head_scale * head[:, 0]


def preset_table() -> list[dict[str, Any]]:
    """Size of every preset of every model family (notebook 02's table): weights (for NAM the length of the
    .nam file's ``weights`` list, which the format fixes) and receptive field in samples and in ms at 48 kHz."""
    from helpers import models  # the package imports this module, so it is read at call time

    rows = []
    for family, presets in models.PRESETS.items():
        for name in presets:
            m = models.build_model(family, name)
            n = m.nam_weight_count() if isinstance(m, NAMWaveNet) else m.num_weights()
            rows.append({"family": family, "preset": name, "weights": n, "receptive field (samples)": m.receptive_field,
                         "receptive field (ms @48k)": round(m.receptive_field / 48, 1)})
    return rows
