"""Checks for notebook 08 (neural proxies for synthesizers): how a proxy is scored.

The references are the library's own functions in :mod:`helpers.synth.evaluate` (the ones the training loop and
the evaluation table use): :func:`~helpers.synth.evaluate.l1_distances`,
:func:`~helpers.synth.evaluate.mean_reciprocal_rank` and :func:`~helpers.synth.evaluate.random_mrr`. Their rules:
distances are summed (not averaged) over the embedding dimensions; the rank of the correct candidate is
``1 + the number of candidates strictly closer`` (rank 1 = closest; a candidate exactly as close as the correct
one does not push it down).

    from helpers.checks.synth import check_l1_distances, check_mean_reciprocal_rank, check_chance_mrr
    check_l1_distances(l1_distances)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from helpers.checks.core import Case, CheckResult, Mistake, close, run_check
from helpers.synth import evaluate

__all__ = ["check_chance_mrr", "check_l1_distances", "check_mean_reciprocal_rank"]


def _t(x: Any) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=torch.float32)


def _diff(pred: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``(Q, C, D)`` differences ``pred[q] - targets[c]`` in float64."""
    return pred.double()[:, None, :] - targets.double()[None, :, :]


# -- Exercise 1: the L1 distance matrix --------------------------------------------------------------------------

_L1_MISTAKES = [
    Mistake("your matrix is transposed: it is (candidates, queries). Row q must hold the distances from prediction "
            "q to every candidate, so put the predictions on the first axis: pred[:, None, :] - targets[None, :, :]",
            lambda p, t: evaluate.l1_distances(p, t).T),
    Mistake("that is the Euclidean (L2) distance, the square root of the summed squares. The proxy is trained and "
            "ranked with the L1 distance: sum the absolute differences, .abs().sum(dim=-1)",
            lambda p, t: _diff(p, t).pow(2).sum(-1).sqrt()),
    Mistake("that is the squared Euclidean distance (summed squares). Use the L1 distance: the sum of the absolute "
            "differences, .abs().sum(dim=-1)",
            lambda p, t: _diff(p, t).pow(2).sum(-1)),
    Mistake("you averaged over the embedding dimensions. The ranking would not change, but the distances are D "
            "times too small: the library (torch.cdist(p=1)) and the sound-matching table use the sum, "
            ".sum(dim=-1) instead of .mean(dim=-1)",
            lambda p, t: _diff(p, t).abs().mean(-1)),
    Mistake("you summed the signed differences, which cancel out (and can be negative). A distance sums the "
            "absolute differences: take .abs() before .sum(dim=-1)",
            lambda p, t: _diff(p, t).sum(-1)),
    Mistake("you summed over the candidates axis (dim 1) of the (queries, candidates, dims) differences instead "
            "of over the embedding dimensions: sum over the last axis, .sum(dim=-1)",
            lambda p, t: _diff(p, t).abs().sum(1)),
    Mistake("you computed one distance per row, prediction q to its own target q only. Ranking needs every "
            "prediction against every candidate: broadcast pred[:, None, :] against targets[None, :, :] to get a "
            "(queries, candidates) matrix",
            lambda p, t: (p.double() - t.double()).abs().sum(-1)),
]


def _l1_cases() -> list[Case]:
    rng = np.random.default_rng(0)
    same = _t(rng.normal(size=(4, 3)))
    return [
        Case("4 predictions, 4 candidates, 3 dims (random)", (_t(rng.normal(size=(4, 3))),
                                                             _t(rng.normal(size=(4, 3))))),
        Case("3 predictions, 5 candidates, 6 dims (random)", (_t(rng.normal(size=(3, 6))),
                                                             _t(rng.normal(size=(5, 6))))),
        Case("predictions equal to the candidates (zero diagonal)", (same, same.clone())),
        Case("one prediction, one candidate, one dimension", (_t([[0.5]]), _t([[-1.0]]))),
        Case("6 predictions, 6 candidates, 128 dims (like the notebook)", (_t(rng.normal(size=(6, 128))),
                                                                          _t(rng.normal(size=(6, 128))))),
    ]


