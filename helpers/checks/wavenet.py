"""Checks for notebook 02 (train a WaveNet): the causal dilated convolution a WaveNet is built from, its receptive
field, and the error-to-signal ratio (ESR) losses it trains on.

* :func:`check_causal_conv` — one causal dilated convolution: ``(kernel − 1) · dilation`` zeros on the left only,
  output as long as the input (reference: ``torch.nn.functional.conv1d`` after that padding, as
  :meth:`helpers.models.base.CausalModel.process` pads a whole model);
* :func:`check_receptive_field` — ``1 + (kernel − 1) · Σ dilations`` (reference: a NAM layer array,
  :attr:`helpers.models.nam_wavenet.LayerArray.receptive_field`);
* :func:`check_esr` — the ESR of a batch taken as ONE signal (reference: :func:`helpers.losses.esr` of the
  flattened batch; the course's training loss, MSE, is proportional to it);
* :func:`check_pre_emphasis` — the first-order filter ``y[n] − a·y[n−1]`` (reference:
  :class:`helpers.losses.PreEmphasisFilter`);
* :func:`check_pre_emphasis_esr` — the ESR of the pre-emphasised batch (the same filter on both signals);
* :func:`check_esr_per_crop` — an end-of-notebook exercise: the per-crop ESR averaged over the batch
  (reference: :class:`helpers.losses.ESRLoss`, the variant NAM's trainer uses).

Which ESR the course uses: a crop of a decaying note or of a quiet passage has little energy, so its own ESR can be
large while it hardly matters to the ear or to the whole-signal ESR that validation and test report. The course
therefore takes the ESR of the batch **as one signal** (every sample of every crop summed, then divided) for
training; :class:`helpers.losses.ESRLoss` (one ESR per crop, averaged) is the other convention, checked by
:func:`check_esr_per_crop`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from helpers.checks.core import Case, CheckResult, Mistake, close, equal, run_check
from helpers.losses import ESRLoss, PreEmphasisFilter, esr
from helpers.models.nam_wavenet import LayerArray, LayerArrayConfig

Tensor = torch.Tensor


# -------------------------------------------------------------------------------------- causal convolution
#: A convolution's output agrees within float32 precision.
_CONV = close(rtol=1e-4, atol=1e-5)


def causal_conv1d_reference(x: Tensor, weight: Tensor, bias: Tensor | None, dilation: int) -> Tensor:
    """``x`` ``(batch, channels_in, samples)``, ``weight`` ``(channels_out, channels_in, kernel)``, ``bias``
    ``(channels_out,)`` or None → ``(batch, channels_out, samples)``: ``(kernel − 1) · dilation`` zeros in front,
    then PyTorch's ``conv1d``. Output ``t`` sees inputs ``t − (kernel − 1)·dilation … t`` only."""
    return F.conv1d(F.pad(x, ((weight.shape[-1] - 1) * dilation, 0)), weight, bias, dilation=dilation)


def _symmetric(x: Tensor, w: Tensor, b: Tensor | None, d: int) -> Tensor:
    p = (w.shape[-1] - 1) * d // 2
    return F.conv1d(F.pad(x, (p, p)), w, b, dilation=d)


_SYMMETRIC = ("non-causal: 'same' (symmetric) padding puts zeros on both sides, so output t looks ahead at future "
              "samples a plugin does not have yet. Pad only on the LEFT, by (kernel − 1)·dilation: "
              "F.pad(x, ((k − 1) * dilation, 0)).")

