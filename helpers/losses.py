"""Losses and figures of merit for amp modelling, one class per loss (in the style of auraloss).

Every loss takes ``(prediction, target)`` of shape ``(batch, samples)`` (or ``(samples,)``) and
returns a scalar tensor. ESR values are ratios (0 = perfect, 1 = as bad as predicting silence).
"""

from __future__ import annotations

import torch
from torch import nn

from helpers.errors import ConfigError

#: NAM's multi-resolution STFT settings: FFT sizes, hops and window lengths (samples).
NAM_MRSTFT = {"fft_sizes": (1024, 2048, 512), "hop_sizes": (120, 240, 50), "win_lengths": (600, 1200, 240)}


def _2d(x: torch.Tensor) -> torch.Tensor:
    return x[None] if x.ndim == 1 else x


class ESRLoss(nn.Module):
    """Error-to-signal ratio ``Σ(y−ŷ)² / Σy²`` per item, averaged over the batch."""

    def __init__(self, eps: float = 1e-10):
        super().__init__()
        self.eps = eps

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pred, target = _2d(pred), _2d(target)
        num = (target - pred).pow(2).sum(-1)
        den = target.pow(2).sum(-1) + self.eps
        return (num / den).mean()


class MSELoss(nn.Module):
    """Mean squared error over every sample of the batch: proportional to the ESR of the batch as one signal.

    Unlike :class:`ESRLoss` (a ratio per crop), a quiet crop does not weigh more than a loud one, so training
    optimises the same quantity as the whole-signal ESR that selects and judges models (NAM trains on it too).
    """

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return (pred - target).pow(2).mean()


class PreEmphasisFilter(nn.Module):
    """First-order high-pass ``y[n] − a·y[n−1]`` (the output is one sample shorter: no invented y[−1])."""

    def __init__(self, coefficient: float = 0.85):
        super().__init__()
        if not 0.0 <= coefficient < 1.0:
            raise ConfigError(f"pre-emphasis coefficient must be in [0, 1), got {coefficient}; NAM uses 0.85")
        self.coefficient = coefficient

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., 1:] - self.coefficient * x[..., :-1]


class PreEmphasisESRLoss(nn.Module):
    """ESR after the same pre-emphasis filter on prediction and target (weights high frequencies)."""

    def __init__(self, coefficient: float = 0.85, eps: float = 1e-10):
        super().__init__()
        self.filter = PreEmphasisFilter(coefficient)
        self.esr = ESRLoss(eps)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.esr(self.filter(pred), self.filter(target))


class DCLoss(nn.Module):
    """Squared difference of the means relative to the target's power: ``(ȳ − ŷ̄)² / mean(y²)``."""

    def __init__(self, eps: float = 1e-10):
        super().__init__()
        self.eps = eps

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pred, target = _2d(pred), _2d(target)
        num = (target.mean(-1) - pred.mean(-1)).pow(2)
        return (num / (target.pow(2).mean(-1) + self.eps)).mean()


class STFTLoss(nn.Module):
    """Spectral convergence + log-magnitude L1 at one resolution (Yamamoto et al., Parallel WaveGAN)."""

    window: torch.Tensor  # a buffer (registered in __init__), declared for type checkers

    def __init__(self, fft_size: int = 1024, hop_size: int = 120, win_length: int = 600, eps: float = 1e-7):
        super().__init__()
        self.fft_size, self.hop_size, self.win_length, self.eps = fft_size, hop_size, win_length, eps
        self.register_buffer("window", torch.hann_window(win_length), persistent=False)

    def magnitude(self, x: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(_2d(x), self.fft_size, self.hop_size, self.win_length, self.window.to(x.device),
                          return_complex=True)
        return spec.abs().clamp_min(self.eps)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        p, t = self.magnitude(pred), self.magnitude(target)
        convergence = torch.linalg.norm(t - p, dim=(-2, -1)) / torch.linalg.norm(t, dim=(-2, -1))
        log_mag = (t.log() - p.log()).abs().mean(dim=(-2, -1))
        return (convergence + log_mag).mean()


class MultiResolutionSTFTLoss(nn.Module):
    """Mean of :class:`STFTLoss` over several resolutions (default: NAM's three)."""

    def __init__(self, fft_sizes=NAM_MRSTFT["fft_sizes"], hop_sizes=NAM_MRSTFT["hop_sizes"],
                 win_lengths=NAM_MRSTFT["win_lengths"]):
        super().__init__()
        self.losses = nn.ModuleList(STFTLoss(f, h, w) for f, h, w in zip(fft_sizes, hop_sizes, win_lengths))

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.stack([loss(pred, target) for loss in self.losses]).mean()


LOSSES: dict[str, type[nn.Module]] = {
    "mse": MSELoss, "esr": ESRLoss, "pre_esr": PreEmphasisESRLoss, "mrstft": MultiResolutionSTFTLoss, "dc": DCLoss,
}


class CombinedLoss(nn.Module):
    """Weighted sum of named losses, e.g. ``CombinedLoss({"pre_esr": 1.0, "mrstft": 2e-4})``.

    :meth:`parts` returns each term separately for logging.
    """

    def __init__(self, weights: dict[str, float], pre_emphasis: float = 0.85):
        super().__init__()
        unknown = set(weights) - set(LOSSES)
        if unknown or not weights:
            raise ConfigError(f"unknown loss name(s) {sorted(unknown)} or no loss at all; weight one or more of "
                              f"{sorted(LOSSES)}")
        self.weights = dict(weights)
        self.terms = nn.ModuleDict(
            {k: (PreEmphasisESRLoss(pre_emphasis) if k == "pre_esr" else LOSSES[k]()) for k in weights}
        )

    def parts(self, pred: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        return {k: term(pred, target) for k, term in self.terms.items()}

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        parts = self.parts(pred, target)
        return sum(self.weights[k] * v for k, v in parts.items())  # type: ignore[return-value]


def esr(pred, target) -> float:
    """Plain ESR of two 1-D signals (NumPy arrays or tensors), as a float."""
    p, t = torch.as_tensor(pred, dtype=torch.float64), torch.as_tensor(target, dtype=torch.float64)
    return float(ESRLoss(eps=0.0)(p, t))


def pre_emphasis_esr(pred, target, coefficient: float = 0.85) -> float:
    """Pre-emphasised ESR of two 1-D signals, as a float."""
    p, t = torch.as_tensor(pred, dtype=torch.float64), torch.as_tensor(target, dtype=torch.float64)
    return float(PreEmphasisESRLoss(coefficient, eps=0.0)(p, t))
