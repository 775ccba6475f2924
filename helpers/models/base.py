"""What every amp model in the course shares: causality, a receptive field, a config that rebuilds it."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import torch
from torch import nn

from helpers.errors import DataError

ModuleT = TypeVar("ModuleT", bound=nn.Module)


class CausalModel(nn.Module):
    """A causal mono audio model.

    ``forward(x)`` takes ``(batch, samples)`` and returns ``(batch, samples - receptive_field + 1)``:
    output sample ``t`` depends on input samples ``t .. t + receptive_field - 1`` only (no padding,
    so training never sees invented zeros). :meth:`process` pads the start with zeros and returns
    as many samples as it was given, like a plugin would.
    """

    #: Registry name of the model family (``"nam"``, ``"gated"``, ``"tcn"``, …).
    family: ClassVar[str] = ""

    @property
    def receptive_field(self) -> int:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """Keyword arguments that rebuild this architecture (saved in checkpoints)."""
        raise NotImplementedError

    def num_weights(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def process(self, x: torch.Tensor, pad_start: bool = True) -> torch.Tensor:
        """Run on ``(samples,)`` or ``(batch, samples)``; with ``pad_start`` the output has the input's length."""
        squeeze = x.ndim == 1
        if squeeze:
            x = x[None]
        if pad_start:
            x = nn.functional.pad(x, (self.receptive_field - 1, 0))
        elif x.shape[-1] < self.receptive_field:
            raise DataError(f"need at least {self.receptive_field} samples (the receptive field), got {x.shape[-1]}; "
                            "pass a longer signal or pad_start=True")
        y = self(x)
        return y[0] if squeeze else y

    def describe(self) -> str:
        """One line: family, weights, receptive field in samples and ms at 48 kHz."""
        rf = self.receptive_field
        return f"{self.family} model: {self.num_weights():,} weights, receptive field {rf} samples ({rf / 48:.1f} ms at 48 kHz)"


def modules_of(modules: nn.ModuleList, kind: type[ModuleT]) -> list[ModuleT]:
    """The items of ``modules``, each checked to be a ``kind``, as a typed list.

    A type checker sees the items of an ``nn.ModuleList`` as plain ``nn.Module`` (whose attributes are
    ``Tensor | Module``); this gives code that reads their weights the real type.
    """
    items = [m for m in modules if isinstance(m, kind)]
    if len(items) != len(modules):
        raise TypeError(f"expected only {kind.__name__} modules, got {[type(m).__name__ for m in modules]}")
    return items
