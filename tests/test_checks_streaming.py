"""The checks of notebook 04: a correct answer passes, the stub says "not written yet", an error in the student's code
is shown with its line, and each typical mistake, written by hand as a student would, gets its own hint."""

import numpy as np
import torch

from helpers.checks.streaming import (
    check_block_latency,
    check_real_time_factor,
    check_streaming_conv,
    streaming_conv_cases,
    streaming_conv_reference,
)


class GoodConv:
    """A correct streaming convolution (the notebook's solution)."""

    def __init__(self, weight, dilation):
        self.weight = np.asarray(weight, dtype=np.float64)
        self.dilation = int(dilation)
        self.history = np.zeros((self.weight.shape[1], (self.weight.shape[2] - 1) * self.dilation))

    def process_block(self, x_block):
        n, h = x_block.shape[1], self.history.shape[1]
        buf = np.concatenate([self.history, x_block], axis=1)
        k = self.weight.shape[2]
        y = np.zeros((self.weight.shape[0], n))
        for j in range(k):
            delay = (k - 1 - j) * self.dilation
            y += self.weight[:, :, j] @ buf[:, h - delay : h - delay + n]
        self.history = buf[:, buf.shape[1] - h :]
        return y


class Float32Conv(GoodConv):
    """Correct, in float32 and returning a tensor: still right."""

    def process_block(self, x_block):
        return torch.from_numpy(super().process_block(x_block).astype(np.float32))


def test_reference_is_the_offline_convolution():
    for case in streaming_conv_cases():
        w, d, x, block = case.args
        offline = torch.nn.functional.conv1d(torch.nn.functional.pad(torch.from_numpy(x)[None], ((w.shape[2] - 1) * d, 0)),
                                             torch.from_numpy(w), dilation=d)[0].numpy()
        np.testing.assert_allclose(streaming_conv_reference(w, d, x, block), offline, atol=1e-5)


def test_correct_streaming_conv_passes():
    result = check_streaming_conv(GoodConv)
    assert result, result
    assert result.message.startswith("all 9 cases")
    assert check_streaming_conv(Float32Conv)


def test_stub_is_not_written_yet():
    class Stub:
        def __init__(self, weight, dilation):
            # YOUR CODE HERE
            raise NotImplementedError()

        def process_block(self, x_block):
            # YOUR CODE HERE
            raise NotImplementedError()

    result = check_streaming_conv(Stub)
    assert not result and "not written yet" in result.message


def test_error_in_student_code_shows_its_line():
    class Broken(GoodConv):
        def process_block(self, x_block):
            return self.weights @ x_block  # typo: no such attribute

    result = check_streaming_conv(Broken)
    assert not result
    assert "AttributeError" in result.message and "line" in result.message and "self.weights" in result.message


def test_an_instance_instead_of_the_class():
    result = check_streaming_conv(GoodConv(np.ones((1, 1, 3)), 1))
    assert not result and "no parentheses" in result.message


def test_returning_none():
    class ReturnsNothing(GoodConv):
        def process_block(self, x_block):
            super().process_block(x_block)

    result = check_streaming_conv(ReturnsNothing)
    assert not result and "returned None" in result.message


def test_mistake_state_reset_every_block():
    class Forgets(GoodConv):
        def process_block(self, x_block):
            keep = self.history.copy()
            y = super().process_block(x_block)
            self.history = keep  # never moves on: every block starts from zeros
            return y

    result = check_streaming_conv(Forgets)
    assert not result and "starts from silence" in result.message


def test_mistake_history_one_sample_too_long():
    class TooLong(GoodConv):
        def __init__(self, weight, dilation):
            super().__init__(weight, dilation)
            self.h = self.history.shape[1]
            self.history = np.zeros((self.weight.shape[1], self.h + 1))

        def process_block(self, x_block):
            n, h = x_block.shape[1], self.h  # counts taps as if the history were h long
            buf = np.concatenate([self.history, x_block], axis=1)
            k = self.weight.shape[2]
            y = np.zeros((self.weight.shape[0], n))
            for j in range(k):
                delay = (k - 1 - j) * self.dilation
                y += self.weight[:, :, j] @ buf[:, h - delay : h - delay + n]
            self.history = buf[:, buf.shape[1] - (h + 1) :]
            return y

    result = check_streaming_conv(TooLong)
    assert not result and "one sample late" in result.message