CAUSAL_CONV_MISTAKES = [
    Mistake(_SYMMETRIC, lambda x, w, b, d: F.conv1d(x, w, b, dilation=d, padding="same")),
    Mistake(_SYMMETRIC, _symmetric),
    Mistake("padded on the RIGHT: output t then reads x[t … t + (k − 1)·dilation], the future. Put the zeros on the "
            "left: F.pad(x, ((k − 1) * dilation, 0)).",
            lambda x, w, b, d: F.conv1d(F.pad(x, (0, (w.shape[-1] - 1) * d)), w, b, dilation=d)),
    Mistake("padded both sides by (k − 1)·dilation: the output is too long and its last samples look ahead. Pad "
            "only the left: F.pad(x, ((k − 1) * dilation, 0)).",
            lambda x, w, b, d: F.conv1d(F.pad(x, ((w.shape[-1] - 1) * d, (w.shape[-1] - 1) * d)), w, b, dilation=d)),
    Mistake("the padding forgets the dilation: (k − 1) zeros are not enough for a dilated kernel, which reaches "
            "(k − 1)·dilation samples back, so the output comes out shorter. Pad by (k − 1) * dilation.",
            lambda x, w, b, d: F.conv1d(F.pad(x, (w.shape[-1] - 1, 0)), w, b, dilation=d)),
    Mistake("no padding: a 'valid' convolution is (k − 1)·dilation samples shorter than its input (what the course's "
            "models do inside; this layer must keep the length). Pad the left by (k − 1) * dilation first.",
            lambda x, w, b, d: F.conv1d(x, w, b, dilation=d)),
    Mistake("the convolution itself is not dilated: pass dilation=dilation to conv1d (the taps must be dilation "
            "samples apart), not only to the padding.",
            lambda x, w, b, d: F.conv1d(F.pad(x, ((w.shape[-1] - 1) * d, 0)), w, b)),
    Mistake("the bias is missing: add bias[c] to output channel c (pass it to conv1d; it may be None).",
            lambda x, w, b, d: F.conv1d(F.pad(x, ((w.shape[-1] - 1) * d, 0)), w, None, dilation=d)),
    Mistake("the kernel is flipped (a textbook convolution). PyTorch's conv1d, like every model of the course, "
            "multiplies weight[..., -1] with the NEWEST sample and weight[..., 0] with the one (k − 1)·dilation "
            "samples back: do not reverse the taps.",
            lambda x, w, b, d: F.conv1d(F.pad(x, ((w.shape[-1] - 1) * d, 0)), w.flip(-1), b, dilation=d)),
]


def _conv_case(label: str, rng: np.random.Generator, batch: int, cin: int, cout: int, kernel: int, dilation: int,
               samples: int, bias: bool = True, zeros: bool = False) -> Case:
    x = torch.zeros(batch, cin, samples) if zeros else torch.from_numpy(
        rng.standard_normal((batch, cin, samples)).astype(np.float32))
    w = torch.from_numpy(rng.normal(0.0, 0.5, (cout, cin, kernel)).astype(np.float32))
    b = torch.from_numpy(rng.normal(0.0, 0.5, cout).astype(np.float32)) if bias else None
    return Case(f"{label} (x {tuple(x.shape)}, kernel {kernel}, dilation {dilation}{'' if bias else ', no bias'})",
                (x, w, b, dilation))


def causal_conv_cases() -> list[Case]:
    """Random signals (seeded) and edge cases: dilation 1, an even kernel, no bias, one sample, silence, …"""
    rng = np.random.default_rng(0)
    return [
        _conv_case("random", rng, 2, 3, 4, 3, 2, 32),
        _conv_case("an even kernel", rng, 2, 2, 3, 2, 4, 40),
        _conv_case("dilation 1", rng, 1, 2, 2, 3, 1, 20),
        _conv_case("no bias", rng, 2, 1, 2, 3, 4, 30, bias=False),
        _conv_case("one channel in and out", rng, 1, 1, 1, 3, 8, 50),
        _conv_case("one sample", rng, 2, 2, 2, 3, 2, 1),
        _conv_case("a dilation longer than the signal", rng, 1, 2, 2, 3, 16, 10),
        _conv_case("silence (only the bias comes out)", rng, 1, 2, 3, 3, 2, 12, zeros=True),
        _conv_case("kernel 1 (a 1×1 convolution)", rng, 2, 3, 2, 1, 1, 9),
    ]