def check_l1_distances(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(pred, targets)``: ``pred`` ``(queries, D)`` and ``targets`` ``(candidates, D)`` tensors →
    ``(queries, candidates)`` with ``out[q, c] = sum_d |pred[q, d] - targets[c, d]|`` (the sum over dimensions,
    as :func:`helpers.synth.evaluate.l1_distances`)."""
    return run_check("l1_distances", fn, evaluate.l1_distances, _l1_cases(), compare=close(rtol=1e-4, atol=1e-5),
                     mistakes=_L1_MISTAKES)


# -- Exercise 2: mean reciprocal rank from a distance matrix ------------------------------------------------------

def _own(d: torch.Tensor) -> torch.Tensor:
    q = torch.arange(d.shape[0])
    return d[q, q].unsqueeze(1)


def _ranks_largest_first(d: torch.Tensor) -> torch.Tensor:
    return 1 + (d > _own(d)).sum(1)


def _ranks_ties_against(d: torch.Tensor) -> torch.Tensor:
    return (d <= _own(d)).sum(1)


def _ranks_by_sorting(d: torch.Tensor) -> torch.Tensor:
    order = torch.argsort(d, dim=1, stable=True)
    return (order == torch.arange(d.shape[0])[:, None]).int().argmax(1) + 1


def _ranks_within_columns(d: torch.Tensor) -> torch.Tensor:
    q = torch.arange(d.shape[0])
    return 1 + (d[:, q] < d[q, q][None, :]).sum(0)


def _mean_rr(r: torch.Tensor) -> float:
    return float((1.0 / r.double()).mean())


_MRR_MISTAKES = [
    Mistake("your ranks start at 0 (one too small): the closest candidate has rank 1, so rank = 1 + the number of "
            "candidates strictly closer than the correct one (with argsort positions, add 1)",
            lambda d: _mean_rr(evaluate.ranks_from_distances(d) - 1)),
    Mistake("you ranked by the largest distance first. Rank 1 is the CLOSEST candidate (smallest distance): count "
            "the candidates with a smaller distance than the correct one, or sort ascending",
            lambda d: _mean_rr(_ranks_largest_first(d))),
    Mistake("you returned the mean rank. MRR is the mean of the RECIPROCAL ranks: mean(1 / rank)",
            lambda d: float(evaluate.ranks_from_distances(d).double().mean())),
    Mistake("you returned 1 / (mean rank). MRR takes the reciprocal of each rank first and then averages: "
            "mean(1 / rank), not 1 / mean(rank)",
            lambda d: 1.0 / float(evaluate.ranks_from_distances(d).double().mean())),
    Mistake("you returned the reciprocal ranks themselves; the function returns one number, their mean",
            lambda d: 1.0 / evaluate.ranks_from_distances(d).double()),
    Mistake("ties count against the correct candidate in your ranks (you counted distances <= the correct one's). "
            "The course's rule (helpers.synth.evaluate) counts only candidates STRICTLY closer: rank = 1 + "
            "(row < own distance).sum(); an equally close candidate does not push the correct one down",
            lambda d: _mean_rr(_ranks_ties_against(d))),
    Mistake("your ranks come from sorting, which breaks ties by position, so an equally close candidate with a "
            "smaller index pushes the correct one down. The course's rule counts only candidates STRICTLY closer: "
            "rank = 1 + (row < own distance).sum()",
            lambda d: _mean_rr(_ranks_by_sorting(d))),
    Mistake("you ranked within columns (query i among all queries for candidate i). Rank within ROWS: row i holds "
            "query i's distances to every candidate, and the correct candidate of query i is column i",
            lambda d: _mean_rr(_ranks_within_columns(d))),
]


def _with_ranks(rng: np.random.Generator, ranks: list[int], n_candidates: int) -> torch.Tensor:
    """A random ``(len(ranks), n_candidates)`` distance matrix where candidate ``i`` has rank ``ranks[i]`` in row
    ``i`` (no ties)."""
    rows = []
    for i, r in enumerate(ranks):
        values = np.sort(rng.uniform(0.5, 3.0, n_candidates))
        own = values[r - 1]
        others = rng.permutation(np.delete(values, r - 1))
        rows.append(np.insert(others, i, own))
    return torch.tensor(np.array(rows), dtype=torch.float64)


def _mrr_cases() -> list[Case]:
    rng = np.random.default_rng(0)
    ties = torch.tensor([[2.0, 2.0, 1.0, 3.0],    # own 2: one closer, a tie further right → rank 2
                         [1.0, 2.0, 2.0, 0.0],    # own 2: two closer, a tie further right → rank 3
                         [3.0, 1.0, 1.0, 2.0]],   # own 1: none closer, a tie further LEFT → rank 1
                        dtype=torch.float64)
    perfect = torch.tensor(rng.uniform(1.0, 2.0, (5, 5)))
    perfect.fill_diagonal_(0.1)
    return [
        Case("5 queries, none closest to its own candidate (ranks 2, 4, 3, 5, 2)",
             (_with_ranks(rng, [2, 4, 3, 5, 2], 5),)),
        Case("6 queries × 6 candidates (random)", (torch.tensor(rng.uniform(0.0, 4.0, (6, 6))),)),
        Case("3 queries, 7 candidates (random ranks 1, 6, 3)", (_with_ranks(rng, [1, 6, 3], 7),)),
        Case("every query closest to its own candidate", (perfect,)),
        Case("one query, one candidate", (torch.tensor([[0.7]], dtype=torch.float64),)),
        Case("ties: other candidates exactly as close as the correct one", (ties,)),
    ]


def check_mean_reciprocal_rank(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(distances)``: a ``(queries, candidates)`` distance matrix (the correct candidate of query ``i``
    is candidate ``i``) → ``mean(1 / rank)``, rank 1 = smallest distance, ties in the correct candidate's favour
    (rank = 1 + number strictly closer), as :func:`helpers.synth.evaluate.mean_reciprocal_rank`."""
    return run_check("mean_reciprocal_rank", fn, evaluate.mean_reciprocal_rank, _mrr_cases(),
                     compare=close(rtol=1e-6, atol=1e-9), mistakes=_MRR_MISTAKES)


# -- End-of-notebook exercise: the chance level of MRR -----------------------------------------------------------

_CHANCE_MISTAKES = [
    Mistake("1 / N is the chance that the correct candidate comes FIRST (top-1 accuracy). A random ranking gives "
            "every rank r = 1..N with probability 1/N, so the expected reciprocal rank is the mean of 1/r over "
            "r = 1..N",
            lambda n: 1.0 / n),
    Mistake("ln(N) / N is only the large-N approximation of the chance level (close for large N, not equal): "
            "compute the exact mean of 1/r for r = 1..N",
            lambda n: math.log(n) / n),
    Mistake("that is 1 / (mean rank) = 2 / (N + 1). The expected reciprocal rank is the mean of 1/r over "
            "r = 1..N, not the reciprocal of the mean rank",
            lambda n: 2.0 / (n + 1)),
    Mistake("your sum stops one rank early (range(1, n) leaves out r = N): sum 1/r for r = 1..N, "
            "range(1, n + 1)",
            lambda n: sum(1.0 / r for r in range(1, n)) / n),
    Mistake("that is the harmonic number H(N) = sum of 1/r; the MRR is its MEAN over the N equally likely "
            "ranks: divide by N",
            lambda n: sum(1.0 / r for r in range(1, n + 1))),
    Mistake("that is the expected rank (N + 1) / 2, not the expected reciprocal rank: average 1/r, not r",
            lambda n: (n + 1) / 2),
]


def check_chance_mrr(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(n_candidates)`` → the expected MRR of a random ranking among ``n_candidates`` (each rank
    1..N equally likely): ``H(N) / N``, as :func:`helpers.synth.evaluate.random_mrr`."""
    cases = [Case(f"N = {n}", (n,)) for n in (5, 1, 2, 50, 120, 256)]
    return run_check("chance_mrr", fn, evaluate.random_mrr, cases, compare=close(rtol=1e-6, atol=1e-9),
                     mistakes=_CHANCE_MISTAKES)
