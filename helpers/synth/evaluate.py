"""How well a preset encoder predicts the teacher's embedding: mean reciprocal rank (MRR), top-k MRR, L1.

MRR (as in the paper): for each of ``N`` targets, the ``N`` teacher embeddings of a block of presets are the
candidates; they are ranked by L1 distance to the encoder's prediction for the target preset, and the rank
of the target's own teacher embedding is recorded. ``MRR = mean(1 / rank)``: 1.0 when every prediction is
closest to its own sound, about ``ln(N) / N`` for a random encoder.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from helpers.errors import DataError
from helpers.synth.dataset import EmbeddingNormalizer, PresetDataset


def l1_distances(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 distance of every prediction to every candidate: ``out[q, c] = sum_d |pred[q, d] - target[c, d]|``.

    Args:
        pred: ``(Q, D)`` predicted embeddings (the queries); target: ``(C, D)`` true embeddings (the candidates).

    Returns:
        ``(Q, C)`` float64 distances, summed (not averaged) over the ``D`` embedding dimensions.
    """
    return torch.cdist(pred.double(), target.double(), p=1)


def ranks_from_distances(dist: torch.Tensor) -> torch.Tensor:
    """Rank (1 = closest) of candidate ``i`` for query ``i``, from a ``(Q, C)`` distance matrix with ``Q <= C``.

    Returns:
        ``(Q,)`` long ranks in 1..C. Ties count in the correct candidate's favour: rank = 1 + the number of
        candidates *strictly* closer than it (a candidate exactly as close does not push it down).
    """
    if dist.ndim != 2 or dist.shape[1] < dist.shape[0]:
        raise DataError(f"expected a (queries, candidates) distance matrix with at least as many candidates as "
                        f"queries; got shape {tuple(dist.shape)}")
    q = torch.arange(dist.shape[0])
    own = dist[q, q].unsqueeze(1)
    return 1 + (dist < own).sum(dim=1)


def mean_reciprocal_rank(dist: torch.Tensor) -> float:
    """``mean(1 / rank)`` over the queries of a ``(Q, C)`` distance matrix (see :func:`ranks_from_distances`)."""
    return float((1.0 / ranks_from_distances(dist).double()).mean())


def ranks(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Rank (1 = best) of ``target[i]`` among all rows of ``target`` by L1 distance to ``pred[i]``.

    Args:
        pred: ``(N, D)`` predicted embeddings; target: ``(N, D)`` true embeddings (row ``i`` belongs to ``pred[i]``).

    Returns:
        ``(N,)`` long ranks in 1..N. Ties count in the target's favour (rank = 1 + number strictly closer).
    """
    if pred.shape != target.shape or pred.ndim != 2:
        raise DataError(f"pred and target must both be (N, D); got {tuple(pred.shape)} and {tuple(target.shape)}; "
                        "pass one row per preset for both")
    return ranks_from_distances(l1_distances(pred, target))


def reciprocal_ranks(pred: torch.Tensor, target: torch.Tensor, n_candidates: int | None = None) -> torch.Tensor:
    """``1 / rank`` per target, ranking within consecutive blocks of ``n_candidates`` rows (all rows if None).

    A last block shorter than ``n_candidates`` is dropped (its MRR would not be comparable), unless it is
    the only block.
    """
    n = pred.shape[0]
    size = n if n_candidates is None or n_candidates >= n else n_candidates
    if size < 2:
        raise DataError(f"need at least 2 candidates to rank, got {size}; evaluate on more presets or a larger "
                        "n_candidates")
    out = [1.0 / ranks(pred[s:s + size], target[s:s + size]).double() for s in range(0, n - size + 1, size)]
    return torch.cat(out)


def mrr(pred: torch.Tensor, target: torch.Tensor, n_candidates: int | None = None) -> float:
    """Mean reciprocal rank (see the module docstring)."""
    return float(reciprocal_ranks(pred, target, n_candidates).mean())


def top_k_mrr(pred: torch.Tensor, target: torch.Tensor, k: int, n_candidates: int | None = None) -> float:
    """MRR where ranks beyond ``k`` score 0 (only the top-k list a user would look at counts)."""
    rr = reciprocal_ranks(pred, target, n_candidates)
    return float(torch.where(rr >= 1.0 / k - 1e-12, rr, torch.zeros_like(rr)).mean())


def l1_error(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Mean absolute error between predicted and true embeddings (normalised units)."""
    return float((pred - target).abs().mean())


def random_mrr(n_candidates: int) -> float:
    """Expected MRR of a random ranking among ``n_candidates``: ``H(N) / N``."""
    return sum(1.0 / r for r in range(1, n_candidates + 1)) / n_candidates


@torch.no_grad()
def predict(model: nn.Module, presets: torch.Tensor, batch_size: int = 512, device: str = "cpu") -> torch.Tensor:
    """Encoder outputs ``(N, D)`` for ``(N, P)`` presets, in evaluation mode, batched."""
    model.eval()
    outs = [model(presets[s:s + batch_size].to(device)).cpu() for s in range(0, len(presets), batch_size)]
    return torch.cat(outs)


def evaluate_encoder(model: nn.Module, data: PresetDataset, normalizer: EmbeddingNormalizer, *,
                     n_candidates: int = 256, ks: tuple[int, ...] = (1, 5, 10), device: str = "cpu") -> dict[str, float]:
    """MRR, top-k MRR and L1 error of ``model`` on ``data`` (in the normalised embedding space)."""
    pred = predict(model, data.presets, device=device)
    target = normalizer(data.embeddings)
    n_cand = min(n_candidates, len(data))
    out = {"mrr": mrr(pred, target, n_cand), "l1": l1_error(pred, target), "n_candidates": float(n_cand),
           "random_mrr": random_mrr(n_cand)}
    for k in ks:
        out[f"top{k}_mrr"] = top_k_mrr(pred, target, k, n_cand)
    return out


def ordering(results: dict[str, dict[str, float]], metric: str = "mrr") -> list[str]:
    """Encoder names sorted best first by ``metric`` (higher is better for MRR, lower for ``l1``)."""
    sign = 1.0 if metric == "l1" else -1.0
    return sorted(results, key=lambda name: sign * results[name][metric])


def matches_hypothesis(order: list[str], hypothesis: tuple[str, ...] = ("transformer", "bigru", "highway", "mlp")) -> bool:
    """Whether ``order`` (best first) ranks the hypothesis' encoders in the hypothesis' order."""
    present = [name for name in order if name in hypothesis]
    return present == [name for name in hypothesis if name in present]


def paired_bootstrap_ci(rr_a: torch.Tensor, rr_b: torch.Tensor, *, n_boot: int = 1000, seed: int = 0,
                        level: float = 0.95) -> tuple[float, float, float]:
    """MRR(a) − MRR(b) and its bootstrap confidence interval, from per-target reciprocal ranks of both.

    Returns:
        ``(difference, low, high)``; an interval that contains 0 means the two are not clearly different.
    """
    if rr_a.shape != rr_b.shape:
        raise ValueError("the two reciprocal-rank vectors must come from the same targets")
    gen = torch.Generator().manual_seed(seed)
    diff = (rr_a - rr_b).double()
    idx = torch.randint(0, len(diff), (n_boot, len(diff)), generator=gen)
    boots = diff[idx].mean(dim=1).sort().values
    lo = boots[math.floor((1 - level) / 2 * n_boot)]
    hi = boots[min(n_boot - 1, math.ceil((1 + level) / 2 * n_boot) - 1)]
    return float(diff.mean()), float(lo), float(hi)