def check_causal_conv(fn: Callable[..., Any]) -> CheckResult:
    """Check ``causal_conv1d(x, weight, bias, dilation)``: ``x`` ``(batch, channels_in, samples)``, ``weight``
    ``(channels_out, channels_in, kernel)``, ``bias`` ``(channels_out,)`` or None; returns
    ``(batch, channels_out, samples)`` — the input's length, output ``t`` computed from inputs
    ``t − (kernel − 1)·dilation … t`` only (zeros before the start). Reference: ``F.conv1d`` after
    ``(kernel − 1)·dilation`` zeros on the left."""
    return run_check("causal_conv", fn, causal_conv1d_reference, causal_conv_cases(), compare=_CONV,
                     mistakes=CAUSAL_CONV_MISTAKES)


# -------------------------------------------------------------------------------------- receptive field
def receptive_field_reference(kernel_size: int, dilations: Sequence[int]) -> int:
    """Samples of input one output depends on, for a stack of ``kernel_size`` convolutions with ``dilations``:
    ``1 + (kernel_size − 1) · Σ dilations``. Read from a NAM layer array with those settings."""
    cfg = LayerArrayConfig(input_size=1, condition_size=1, head_size=1, channels=1, kernel_size=int(kernel_size),
                           dilations=[int(d) for d in dilations])
    return int(LayerArray(cfg).receptive_field)


RECEPTIVE_FIELD_MISTAKES = [
    Mistake("one short: (k − 1)·Σd counts how far back the oldest input is; the output also depends on the "
            "current sample. Add 1.",
            lambda k, ds: (k - 1) * sum(ds)),
    Mistake("each layer reaches back (k − 1)·dilation samples, not k·dilation: its k taps span k − 1 gaps.",
            lambda k, ds: 1 + k * sum(ds)),
    Mistake("each layer reaches back (k − 1)·dilation samples, not k·dilation: its k taps span k − 1 gaps "
            "(and add 1 once, for the current sample).",
            lambda k, ds: k * sum(ds)),
    Mistake("the dilations are missing: a layer with dilation d reaches back (k − 1)·d samples, not k − 1. "
            "Sum the dilations.",
            lambda k, ds: 1 + (k - 1) * len(ds)),
    Mistake("only the largest dilation counts here: every layer adds its own reach on top of the previous ones. "
            "Sum the dilations: 1 + (k − 1)·Σd.",
            lambda k, ds: 1 + (k - 1) * max(ds)),
    Mistake("the reaches multiply here, but stacked layers ADD their reaches: 1 + (k − 1)·Σd.",
            lambda k, ds: 1 + (k - 1) * int(np.prod(ds))),
]