def test_mistake_history_one_sample_short():
    class TooShort:
        def __init__(self, weight, dilation):
            self.w, self.d = np.asarray(weight), dilation
            self.hist = np.zeros((self.w.shape[1], (self.w.shape[2] - 1) * dilation - 1))

        def process_block(self, x):
            k, h = self.w.shape[2], self.hist.shape[1]
            buf = np.concatenate([self.hist, x], axis=1)
            y = np.zeros((self.w.shape[0], x.shape[1]))
            for t in range(x.shape[1]):
                for j in range(k):
                    y[:, t] += self.w[:, :, j] @ buf[:, h + t - (k - 1 - j) * self.d]
            self.hist = buf[:, buf.shape[1] - h :]
            return y

    result = check_streaming_conv(TooShort)
    assert not result and "one sample short" in result.message


def test_mistake_dilation_missing_from_the_taps():
    class NoDilation(GoodConv):
        def process_block(self, x_block):
            n, h = x_block.shape[1], self.history.shape[1]
            buf = np.concatenate([self.history, x_block], axis=1)
            k = self.weight.shape[2]
            y = np.zeros((self.weight.shape[0], n))
            for j in range(k):
                delay = k - 1 - j  # forgot × dilation
                y += self.weight[:, :, j] @ buf[:, h - delay : h - delay + n]
            self.history = buf[:, buf.shape[1] - h :]
            return y

    result = check_streaming_conv(NoDilation)
    assert not result and "dilation is missing" in result.message


def test_mistake_taps_reversed():
    class Flipped(GoodConv):
        def __init__(self, weight, dilation):
            super().__init__(np.asarray(weight)[:, :, ::-1], dilation)  # np.convolve's order

    result = check_streaming_conv(Flipped)
    assert not result and "reverse order" in result.message


def test_mistake_only_the_last_sample():
    class LastOnly(GoodConv):
        def process_block(self, x_block):
            return super().process_block(x_block)[:, -1]

    class LastOnlyKeepdim(GoodConv):
        def process_block(self, x_block):
            return super().process_block(x_block)[:, -1:]

    for cls in (LastOnly, LastOnlyKeepdim):
        result = check_streaming_conv(cls)
        assert not result and "one output per block" in result.message


def test_mistake_channel_axis_dropped():
    class Flat(GoodConv):
        def process_block(self, x_block):
            return super().process_block(x_block)[0]

    result = check_streaming_conv(Flat)
    assert not result and "channel axis" in result.message


# ------------------------------------------------------------------------------------------ real-time factor
def test_real_time_factor():
    assert check_real_time_factor(lambda c, n, sr: c / (n / sr))
    assert check_real_time_factor(lambda c, n, sr: c * sr / n)


def test_real_time_factor_stub_and_error():
    def stub(compute_seconds, samples, sample_rate):
        # YOUR CODE HERE
        raise NotImplementedError()

    assert "not written yet" in check_real_time_factor(stub).message

    def broken(compute_seconds, samples, sample_rate):
        return compute_seconds / (samples / sample_rte)  # noqa: F821 - the student's typo

    result = check_real_time_factor(broken)
    assert not result and "NameError" in result.message and "line" in result.message


def test_real_time_factor_mistakes():
    hints = {
        "upside down": lambda c, n, sr: (n / sr) / c,
        "in milliseconds (1000·samples": lambda c, n, sr: c / (n / sr * 1000),
        "turned the compute time into milliseconds": lambda c, n, sr: c * 1000 / (n / sr),
        "seconds per sample": lambda c, n, sr: c / n,
        "is not a duration": lambda c, n, sr: c / (n * sr),
    }
    for hint, wrong in hints.items():
        result = check_real_time_factor(wrong)
        assert not result and hint in result.message, (hint, result)


# ------------------------------------------------------------------------------------------ block latency
def test_block_latency():
    assert check_block_latency(lambda n, sr: 1000 * n / sr)
    result = check_block_latency(lambda n, sr: n / sr)
    assert not result and "in seconds" in result.message
    result = check_block_latency(lambda n, sr: 1000 * sr / n)
    assert not result and "upside down" in result.message
    result = check_block_latency(lambda n, sr: sr / n)
    assert not result and "blocks play per second" in result.message
