"""Sequential causal TCN: dilated causal Conv1D → activation blocks, then a per-sample dense layer.

Purely sequential (no residual or skip paths), so a sequential real-time runtime such as RTNeural
can load it layer by layer. Activations: ``prelu`` (one slope per channel, learned) or ``tanh``
(smooth saturation, good for edge-of-breakup sounds).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from helpers.errors import ConfigError
from helpers.models.base import CausalModel

#: Named configurations: channels, kernel, dilations, activation.
PRESETS: dict[str, dict[str, Any]] = {
    "balanced": {"channels": 16, "kernel_size": 3, "dilations": [2**i for i in range(10)], "activation": "prelu"},
    "quality": {"channels": 24, "kernel_size": 3, "dilations": [2**i for i in range(10)] * 2, "activation": "prelu"},
    "edge_of_breakup": {"channels": 8, "kernel_size": 3, "dilations": [2**i for i in range(8)], "activation": "tanh"},
    "high_gain": {"channels": 16, "kernel_size": 3, "dilations": [2**i for i in range(11)], "activation": "prelu"},
}


class SequentialTCN(CausalModel):
    """Conv1d(in→C, k, d) → act, repeated per dilation; Dense(C→1) on every sample."""

    family = "tcn"

    def __init__(self, channels: int = 16, kernel_size: int = 3, dilations: list[int] | None = None,
                 activation: str = "prelu"):
        super().__init__()
        if activation not in ("prelu", "tanh"):
            raise ConfigError(f"activation must be 'prelu' or 'tanh', not {activation!r}")
        self.channels, self.kernel_size, self.activation = channels, kernel_size, activation
        self.dilations = list(dilations or [2**i for i in range(10)])
        self.convs = nn.ModuleList(
            nn.Conv1d(1 if i == 0 else channels, channels, kernel_size, dilation=d) for i, d in enumerate(self.dilations)
        )
        self.acts = nn.ModuleList(
            nn.PReLU(channels, init=0.25) if activation == "prelu" else nn.Tanh() for _ in self.dilations
        )
        self.dense = nn.Conv1d(channels, 1, 1)  # a time-distributed dense layer

    @property
    def receptive_field(self) -> int:
        return 1 + (self.kernel_size - 1) * sum(self.dilations)

    def config(self) -> dict[str, Any]:
        return {"channels": self.channels, "kernel_size": self.kernel_size, "dilations": self.dilations,
                "activation": self.activation}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, samples)`` → ``(batch, samples - receptive_field + 1)``."""
        h = x[:, None]
        for conv, act in zip(self.convs, self.acts):
            h = act(conv(h))
        return self.dense(h)[:, 0]