def receptive_field_cases() -> list[Case]:
    """NAM-like dilation runs, kernels 2–5, and edge cases (one layer, no layer, kernel 1, repeated dilations)."""
    lite_1 = [1, 2, 4, 8, 16, 32, 64]
    lite_2 = [128, 256, 512, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    return [
        Case("kernel 3, dilations 1, 2, 4, 8", (3, [1, 2, 4, 8])),
        Case("kernel 2, dilations 1 … 512 (a WaveNet block)", (2, [2**i for i in range(10)])),
        Case("kernel 3, the first array of NAM's 'feather' preset", (3, lite_1)),
        Case("kernel 3, the second array of NAM's 'feather' preset", (3, lite_2)),
        Case("kernel 5, dilations 3, 1, 2", (5, [3, 1, 2])),
        Case("one layer, kernel 3, dilation 1", (3, [1])),
        Case("kernel 3, three layers of dilation 1", (3, [1, 1, 1])),
        Case("kernel 1 (no reach at all)", (1, [1, 2, 4])),
        Case("no layers", (3, [])),
    ]


def check_receptive_field(fn: Callable[..., Any]) -> CheckResult:
    """Check ``receptive_field(kernel_size, dilations)``: the number of input samples one output of a stack of
    causal convolutions depends on, ``1 + (kernel_size − 1) · Σ dilations`` (an int). Reference: a NAM layer
    array's :attr:`~helpers.models.nam_wavenet.LayerArray.receptive_field`."""
    return run_check("receptive_field", fn, receptive_field_reference, receptive_field_cases(), compare=equal,
                     mistakes=RECEPTIVE_FIELD_MISTAKES)


# -------------------------------------------------------------------------------------- ESR losses
def _loss_compare(rtol: float = 1e-4, atol: float = 1e-7) -> Callable[[Any, Any], str | None]:
    """Like :func:`close`, but a loss must also be a torch tensor that keeps the prediction's gradient
    (training calls ``loss.backward()``)."""
    values = close(rtol, atol)

    def compare(got: Any, expected: Any) -> str | None:
        if not isinstance(got, torch.Tensor):
            return (f"returned a {type(got).__name__}, not a torch tensor: training needs a tensor to call "
                    ".backward() on. Keep the computation in torch (no .item(), float() or NumPy)")
        if not got.requires_grad:
            return ("the result is cut off from the prediction's gradient (a .detach(), .item(), NumPy or a new "
                    "tensor inside?): training could not learn from it. Keep every step a torch operation on pred")
        return values(got, expected)

    return compare


_LOSS = _loss_compare()


def _flat(x: Tensor) -> Tensor:
    return x.detach().reshape(-1)


def esr_reference(pred: Tensor, target: Tensor) -> float:
    """ESR of the batch as one signal: ``Σ (target − pred)² / Σ target²`` over every sample of every crop
    (:func:`helpers.losses.esr` of the flattened tensors)."""
    return esr(_flat(pred), _flat(target))


def _esr_per_crop(pred: Tensor, target: Tensor) -> Tensor:
    return ESRLoss(eps=0.0)(pred, target)


def _sse(pred: Tensor, target: Tensor) -> Tensor:
    return (target - pred).pow(2).sum()


def _mse(pred: Tensor, target: Tensor) -> Tensor:
    return (target - pred).pow(2).mean()


ESR_MISTAKES = [
    Mistake("no denominator: that is the plain sum of squared errors. ESR divides it by the target's energy, "
            "Σ target², so that 0 is perfect and 1 is as bad as predicting silence, whatever the level.",
            _sse),
    Mistake("no denominator: that is the mean squared error. ESR divides Σ (target − pred)² by the target's energy, "
            "Σ target², so that 0 is perfect and 1 is as bad as predicting silence, whatever the level.",
            _mse),
    Mistake("one ESR per crop, averaged over the batch (helpers.losses.ESRLoss's convention). The course takes the "
            "batch as ONE signal: sum the squared error over every sample of every crop, divide by the sum of "
            "target² over the same samples — so a quiet crop does not weigh as much as a loud one.",
            _esr_per_crop),
    Mistake("the sums run over the batch axis (dim 0), one ratio per time step, then averaged. Sum over EVERY "
            "sample of every crop (.sum() with no dim) for both the error and the target energy.",
            lambda p, t: ((t - p).pow(2).sum(0) / t.pow(2).sum(0)).mean()),
    Mistake("the denominator is the prediction's energy: ESR divides by the TARGET's energy, Σ target².",
            lambda p, t: (t - p).pow(2).sum() / p.pow(2).sum()),
    Mistake("divided sample by sample and averaged: ESR is a ratio of two sums (energies), Σ(target − pred)² / "
            "Σ target², not the mean of per-sample ratios (which explode where the target crosses zero).",
            lambda p, t: ((t - p).pow(2) / t.pow(2)).mean()),
    Mistake("a square root too many: ESR is a ratio of energies (squared amplitudes), Σ(target − pred)² / "
            "Σ target², with no root.",
            lambda p, t: ((t - p).pow(2).sum() / t.pow(2).sum()).sqrt()),
    Mistake("absolute values instead of squares: ESR compares energies, Σ(target − pred)² / Σ target².",
            lambda p, t: (t - p).abs().sum() / t.abs().sum()),
]


def _pair(rng: np.random.Generator, shape: tuple[int, ...], levels: Sequence[float],
          errors: Sequence[float]) -> tuple[Tensor, Tensor]:
    """A target with one level per crop and a prediction that is off by ``errors`` (relative) per crop; the
    prediction requires grad, as a model's output does."""
    rows = len(levels)
    target = rng.standard_normal((rows, shape[-1])) * np.asarray(levels)[:, None]
    pred = target + rng.standard_normal((rows, shape[-1])) * (np.asarray(levels) * np.asarray(errors))[:, None]
    t = torch.tensor(target.reshape(shape), dtype=torch.float32)
    p = torch.tensor(pred.reshape(shape), dtype=torch.float32, requires_grad=True)
    return p, t


def esr_cases() -> list[Case]:
    """Crops at different levels (so the batch's ESR differs from the per-crop mean), one crop, a 1-D signal, a
    perfect prediction, silence as the prediction, one sample per crop."""
    rng = np.random.default_rng(0)
    p, t = _pair(rng, (4, 256), [0.05, 0.3, 1.0, 0.01], [0.3, 0.1, 0.05, 1.5])
    p1, t1 = _pair(rng, (1, 100), [0.4], [0.2])
    pv, tv = _pair(rng, (300,), [0.2], [0.3])
    _, tp = _pair(rng, (2, 64), [0.3, 0.1], [0.0, 0.0])
    p3, t3 = _pair(rng, (3, 1), [0.5, 0.2, 0.9], [0.4, 0.4, 0.4])
    perfect = tp.clone().requires_grad_(True)
    silence = torch.zeros_like(tp, requires_grad=True)
    return [
        Case("4 crops at different levels (4 × 256)", (p, t)),
        Case("one crop (1 × 100)", (p1, t1)),
        Case("a 1-D signal (300 samples)", (pv, tv)),
        Case("a perfect prediction (ESR 0)", (perfect, tp)),
        Case("predicting silence (ESR 1)", (silence, tp)),
        Case("one sample per crop (3 × 1)", (p3, t3)),
    ]


def check_esr(fn: Callable[..., Any]) -> CheckResult:
    """Check ``esr(pred, target)``: tensors of the same shape (``(batch, samples)``, or ``(samples,)``) → a scalar
    tensor ``Σ (target − pred)² / Σ target²`` over EVERY sample (the batch taken as one signal), differentiable
    in ``pred``. Reference: :func:`helpers.losses.esr` of the flattened batch."""
    return run_check("esr", fn, esr_reference, esr_cases(), compare=_LOSS, mistakes=ESR_MISTAKES)


# -------------------------------------------------------------------------------------- pre-emphasis filter
def pre_emphasis_reference(y: Tensor, a: float) -> Tensor:
    """``y[..., n] − a · y[..., n−1]`` along the last axis (time), one sample shorter than ``y``
    (:class:`helpers.losses.PreEmphasisFilter`)."""
    return PreEmphasisFilter(a)(y)


PRE_EMPHASIS_MISTAKES = [
    Mistake("the sign: this is y[n] + a·y[n−1], a low-pass. Pre-emphasis SUBTRACTS the scaled previous sample: "
            "y[..., 1:] − a * y[..., :-1].",
            lambda y, a: y[..., 1:] + a * y[..., :-1]),
    Mistake("the two samples are swapped: this is y[n−1] − a·y[n]. Take the current sample minus a times the "
            "previous one: y[..., 1:] − a * y[..., :-1].",
            lambda y, a: y[..., :-1] - a * y[..., 1:]),
    Mistake("the first output sample is invented (y[−1] taken as 0, the first sample kept as it is): "
            "the course drops it, so the output is one sample shorter: y[..., 1:] − a * y[..., :-1].",
            lambda y, a: torch.cat([y[..., :1], y[..., 1:] - a * y[..., :-1]], dim=-1)),
    Mistake("torch.roll wraps the last sample round to the front, so the first output mixes the end of the crop "
            "in. Slice instead, one sample shorter: y[..., 1:] − a * y[..., :-1].",
            lambda y, a: y - a * torch.roll(y, 1, dims=-1)),
    Mistake("filtered along the batch axis (dim 0): the filter runs along TIME, the last axis: "
            "y[..., 1:] − a * y[..., :-1].",
            lambda y, a: y[1:] - a * y[:-1]),
    Mistake("the coefficient a is ignored (0.85 written in?): use the a you are given.",
            lambda y, a: y[..., 1:] - 0.85 * y[..., :-1]),
]


def pre_emphasis_cases() -> list[Case]:
    """Random crops with NAM's 0.85 and other coefficients, a 1-D signal, two samples, a = 0."""
    rng = np.random.default_rng(1)

    def sig(*shape: int) -> Tensor:
        return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))

    return [
        Case("3 crops of 50 samples, a = 0.85", (sig(3, 50), 0.85)),
        Case("2 crops, a = 0.5", (sig(2, 40), 0.5)),
        Case("a 1-D signal, a = 0.95", (sig(60), 0.95)),
        Case("two samples, a = 0.85", (sig(1, 2), 0.85)),
        Case("a = 0 (only the first sample goes)", (sig(2, 10), 0.0)),
    ]


