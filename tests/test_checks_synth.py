"""The graded checks of notebook 08: the references pass, stubs and errors are reported plainly, and each typical
mistake (written here by hand, as a student would) gets its own hint."""

import math

import numpy as np
import pytest
import torch

from helpers.checks.synth import check_chance_mrr, check_l1_distances, check_mean_reciprocal_rank
from helpers.synth import evaluate

CHECKS = [check_l1_distances, check_mean_reciprocal_rank, check_chance_mrr]


def _fails_with(result, *words):
    assert not result, result
    text = str(result)
    for word in words:
        assert word in text, text


# -- shared behaviour ---------------------------------------------------------------------------------------------

def test_the_references_pass():
    assert check_l1_distances(evaluate.l1_distances)
    assert check_mean_reciprocal_rank(evaluate.mean_reciprocal_rank)
    assert check_chance_mrr(evaluate.random_mrr)


def test_other_correct_solutions_pass():
    def l1_float32(pred, targets):
        return (pred[:, None, :] - targets[None, :, :]).abs().sum(dim=-1)

    def mrr_numpy(distances):
        d = np.asarray(distances)
        own = d[np.arange(len(d)), np.arange(len(d))]
        ranks = 1 + (d < own[:, None]).sum(axis=1)
        return np.mean(1.0 / ranks)

    def chance_loop(n):
        return sum(1 / r for r in range(1, n + 1)) / n

    assert check_l1_distances(l1_float32)
    assert check_mean_reciprocal_rank(mrr_numpy)
    assert check_chance_mrr(chance_loop)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_a_stub_is_not_written_yet(check):
    def stub(*args):
        # YOUR CODE HERE
        raise NotImplementedError()

    _fails_with(check(stub), "not written yet")


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_an_error_in_the_students_code_names_its_line(check):
    def broken(*args):
        return args[0].no_such_method()

    result = check(broken)
    _fails_with(result, "your code raised AttributeError", "line", "no_such_method")
    assert "Traceback" not in str(result)


def test_passing_the_result_instead_of_the_function():
    _fails_with(check_l1_distances(torch.zeros(2, 2)), "expected a function")


# -- exercise 1: l1_distances -------------------------------------------------------------------------------------

def test_l1_transposed():
    def l1(pred, targets):
        return (targets[:, None, :] - pred[None, :, :]).abs().sum(-1)

    _fails_with(check_l1_distances(l1), "transposed")


def test_l1_euclidean_instead_of_l1():
    def l1(pred, targets):
        return torch.cdist(pred, targets)  # p=2 by default

    _fails_with(check_l1_distances(l1), "Euclidean (L2)")


def test_l1_squared_euclidean():
    def l1(pred, targets):
        return ((pred[:, None, :] - targets[None, :, :]) ** 2).sum(-1)

    _fails_with(check_l1_distances(l1), "squared Euclidean")


def test_l1_mean_instead_of_sum():
    def l1(pred, targets):
        return (pred[:, None, :] - targets[None, :, :]).abs().mean(-1)

    _fails_with(check_l1_distances(l1), "averaged over the embedding dimensions")


def test_l1_without_abs():
    def l1(pred, targets):
        return (pred[:, None, :] - targets[None, :, :]).sum(-1)

    _fails_with(check_l1_distances(l1), "signed differences")


def test_l1_summed_over_the_wrong_axis():
    def l1(pred, targets):
        return (pred[:, None, :] - targets[None, :, :]).abs().sum(1)

    _fails_with(check_l1_distances(l1), "candidates axis")


def test_l1_row_by_row_only():
    def l1(pred, targets):
        return (pred - targets).abs().sum(-1)

    _fails_with(check_l1_distances(l1), "one distance per row")


# -- exercise 2: mean_reciprocal_rank -----------------------------------------------------------------------------

def _own(d):
    return d[torch.arange(len(d)), torch.arange(len(d))]


def test_mrr_zero_based_ranks():
    def mrr(distances):
        ranks = (distances < _own(distances)[:, None]).sum(1)  # forgot the + 1
        return (1.0 / ranks).mean()

    _fails_with(check_mean_reciprocal_rank(mrr), "start at 0")


def test_mrr_argsort_position_without_plus_one():
    def mrr(distances):
        order = distances.argsort(dim=1)
        pos = (order == torch.arange(len(distances))[:, None]).nonzero()[:, 1]  # 0-based position
        return float((1.0 / pos).mean())

    _fails_with(check_mean_reciprocal_rank(mrr), "start at 0")


def test_mrr_largest_distance_first():
    def mrr(distances):
        ranks = 1 + (distances > _own(distances)[:, None]).sum(1)
        return float((1.0 / ranks).mean())

    _fails_with(check_mean_reciprocal_rank(mrr), "largest distance first")


def test_mrr_mean_rank():
    def mrr(distances):
        ranks = 1 + (distances < _own(distances)[:, None]).sum(1)
        return float(ranks.float().mean())

    _fails_with(check_mean_reciprocal_rank(mrr), "returned the mean rank")


def test_mrr_reciprocal_of_the_mean_rank():
    def mrr(distances):
        ranks = 1 + (distances < _own(distances)[:, None]).sum(1)
        return 1 / float(ranks.float().mean())

    _fails_with(check_mean_reciprocal_rank(mrr), "1 / (mean rank)")


def test_mrr_returns_the_vector():
    def mrr(distances):
        ranks = 1 + (distances < _own(distances)[:, None]).sum(1)
        return 1.0 / ranks

    _fails_with(check_mean_reciprocal_rank(mrr), "reciprocal ranks themselves")


def test_mrr_ties_counted_against_the_correct_candidate():
    def mrr(distances):
        ranks = (distances <= _own(distances)[:, None]).sum(1)
        return float((1.0 / ranks).mean())

    _fails_with(check_mean_reciprocal_rank(mrr), "ties", "<=")


def test_mrr_ranks_from_sorting():
    def mrr(distances):
        order = distances.argsort(dim=1)
        ranks = (order == torch.arange(len(distances))[:, None]).nonzero()[:, 1] + 1
        return float((1.0 / ranks).mean())

    _fails_with(check_mean_reciprocal_rank(mrr), "ties", "from sorting")


def test_mrr_ranked_within_columns():
    def mrr(distances):
        sq = distances[:, : len(distances)]
        ranks = 1 + (sq < _own(distances)[None, :]).sum(0)
        return float((1.0 / ranks).mean())

    _fails_with(check_mean_reciprocal_rank(mrr), "within columns")


# -- end-of-notebook exercise: chance_mrr -------------------------------------------------------------------------

def test_chance_one_over_n():
    _fails_with(check_chance_mrr(lambda n: 1 / n), "top-1 accuracy")


def test_chance_log_approximation():
    _fails_with(check_chance_mrr(lambda n: math.log(n) / n), "approximation")


def test_chance_reciprocal_of_the_mean_rank():
    _fails_with(check_chance_mrr(lambda n: 1 / ((n + 1) / 2)), "1 / (mean rank)")


def test_chance_sum_stops_early():
    _fails_with(check_chance_mrr(lambda n: sum(1 / r for r in range(1, n)) / n), "one rank early")


def test_chance_harmonic_number_not_divided():
    _fails_with(check_chance_mrr(lambda n: sum(1 / r for r in range(1, n + 1))), "harmonic number")


def test_chance_expected_rank():
    _fails_with(check_chance_mrr(lambda n: sum(range(1, n + 1)) / n), "expected rank")
