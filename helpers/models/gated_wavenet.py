"""Gated WaveNet as in PedalNetRT / AmpEmulatorModel / SmartGuitarAmp (the WaveNetVA runtime's model).

    x0 = in1x1(x)                                   # 1 → C channels, bias
    for each layer (dilations 1, 2, …, 2^(depth-1), repeated):
        h = conv_d(x)                               # C → 2C, kernel k, dilation d, bias
        g = tanh(h[:C]) · sigmoid(h[C:])            # gated activation
        skips.append(g)
        x = res1x1(g) + x                           # C → C, bias
    y = mix(concat(skips))                          # C·L → 1, bias

Convolutions are "valid" (no padding): the output is ``receptive_field - 1`` samples shorter.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from helpers.errors import ConfigError
from helpers.models.base import CausalModel

#: Named sizes (PedalNetRT's defaults are 16 channels, depth 10, 1 repeat, kernel 3 in SmartGuitarAmp).
PRESETS: dict[str, dict[str, int]] = {
    "pedalnet": {"channels": 16, "dilation_depth": 10, "num_repeat": 1, "kernel_size": 3},
    "small": {"channels": 8, "dilation_depth": 9, "num_repeat": 1, "kernel_size": 3},
    "large": {"channels": 16, "dilation_depth": 10, "num_repeat": 2, "kernel_size": 3},
}


class GatedWaveNet(CausalModel):
    """Gated WaveNet with concatenated skips and a 1×1 output mix."""

    family = "gated"

    def __init__(self, channels: int = 16, dilation_depth: int = 10, num_repeat: int = 1, kernel_size: int = 3):
        super().__init__()
        if min(channels, dilation_depth, num_repeat) < 1 or kernel_size < 2:
            raise ConfigError(f"channels ({channels}), dilation_depth ({dilation_depth}) and num_repeat ({num_repeat}) "
                              f"must be ≥ 1 and kernel_size ({kernel_size}) ≥ 2")
        self.channels, self.kernel_size = channels, kernel_size
        self.dilation_depth, self.num_repeat = dilation_depth, num_repeat
        self.dilations = [2**d for d in range(dilation_depth)] * num_repeat
        self.input_layer = nn.Conv1d(1, channels, 1)
        self.hidden = nn.ModuleList(nn.Conv1d(channels, 2 * channels, kernel_size, dilation=d) for d in self.dilations)
        self.residuals = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in self.dilations)
        self.linear_mix = nn.Conv1d(channels * len(self.dilations), 1, 1)

    @property
    def receptive_field(self) -> int:
        return 1 + (self.kernel_size - 1) * sum(self.dilations)

    def config(self) -> dict[str, Any]:
        return {"channels": self.channels, "dilation_depth": self.dilation_depth, "num_repeat": self.num_repeat,
                "kernel_size": self.kernel_size}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, samples)`` → ``(batch, samples - receptive_field + 1)``."""
        out = self.input_layer(x[:, None])
        skips = []
        for hidden, residual in zip(self.hidden, self.residuals):
            h = hidden(out)
            g = torch.tanh(h[:, : self.channels]) * torch.sigmoid(h[:, self.channels :])
            skips.append(g)
            out = residual(g) + out[..., -g.shape[-1]:]
        n = out.shape[-1]
        return self.linear_mix(torch.cat([s[..., -n:] for s in skips], dim=1))[:, 0]
