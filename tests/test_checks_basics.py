"""The checks of notebook 00: the reference passes, the stub says "not written yet", a student's error names its
line, and every typical mistake (written here by hand, as a student would) fails with its own hint."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.audio import rms_dbfs
from helpers.checks.basics import check_rms_dbfs, check_seconds_to_samples


def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError()


# ------------------------------------------------------------------------------------------ rms_dbfs
def good_rms_dbfs(x):
    rms = np.sqrt(np.mean(np.square(x.astype(np.float64))))
    return 20 * np.log10(rms) if rms > 0 else float("-inf")


def test_rms_reference_and_a_student_solution_pass():
    assert check_rms_dbfs(rms_dbfs)
    result = check_rms_dbfs(good_rms_dbfs)
    assert result and str(result).startswith("✓ rms_dbfs")


def test_power_form_of_rms_passes():
    # 10·log10 of the mean square is the same number: not a mistake.
    def power_form(x):
        ms = np.mean(x.astype(np.float64) ** 2)
        return 10 * np.log10(ms) if ms > 0 else -np.inf

    assert check_rms_dbfs(power_form)


def test_rms_stub_is_not_written_yet():
    result = check_rms_dbfs(stub)
    assert not result and "not written yet" in str(result) and str(result).startswith("✗")


def test_rms_error_names_the_line():
    def broken(x):
        return 20 * np.log10(np.sqrt(np.mean(x ** 2))) + undefined_name  # noqa: F821

    result = check_rms_dbfs(broken)
    assert not result and "NameError" in result.message and "line" in result.message


@pytest.mark.parametrize("wrong, hint", [
    (lambda x: 10 * np.log10(np.sqrt(np.mean(x ** 2))), "10·log10 of the RMS"),
    (lambda x: 20 * np.log10(np.mean(x ** 2)), "skipped the square root"),
    (lambda x: 20 * np.log10(np.max(np.abs(x))), "peak level"),
    (lambda x: 20 * np.log10(np.mean(np.abs(x))), "averaged |x|"),
    (lambda x: 20 * np.log10(np.sqrt(np.sum(x ** 2))), "summed the squares"),
    (lambda x: 20 * np.log(np.sqrt(np.mean(x ** 2))), "natural logarithm"),
    (lambda x: np.sqrt(np.mean(x ** 2)), "linear RMS"),
    (lambda x: 20 * np.log10(np.sqrt(np.mean(x ** 2)) / 32768), "32768"),
], ids=["10log10", "no-sqrt", "peak", "mean-abs", "sum", "ln", "linear", "int16-scale"])
def test_rms_mistakes_get_their_hint(wrong, hint):
    with np.errstate(divide="ignore", invalid="ignore"):
        result = check_rms_dbfs(wrong)
    assert not result
    assert hint in result.message, result.message


def test_rms_silence_must_be_minus_inf():
    def floor_at_minus_120(x):
        rms = np.sqrt(np.mean(x.astype(np.float64) ** 2))
        return 20 * np.log10(max(rms, 1e-6))

    result = check_rms_dbfs(floor_at_minus_120)
    assert not result and "silence" in result.message and "-inf" in result.message


# ------------------------------------------------------------------------------------------ seconds_to_samples
def test_samples_reference_passes():
    assert check_seconds_to_samples(lambda seconds, sample_rate: round(seconds * sample_rate))
    assert check_seconds_to_samples(lambda seconds, sample_rate: int(np.round(seconds * sample_rate)))


def test_samples_stub_and_error():
    assert "not written yet" in check_seconds_to_samples(stub).message

    def broken(seconds, sample_rate):
        return round(seconds * sample_rate) // 0

    result = check_seconds_to_samples(broken)
    assert not result and "ZeroDivisionError" in result.message and "line" in result.message


@pytest.mark.parametrize("wrong, hint", [
    (lambda s, sr: int(s * sr), "cuts off the fraction"),
    (lambda s, sr: int(np.floor(s * sr)), "cuts off the fraction"),
    (lambda s, sr: int(s * sr // 1), "cuts off the fraction"),
    (lambda s, sr: int(np.ceil(s * sr)), "np.ceil always rounds up"),
    (lambda s, sr: np.round(s * sr), "returned a float"),
    (lambda s, sr: round(s * sr / 1000), "milliseconds"),
    (lambda s, sr: round(s / sr), "divided by the sample rate"),
], ids=["int", "floor", "floordiv", "ceil", "float", "ms", "divide"])
def test_samples_mistakes_get_their_hint(wrong, hint):
    result = check_seconds_to_samples(wrong)
    assert not result
    assert hint in result.message, result.message


def test_samples_not_a_function():
    result = check_seconds_to_samples(48_000)
    assert not result and "expected a function" in result.message
