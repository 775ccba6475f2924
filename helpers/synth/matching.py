"""Uses of a trained proxy: sound matching without rendering in the loop, and a 2-D map of presets.

Sound matching: embed the target sound once with the teacher, predict the embedding of every candidate
preset with the encoder (no synth involved: that is what makes the proxy fast), keep the ``k`` nearest
by L1 distance and render only those.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from helpers.synth.dataset import EmbeddingNormalizer
from helpers.synth.evaluate import predict
from helpers.synth.synth import Synthesizer
from helpers.synth.teacher import AudioEmbedder


@dataclass
class Match:
    """The ``k`` best candidates for one target, best first."""

    indices: torch.Tensor  # (k,) rows of the candidate presets
    proxy_distance: torch.Tensor  # (k,) L1 distance, predicted embedding ↔ target embedding
    presets: torch.Tensor  # (k, P)
    audio: torch.Tensor  # (k, n) the rendered matches
    true_distance: torch.Tensor  # (k,) L1 distance, teacher embedding of the rendered match ↔ target


def target_embedding(audio: torch.Tensor, teacher: AudioEmbedder, normalizer: EmbeddingNormalizer) -> torch.Tensor:
    """Normalised teacher embedding ``(D,)`` of one target sound ``(n,)`` (or ``(1, n)``)."""
    return normalizer(teacher(audio.reshape(1, -1)))[0]


def search_presets(model: nn.Module, target: torch.Tensor, candidates: torch.Tensor, k: int = 5, *,
                   candidate_embeddings: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices and L1 distances of the ``k`` candidate presets ``(M, P)`` whose predicted embedding is nearest
    to ``target`` ``(D,)``. Pass ``candidate_embeddings`` ``(M, D)`` to reuse predictions across searches."""
    pred = candidate_embeddings if candidate_embeddings is not None else predict(model, candidates)
    dist = (pred - target.unsqueeze(0)).abs().sum(dim=1)
    k = min(k, len(dist))
    best = torch.topk(dist, k, largest=False)
    return best.indices, best.values


def match_sound(target_audio: torch.Tensor, model: nn.Module, teacher: AudioEmbedder, normalizer: EmbeddingNormalizer,
                synth: Synthesizer, candidates: torch.Tensor, k: int = 5, *,
                candidate_embeddings: torch.Tensor | None = None) -> Match:
    """Find presets that sound like ``target_audio`` ``(n,)`` among ``candidates`` and render the ``k`` best."""
    target = target_embedding(target_audio, teacher, normalizer)
    idx, proxy_d = search_presets(model, target, candidates, k, candidate_embeddings=candidate_embeddings)
    presets = candidates[idx]
    audio = synth.render(presets)
    true_d = (normalizer(teacher(audio)) - target.unsqueeze(0)).abs().sum(dim=1)
    return Match(idx, proxy_d, presets, audio, true_d)


def pca_2d(x: torch.Tensor) -> np.ndarray:
    """Project ``(N, D)`` points on their first two principal components → ``(N, 2)``.

    Plain SVD of the centred data: two components need no extra dependency; signs are fixed so that the
    largest loading of each component is positive (the map does not flip between runs).
    """
    a = x.double().numpy()
    a = a - a.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(a, full_matrices=False)
    comps = vt[:2]
    signs = np.sign(comps[np.arange(2), np.abs(comps).argmax(axis=1)])
    return a @ (comps * signs[:, None]).T


def plot_map(xy: np.ndarray, colour: np.ndarray | list, title: str, *, categorical: list[str] | None = None, ax=None):
    """Scatter ``(N, 2)`` points coloured by a parameter value (numerical) or choice index (with ``categorical`` names)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    colour = np.asarray(colour)
    if categorical:
        for i, name in enumerate(categorical):
            sel = colour == i
            ax.scatter(xy[sel, 0], xy[sel, 1], s=8, alpha=0.7, label=name)
        ax.legend(markerscale=2, fontsize=8)
    else:
        points = ax.scatter(xy[:, 0], xy[:, 1], c=colour, s=8, alpha=0.7, cmap="viridis")
        ax.figure.colorbar(points, ax=ax)
    ax.set(title=title, xlabel="PC 1", ylabel="PC 2")
    return ax
