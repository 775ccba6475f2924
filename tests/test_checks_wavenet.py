"""The checks of notebook 02: a correct answer passes, the stub says "not written yet", an error in the student's code
is shown with its line, and each typical mistake, written by hand as a student would, gets its own hint."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers.checks.wavenet import (
    causal_conv_cases,
    check_causal_conv,
    check_esr,
    check_esr_per_crop,
    check_pre_emphasis,
    check_pre_emphasis_esr,
    check_receptive_field,
)
from helpers.losses import ESRLoss, PreEmphasisESRLoss
from helpers.models import build_model


def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError()


# -------------------------------------------------------------------------------------- causal convolution
def good_conv(x, weight, bias, dilation):
    k = weight.shape[-1]
    return F.conv1d(F.pad(x, ((k - 1) * dilation, 0)), weight, bias, dilation=dilation)


def loop_conv(x, weight, bias, dilation):
    """Correct, written with explicit taps (as a student might): still right."""
    k = weight.shape[-1]
    xp = F.pad(x, ((k - 1) * dilation, 0))
    n = x.shape[-1]
    y = torch.zeros(x.shape[0], weight.shape[0], n)
    for j in range(k):
        y += torch.einsum("oi,bin->bon", weight[:, :, j], xp[:, :, j * dilation : j * dilation + n])
    return y if bias is None else y + bias[None, :, None]


def test_reference_is_causal_and_keeps_the_length():
    x, w, b, d = causal_conv_cases()[0].args
    y = good_conv(x, w, b, d)
    assert y.shape == (x.shape[0], w.shape[0], x.shape[-1])
    x2 = x.clone()
    x2[..., 20:] = 5.0  # change the future: the past outputs must not move
    assert torch.allclose(good_conv(x2, w, b, d)[..., :20], y[..., :20])


def test_correct_causal_conv_passes():
    result = check_causal_conv(good_conv)
    assert result, result
    assert check_causal_conv(loop_conv)


def test_causal_conv_stub_is_not_written_yet():
    result = check_causal_conv(stub)
    assert not result and "not written yet" in result.message


def test_causal_conv_error_shows_its_line():
    def broken(x, weight, bias, dilation):
        return F.conv1d(x, weight, bias, dilaton=dilation)  # typo

    result = check_causal_conv(broken)
    assert not result and "TypeError" in result.message and "line" in result.message


def test_causal_conv_same_padding_is_non_causal():
    result = check_causal_conv(lambda x, w, b, d: F.conv1d(x, w, b, dilation=d, padding="same"))
    assert not result and "non-causal" in result.message


def test_causal_conv_symmetric_padding_is_non_causal():
    def symmetric(x, w, b, d):
        p = (w.shape[-1] - 1) * d // 2
        return F.conv1d(F.pad(x, (p, p)), w, b, dilation=d)

    result = check_causal_conv(symmetric)
    assert not result and "non-causal" in result.message


def test_causal_conv_padding_without_dilation():
    result = check_causal_conv(lambda x, w, b, d: F.conv1d(F.pad(x, (w.shape[-1] - 1, 0)), w, b, dilation=d))
    assert not result and "forgets the dilation" in result.message


def test_causal_conv_no_padding():
    result = check_causal_conv(lambda x, w, b, d: F.conv1d(x, w, b, dilation=d))
    assert not result and "no padding" in result.message


def test_causal_conv_padding_on_the_right():
    result = check_causal_conv(lambda x, w, b, d: F.conv1d(F.pad(x, (0, (w.shape[-1] - 1) * d)), w, b, dilation=d))
    assert not result and "padded on the RIGHT" in result.message


def test_causal_conv_padding_both_sides():
    def both(x, w, b, d):
        p = (w.shape[-1] - 1) * d
        return F.conv1d(F.pad(x, (p, p)), w, b, dilation=d)

    result = check_causal_conv(both)
    assert not result and "padded both sides" in result.message


def test_causal_conv_not_dilated():
    result = check_causal_conv(lambda x, w, b, d: F.conv1d(F.pad(x, ((w.shape[-1] - 1) * d, 0)), w, b))
    assert not result and "not dilated" in result.message


def test_causal_conv_without_bias():
    result = check_causal_conv(lambda x, w, b, d: F.conv1d(F.pad(x, ((w.shape[-1] - 1) * d, 0)), w, dilation=d))
    assert not result and "bias is missing" in result.message


def test_causal_conv_flipped_kernel():
    def flipped(x, w, b, d):
        return F.conv1d(F.pad(x, ((w.shape[-1] - 1) * d, 0)), torch.flip(w, [2]), b, dilation=d)

    result = check_causal_conv(flipped)
    assert not result and "kernel is flipped" in result.message


# -------------------------------------------------------------------------------------- receptive field
def good_rf(kernel_size, dilations):
    return 1 + (kernel_size - 1) * sum(dilations)


def test_correct_receptive_field_passes_and_matches_the_models():
    assert check_receptive_field(good_rf)
    tcn = build_model("tcn", "balanced")
    assert good_rf(tcn.kernel_size, tcn.dilations) == tcn.receptive_field


def test_receptive_field_stub_and_error():
    assert "not written yet" in check_receptive_field(stub).message
    result = check_receptive_field(lambda k, ds: 1 + (k - 1) * sum(ds[5]))
    assert not result and "IndexError" in result.message and "line" in result.message


@pytest.mark.parametrize("wrong, hint", [
    (lambda k, ds: (k - 1) * sum(ds), "Add 1"),
    (lambda k, ds: 1 + k * sum(ds), "not k·dilation"),
    (lambda k, ds: 1 + (k - 1) * len(ds), "dilations are missing"),
    (lambda k, ds: 1 + (k - 1) * max(ds), "only the largest dilation"),
])
def test_receptive_field_mistakes(wrong, hint):
    result = check_receptive_field(wrong)
    assert not result and hint in result.message


# -------------------------------------------------------------------------------------- ESR
def good_esr(pred, target):
    return ((target - pred) ** 2).sum() / (target**2).sum()


def test_correct_esr_passes():
    assert check_esr(good_esr)
    assert check_esr(lambda p, t: torch.sum(torch.square(t - p)) / torch.sum(torch.square(t)))


def test_esr_stub_and_error():
    assert "not written yet" in check_esr(stub).message
    result = check_esr(lambda p, t: ((t - p) ** 2).sum() / t.pow(2).summ())  # typo
    assert not result and "AttributeError" in result.message and "line" in result.message


def test_esr_without_denominator():
    result = check_esr(lambda p, t: ((t - p) ** 2).sum())
    assert not result and "no denominator" in result.message and "Σ target²" in result.message


def test_esr_as_mse():
    result = check_esr(lambda p, t: ((t - p) ** 2).mean())
    assert not result and "mean squared error" in result.message


def test_esr_per_crop_averaged_is_not_the_course_convention():
    result = check_esr(lambda p, t: (((t - p) ** 2).sum(-1) / (t**2).sum(-1)).mean())
    assert not result and "one ESR per crop" in result.message


def test_esr_mean_over_the_wrong_axis():
    result = check_esr(lambda p, t: (((t - p) ** 2).sum(dim=0) / (t**2).sum(dim=0)).mean())
    assert not result and "batch axis" in result.message


def test_esr_divided_by_the_prediction():
    result = check_esr(lambda p, t: ((t - p) ** 2).sum() / (p**2).sum())
    assert not result and "prediction's energy" in result.message


def test_esr_sample_by_sample():
    result = check_esr(lambda p, t: ((t - p) ** 2 / t**2).mean())
    assert not result and "sample by sample" in result.message


def test_esr_square_root():
    result = check_esr(lambda p, t: torch.sqrt(((t - p) ** 2).sum() / (t**2).sum()))
    assert not result and "square root" in result.message


def test_esr_detached_cannot_train():
    result = check_esr(lambda p, t: torch.tensor(float(((t - p) ** 2).sum().detach() / (t**2).sum())))
    assert not result and "gradient" in result.message
    result = check_esr(lambda p, t: (((t - p) ** 2).sum() / (t**2).sum()).item())
    assert not result and "not a torch tensor" in result.message


# -------------------------------------------------------------------------------------- pre-emphasis
def good_pre_emphasis(y, a):
    return y[..., 1:] - a * y[..., :-1]


def test_correct_pre_emphasis_passes():
    assert check_pre_emphasis(good_pre_emphasis)


def test_pre_emphasis_stub_and_error():
    assert "not written yet" in check_pre_emphasis(stub).message
    result = check_pre_emphasis(lambda y, a: y[:, 1:] - a * y[:, :-1])  # fails on the 1-D case
    assert not result and "IndexError" in result.message and "line" in result.message


def test_pre_emphasis_sign():
    result = check_pre_emphasis(lambda y, a: y[..., 1:] + a * y[..., :-1])
    assert not result and "the sign" in result.message


def test_pre_emphasis_swapped_samples():
    result = check_pre_emphasis(lambda y, a: y[..., :-1] - a * y[..., 1:])
    assert not result and "swapped" in result.message


def test_pre_emphasis_invented_first_sample():
    def padded(y, a):
        prev = torch.cat([torch.zeros_like(y[..., :1]), y[..., :-1]], dim=-1)
        return y - a * prev

    result = check_pre_emphasis(padded)
    assert not result and "invented" in result.message


def test_pre_emphasis_roll():
    result = check_pre_emphasis(lambda y, a: y - a * torch.roll(y, 1, -1))
    assert not result and "torch.roll" in result.message


def test_pre_emphasis_batch_axis():
    result = check_pre_emphasis(lambda y, a: y[1:] - a * y[:-1])
    assert not result and "batch axis" in result.message


def test_pre_emphasis_fixed_coefficient():
    result = check_pre_emphasis(lambda y, a: y[..., 1:] - 0.85 * y[..., :-1])
    assert not result and "coefficient a is ignored" in result.message


# -------------------------------------------------------------------------------------- pre-emphasised ESR
def good_pre_esr(pred, target, a=0.85):
    return good_esr(good_pre_emphasis(pred, a), good_pre_emphasis(target, a))


def test_correct_pre_emphasis_esr_passes():
    assert check_pre_emphasis_esr(good_pre_esr)


def test_pre_emphasis_esr_stub_and_error():
    assert "not written yet" in check_pre_emphasis_esr(stub).message
    result = check_pre_emphasis_esr(lambda p, t, a: good_esr(good_pre_emphasis(p, a), t))  # shapes differ
    assert not result and "RuntimeError" in result.message and "line" in result.message


def test_pre_emphasis_esr_filters_only_the_target():
    result = check_pre_emphasis_esr(lambda p, t, a: good_esr(p[..., 1:], good_pre_emphasis(t, a)))
    assert not result and "only the target is filtered" in result.message


def test_pre_emphasis_esr_filters_only_the_prediction():
    result = check_pre_emphasis_esr(lambda p, t, a: good_esr(good_pre_emphasis(p, a), t[..., 1:]))
    assert not result and "only the prediction is filtered" in result.message


def test_pre_emphasis_esr_sign():
    def plus(y, a):
        return y[..., 1:] + a * y[..., :-1]

    result = check_pre_emphasis_esr(lambda p, t, a: good_esr(plus(p, a), plus(t, a)))
    assert not result and "the filter's sign" in result.message


def test_pre_emphasis_esr_without_denominator():
    result = check_pre_emphasis_esr(
        lambda p, t, a: ((good_pre_emphasis(t, a) - good_pre_emphasis(p, a)) ** 2).sum())
    assert not result and "no denominator" in result.message


def test_pre_emphasis_esr_unfiltered_denominator():
    result = check_pre_emphasis_esr(
        lambda p, t, a: ((good_pre_emphasis(t, a) - good_pre_emphasis(p, a)) ** 2).sum() / (t**2).sum())
    assert not result and "UNFILTERED" in result.message


def test_pre_emphasis_esr_per_crop():
    result = check_pre_emphasis_esr(lambda p, t, a: PreEmphasisESRLoss(a, eps=0.0)(p, t))
    assert not result and "one ESR per crop" in result.message


# -------------------------------------------------------------------------------------- per-crop ESR (exercise)
def test_esr_per_crop_exercise():
    assert check_esr_per_crop(lambda p, t: (((t - p) ** 2).sum(-1) / (t**2).sum(-1)).mean())
    assert check_esr_per_crop(lambda p, t: ESRLoss()(p, t))
    assert "not written yet" in check_esr_per_crop(stub).message
    result = check_esr_per_crop(good_esr)
    assert not result and "whole batch as one signal" in result.message
    result = check_esr_per_crop(lambda p, t: (((t - p) ** 2).sum(-1) / (t**2).sum(-1)).sum())
    assert not result and "summed, not averaged" in result.message


def test_course_training_loss_is_proportional_to_the_batch_esr():
    """The course trains on MSE; the ESR of the batch as one signal is the same up to the batch's power."""
    rng = np.random.default_rng(0)
    t = torch.from_numpy(rng.standard_normal((3, 50)))
    p = t + 0.1 * torch.from_numpy(rng.standard_normal((3, 50)))
    assert torch.isclose(good_esr(p, t), ((t - p) ** 2).mean() / (t**2).mean())