def check_pre_emphasis(fn: Callable[..., Any]) -> CheckResult:
    """Check ``pre_emphasis(y, a)``: ``y`` ``(..., samples)`` → ``y[..., n] − a · y[..., n−1]`` for n ≥ 1, along
    the last axis, one sample shorter (no invented ``y[−1]``). Reference: :class:`helpers.losses.PreEmphasisFilter`."""
    return run_check("pre_emphasis", fn, pre_emphasis_reference, pre_emphasis_cases(), compare=close(1e-5, 1e-6),
                     mistakes=PRE_EMPHASIS_MISTAKES)


# -------------------------------------------------------------------------------------- pre-emphasised ESR
def _pe(y: Tensor, a: float) -> Tensor:
    return y[..., 1:] - a * y[..., :-1]


def _esr_t(p: Tensor, t: Tensor) -> Tensor:
    return (t - p).pow(2).sum() / t.pow(2).sum()


def pre_emphasis_esr_reference(pred: Tensor, target: Tensor, a: float = 0.85) -> float:
    """The ESR (batch as one signal) of the pre-emphasised prediction and target: the same
    :class:`helpers.losses.PreEmphasisFilter` on both, then :func:`helpers.losses.esr` of the flattened results."""
    f = PreEmphasisFilter(a)
    return esr(_flat(f(pred)), _flat(f(target)))


