"""Checks for notebook 04 (export and real time): running a model block by block, and what that costs.

* :func:`check_streaming_conv` — a causal dilated convolution that keeps its input history between blocks, so the
  blocks put together equal the offline convolution for any block size (reference: the delay line of the course's
  real-time engine, :class:`helpers.realtime.DelayLine` with :func:`helpers.realtime.engine.stacked_kernel`);
* :func:`check_real_time_factor` — compute time ÷ audio time (the figure of :func:`helpers.export.report.measure_rtf`);
* :func:`check_block_latency` — how long one block of audio lasts, in milliseconds (the delay a block size adds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from helpers.checks.core import Case, CheckResult, Mistake, as_array, close, run_check
from helpers.realtime.engine import DelayLine, stacked_kernel

# -------------------------------------------------------------------------------------- streaming convolution
#: A convolution's output agrees when within float32 precision (the engine computes in float32).
_CONV = close(rtol=1e-4, atol=1e-5)


def run_in_blocks(factory: Callable[..., Any], weight: np.ndarray, dilation: int, x: np.ndarray,
                  block_size: int) -> np.ndarray:
    """``factory(weight, dilation)``, then ``x`` ``(channels_in, samples)`` through its ``process_block`` in blocks
    of ``block_size`` samples (the last one shorter when it does not divide); the outputs joined along time."""
    conv = factory(weight.copy(), dilation)
    outs = []
    for i in range(0, x.shape[1], block_size):
        y = conv.process_block(x[:, i : i + block_size].copy())
        if y is None:
            raise TypeError("process_block returned None; return the block's output, shape (channels_out, n)")
        outs.append(np.atleast_1d(as_array(y)))
    return np.concatenate(outs, axis=-1)


def streaming_conv_reference(weight: np.ndarray, dilation: int, x: np.ndarray, block_size: int) -> np.ndarray:
    """The engine's own delay line, block by block: ``(channels_out, samples)`` float64. Equals the offline
    ``conv1d`` of ``x`` with ``(kernel - 1) · dilation`` zeros in front, whatever ``block_size`` is."""
    kernel = weight.shape[2]
    line = DelayLine(x.shape[0], (kernel - 1) * dilation, capacity=block_size)
    stacked = stacked_kernel(torch.from_numpy(np.ascontiguousarray(weight)), x.shape[0])
    outs = []
    for i in range(0, x.shape[1], block_size):
        block = x[:, i : i + block_size]
        n = block.shape[1]
        line.window(0, n)[:] = block
        outs.append(stacked @ line.taps(0, n, kernel, dilation))
        line.rewind(n)
    return np.concatenate(outs, axis=1).astype(np.float64)


def _offline(weight: np.ndarray, dilation: int, x: np.ndarray) -> np.ndarray:
    """Offline causal convolution (PyTorch's tap order, zeros before the start), float64."""
    kernel, samples = weight.shape[2], x.shape[1]
    padded = np.concatenate([np.zeros((x.shape[0], (kernel - 1) * dilation)), x], axis=1)
    return sum((weight[:, :, j] @ padded[:, j * dilation : j * dilation + samples] for j in range(kernel)),
               np.zeros((weight.shape[0], samples)))


class _Resets:
    """Mistake: the history is never kept, so every block starts from silence."""

    def __init__(self, weight: np.ndarray, dilation: int):
        self.w, self.d = weight, dilation

    def process_block(self, x: np.ndarray) -> np.ndarray:
        return _offline(self.w, self.d, x)


class _OneShort:
    """Mistake: ``(k - 1)·d - 1`` samples of history, taps indexed from the end of that history one sample at a
    time; NumPy's negative indices then wrap the oldest tap of a block's first sample round to the block's end."""

    def __init__(self, weight: np.ndarray, dilation: int):
        self.w, self.d = weight, dilation
        h = (weight.shape[2] - 1) * dilation - 1
        if h < 0:
            raise ValueError("no history to be short of")
        self.hist = np.zeros((weight.shape[1], h))

    def process_block(self, x: np.ndarray) -> np.ndarray:
        k, h, n = self.w.shape[2], self.hist.shape[1], x.shape[1]
        buf = np.concatenate([self.hist, x], axis=1)
        y = np.zeros((self.w.shape[0], n))
        for t in range(n):
            for j in range(k):
                y[:, t] += self.w[:, :, j] @ buf[:, h + t - (k - 1 - j) * self.d]
        self.hist = buf[:, buf.shape[1] - h :]
        return y


class _LastOnly:
    """Mistake: the output of the block's last sample only (``y[:, -1]``), not one per input sample."""

    keep = False

    def __init__(self, weight: np.ndarray, dilation: int):
        self.w, self.d = weight, dilation
        self.hist = np.zeros((weight.shape[1], (weight.shape[2] - 1) * dilation))

    def process_block(self, x: np.ndarray) -> np.ndarray:
        h = self.hist.shape[1]
        buf = np.concatenate([self.hist, x], axis=1)
        self.hist = buf[:, buf.shape[1] - h :]
        y = _offline(self.w, self.d, buf)[:, h:]
        return y[:, -1:] if self.keep else y[:, -1]


class _LastOnlyKept(_LastOnly):
    keep = True


def _delayed_by_one(weight: np.ndarray, dilation: int, x: np.ndarray, block_size: int) -> np.ndarray:
    late = np.concatenate([np.zeros((x.shape[0], 1)), x[:, :-1]], axis=1)
    return _offline(weight, dilation, late)


def _one_d(weight: np.ndarray, dilation: int, x: np.ndarray, block_size: int) -> np.ndarray:
    if weight.shape[0] != 1:
        raise ValueError("only a one-channel output can be flattened by mistake")
    return _offline(weight, dilation, x)[0]


STREAMING_CONV_MISTAKES = [
    Mistake("every block starts from silence: the history is not carried from one call to the next. Keep the last "
            "(kernel − 1)·dilation input samples in `self` at the end of process_block, and put them in front of the "
            "next block.",
            lambda w, d, x, b: run_in_blocks(_Resets, w, d, x, b)),
    Mistake("the output is one sample late: the history holds (kernel − 1)·dilation + 1 samples while the taps are "
            "counted as if it held (kernel − 1)·dilation. Keep exactly (kernel − 1)·dilation samples (or count the "
            "taps back from the newest sample).",
            _delayed_by_one),
    Mistake("the history is one sample short: it holds (kernel − 1)·dilation − 1 samples, so the oldest tap of each "
            "block's first output reads a wrong sample (a negative index wraps round to the end). Keep exactly "
            "(kernel − 1)·dilation samples.",
            lambda w, d, x, b: run_in_blocks(_OneShort, w, d, x, b)),
    Mistake("the dilation is missing from the tap positions: tap j must read the input delayed by "
            "(kernel − 1 − j)·dilation samples, not (kernel − 1 − j).",
            lambda w, d, x, b: _offline(w, 1, x)),
    Mistake("the taps are in reverse order (what np.convolve, which flips the kernel, gives). PyTorch's conv1d, and "
            "every model of the course, multiplies weight[:, :, -1] with the NEWEST sample and weight[:, :, 0] with "
            "the one (kernel − 1)·dilation samples back.",
            lambda w, d, x, b: _offline(w[:, :, ::-1], d, x)),
    Mistake("process_block returns one output per block (the last sample's). Return one output per input sample: "
            "shape (channels_out, n) for a block of n samples.",
            lambda w, d, x, b: run_in_blocks(_LastOnly, w, d, x, b)),
    Mistake("process_block returns one output per block (the last sample's). Return one output per input sample: "
            "shape (channels_out, n) for a block of n samples.",
            lambda w, d, x, b: run_in_blocks(_LastOnlyKept, w, d, x, b)),
    Mistake("the output lost its channel axis: return shape (channels_out, n), (1, n) for one channel, not (n,).",
            _one_d),
]


def _conv_case(label: str, rng: np.random.Generator, out: int, inp: int, kernel: int, dilation: int, samples: int,
               block: int, zeros: bool = False) -> Case:
    weight = rng.normal(0.0, 0.5, (out, inp, kernel))
    x = np.zeros((inp, samples)) if zeros else rng.standard_normal((inp, samples))
    return Case(f"{label} (weight {weight.shape}, dilation {dilation}, {samples} samples in blocks of {block})",
                (weight, dilation, x, block))


def streaming_conv_cases() -> list[Case]:
    """Random signals (seeded) cut into blocks of 7, 1 and 64 samples, several channels, and edge cases."""
    rng = np.random.default_rng(0)
    return [
        _conv_case("blocks shorter than the history", rng, 1, 1, 3, 4, 200, 7),
        _conv_case("one sample at a time", rng, 1, 1, 3, 2, 60, 1),
        _conv_case("blocks of 64, the last one shorter", rng, 1, 1, 3, 8, 300, 64),
        _conv_case("2 input and 3 output channels", rng, 3, 2, 2, 3, 100, 7),
        _conv_case("dilation 1", rng, 1, 1, 3, 1, 50, 5),
        _conv_case("a long history (kernel 4, dilation 16)", rng, 2, 1, 4, 16, 400, 64),
        _conv_case("kernel 1 (no history at all)", rng, 1, 1, 1, 1, 30, 7),
        _conv_case("a single block (the whole signal at once)", rng, 1, 1, 3, 2, 40, 40),
        _conv_case("silence", rng, 1, 1, 3, 2, 30, 7, zeros=True),
    ]


def check_streaming_conv(factory: Callable[..., Any]) -> CheckResult:
    """Check a streaming convolution class (or any factory): ``factory(weight, dilation)`` with ``weight``
    ``(channels_out, channels_in, kernel)`` (PyTorch's ``Conv1d`` layout, no bias) builds an object whose
    ``process_block(x_block)`` takes ``(channels_in, n)`` and returns ``(channels_out, n)``. A signal cut into
    blocks of any size (1, 7, 64, …) must give, block after block, exactly the offline causal convolution
    (``(kernel - 1) · dilation`` zeros before the first sample). Reference: the real-time engine's delay line."""
    if not callable(factory):
        return CheckResult("streaming_conv", False, f"expected the class itself, got {type(factory).__name__}: pass "
                                                    "StreamingConv (no parentheses), the check builds its own")
    return run_check("streaming_conv", lambda w, d, x, b: run_in_blocks(factory, w, d, x, b),
                     streaming_conv_reference, streaming_conv_cases(), compare=_CONV,
                     mistakes=STREAMING_CONV_MISTAKES)


# -------------------------------------------------------------------------------------- real-time factor
def real_time_factor_reference(compute_seconds: float, samples: int, sample_rate: float) -> float:
    """Compute time ÷ the duration of the audio processed (``samples / sample_rate`` seconds); below 1 is faster
    than real time. The figure :func:`helpers.export.report.measure_rtf` reports."""
    return compute_seconds / (samples / sample_rate)


_RATIO = close(rtol=1e-6, atol=1e-12)

RTF_CASES = [
    Case("1 s of compute for 4 s of audio at 48 kHz", (1.0, 192_000, 48_000)),
    Case("a 64-sample block at 48 kHz processed in 0.4 ms", (0.0004, 64, 48_000)),
    Case("3 s of compute for 2 s of audio at 44.1 kHz (slower than real time)", (3.0, 88_200, 44_100)),
    Case("one sample at 96 kHz in 2 µs", (2e-6, 1, 96_000)),
    Case("no compute at all", (0.0, 480, 48_000)),
]

RTF_MISTAKES = [
    Mistake("the ratio is upside down (audio time ÷ compute time, a speed-up). The real-time factor is compute "
            "time ÷ audio time: below 1 means faster than real time.",
            lambda c, n, sr: (n / sr) / c),
    Mistake("the audio's duration is in milliseconds (1000·samples/sample_rate) while the compute time is in "
            "seconds. Use seconds for both: samples / sample_rate.",
            lambda c, n, sr: c / (1000.0 * n / sr)),
    Mistake("you turned the compute time into milliseconds (×1000); it is already in seconds, like the audio's "
            "duration samples / sample_rate.",
            lambda c, n, sr: 1000.0 * c / (n / sr)),
    Mistake("you divided by the number of samples: that is seconds per sample. Divide by the audio's duration in "
            "seconds, samples / sample_rate.",
            lambda c, n, sr: c / n),
    Mistake("samples × sample_rate is not a duration: the audio lasts samples / sample_rate seconds.",
            lambda c, n, sr: c / (n * sr)),
]


def check_real_time_factor(fn: Callable[[float, int, float], float]) -> CheckResult:
    """Check ``fn(compute_seconds, samples, sample_rate) -> float``: the real-time factor of processing
    ``samples`` samples at ``sample_rate`` Hz in ``compute_seconds`` seconds, i.e. compute time ÷ audio time
    (below 1: faster than real time)."""
    return run_check("real_time_factor", fn, real_time_factor_reference, RTF_CASES, compare=_RATIO,
                     mistakes=RTF_MISTAKES)


# -------------------------------------------------------------------------------------- latency of a block
def block_latency_reference(block_size: int, sample_rate: float) -> float:
    """How long one block of ``block_size`` samples lasts at ``sample_rate`` Hz, in milliseconds: the host must
    collect a whole block before the plugin sees its first sample, so a block size adds at least this delay."""
    return 1000.0 * block_size / sample_rate


LATENCY_CASES = [
    Case("64 samples at 48 kHz", (64, 48_000)),
    Case("1024 samples at 44.1 kHz", (1024, 44_100)),
    Case("480 samples at 48 kHz (exactly 10 ms)", (480, 48_000)),
    Case("one sample at 96 kHz", (1, 96_000)),
]

LATENCY_MISTAKES = [
    Mistake("that is in seconds. The question asks for milliseconds: multiply by 1000.",
            lambda n, sr: n / sr),
    Mistake("the ratio is upside down: sample_rate / block_size is how many blocks play per second. One block lasts "
            "block_size / sample_rate seconds (× 1000 for ms).",
            lambda n, sr: 1000.0 * sr / n),
    Mistake("sample_rate / block_size is how many blocks play per second, not how long one lasts: use "
            "1000 · block_size / sample_rate.",
            lambda n, sr: sr / n),
]


def check_block_latency(fn: Callable[[int, float], float]) -> CheckResult:
    """Check ``fn(block_size, sample_rate) -> float``: the duration of one block, in milliseconds."""
    return run_check("block_latency_ms", fn, block_latency_reference, LATENCY_CASES, compare=_RATIO,
                     mistakes=LATENCY_MISTAKES)