PRE_EMPHASIS_ESR_MISTAKES = [
    Mistake("only the target is filtered: the prediction must go through the SAME filter, "
            "esr(pre_emphasis(pred, a), pre_emphasis(target, a)).",
            lambda p, t, a: _esr_t(p[..., 1:], _pe(t, a))),
    Mistake("only the prediction is filtered: the target must go through the SAME filter, "
            "esr(pre_emphasis(pred, a), pre_emphasis(target, a)).",
            lambda p, t, a: _esr_t(_pe(p, a), t[..., 1:])),
    Mistake("the filter's sign: y[n] + a·y[n−1] is a low-pass. Pre-emphasis is y[n] − a·y[n−1].",
            lambda p, t, a: _esr_t(p[..., 1:] + a * p[..., :-1], t[..., 1:] + a * t[..., :-1])),
    Mistake("no denominator: that is the squared error of the filtered signals. Divide by the filtered target's "
            "energy, Σ pre_emphasis(target)².",
            lambda p, t, a: (_pe(t, a) - _pe(p, a)).pow(2).sum()),
    Mistake("no denominator: that is the mean squared error of the filtered signals. Divide the summed error by the "
            "filtered target's energy, Σ pre_emphasis(target)².",
            lambda p, t, a: (_pe(t, a) - _pe(p, a)).pow(2).mean()),
    Mistake("the denominator is the UNFILTERED target's energy: divide by the energy of the filtered target, so "
            "both sums see the same filter.",
            lambda p, t, a: (_pe(t, a) - _pe(p, a)).pow(2).sum() / t.pow(2).sum()),
    Mistake("one ESR per crop, averaged (helpers.losses.PreEmphasisESRLoss's convention). The course takes the "
            "filtered batch as ONE signal: sum over every sample of every crop, then divide.",
            lambda p, t, a: _esr_per_crop(_pe(p, a), _pe(t, a))),
    Mistake("the coefficient a is ignored (0.85 written in?): pass the a you are given to the filter.",
            lambda p, t, a: _esr_t(_pe(p, 0.85), _pe(t, 0.85))),
    Mistake("the filter is missing altogether: that is the plain ESR. Filter both signals first.",
            lambda p, t, a: _esr_t(p, t)),
]


def pre_emphasis_esr_cases() -> list[Case]:
    """Crops at different levels, NAM's 0.85 and another coefficient, a 1-D signal, silence as the prediction."""
    rng = np.random.default_rng(2)
    p, t = _pair(rng, (3, 200), [0.05, 0.5, 0.2], [0.4, 0.05, 0.2])
    p2, t2 = _pair(rng, (2, 120), [0.3, 0.1], [0.2, 0.5])
    pv, tv = _pair(rng, (150,), [0.3], [0.1])
    silence = torch.zeros_like(t2, requires_grad=True)
    return [
        Case("3 crops at different levels, a = 0.85", (p, t, 0.85)),
        Case("2 crops, a = 0.5", (p2, t2, 0.5)),
        Case("a 1-D signal, a = 0.95", (pv, tv, 0.95)),
        Case("predicting silence (ESR 1), a = 0.85", (silence, t2, 0.85)),
    ]


def check_pre_emphasis_esr(fn: Callable[..., Any]) -> CheckResult:
    """Check ``pre_emphasis_esr(pred, target, a)``: the ESR (batch as one signal) of ``pre_emphasis(pred, a)``
    against ``pre_emphasis(target, a)`` — the same filter on both — as a scalar tensor differentiable in ``pred``.
    Reference: :class:`helpers.losses.PreEmphasisFilter` and :func:`helpers.losses.esr`."""
    return run_check("pre_emphasis_esr", fn, pre_emphasis_esr_reference, pre_emphasis_esr_cases(), compare=_LOSS,
                     mistakes=PRE_EMPHASIS_ESR_MISTAKES)


# -------------------------------------------------------------------------------------- per-crop ESR (exercise)
def esr_per_crop_reference(pred: Tensor, target: Tensor) -> float:
    """One ESR per crop (row), averaged over the batch: :class:`helpers.losses.ESRLoss` (no epsilon)."""
    return float(ESRLoss(eps=0.0)(pred.detach().double(), target.detach().double()))


ESR_PER_CROP_MISTAKES = [
    Mistake("that is the ESR of the whole batch as one signal (the course's training loss). Here each crop gets its "
            "own ratio — sum over time only (dim −1) — and the ratios are averaged over the batch.",
            lambda p, t: _esr_t(p, t)),
    Mistake("the sums run over the batch axis (dim 0): sum over TIME (dim −1), one ratio per crop, then average.",
            lambda p, t: ((t - p).pow(2).sum(0) / t.pow(2).sum(0)).mean()),
    Mistake("the per-crop ratios are summed, not averaged: take their mean over the batch.",
            lambda p, t: ((t - p).pow(2).sum(-1) / t.pow(2).sum(-1)).sum()),
    Mistake("no denominator: divide each crop's squared error by that crop's energy, Σ target² over time.",
            lambda p, t: (t - p).pow(2).sum(-1).mean()),
]


def esr_per_crop_cases() -> list[Case]:
    """Crops at different levels (so the per-crop mean differs from the batch's ESR), one crop, a perfect one."""
    rng = np.random.default_rng(3)
    p, t = _pair(rng, (4, 128), [0.02, 0.5, 0.1, 0.8], [1.0, 0.05, 0.3, 0.1])
    p1, t1 = _pair(rng, (1, 64), [0.3], [0.2])
    p2, t2 = _pair(rng, (2, 32), [0.2, 0.05], [0.0, 0.5])
    return [Case("4 crops at different levels (4 × 128)", (p, t)), Case("one crop (1 × 64)", (p1, t1)),
            Case("2 crops, one of them perfect", (p2, t2))]


def check_esr_per_crop(fn: Callable[..., Any]) -> CheckResult:
    """Check ``esr_per_crop(pred, target)``: ``(batch, samples)`` tensors → the mean over crops of each crop's
    ``Σ_t (target − pred)² / Σ_t target²``, a scalar tensor differentiable in ``pred``. Reference:
    :class:`helpers.losses.ESRLoss`."""
    return run_check("esr_per_crop", fn, esr_per_crop_reference, esr_per_crop_cases(), compare=_LOSS,
                     mistakes=ESR_PER_CROP_MISTAKES)
