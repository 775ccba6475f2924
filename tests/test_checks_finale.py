"""The checks of notebook 09: the reference passes, the stub says "not written yet", an error in the student's code
names its line, and every typical mistake, written here by hand as a student would, fails with its own hint."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.checks.finale import check_apply_fades, check_knob_sweep, check_midi_to_hz
from helpers.finale import apply_fades, knob_sweep


def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError()


# ------------------------------------------------------------------------------------------ apply_fades
def good_fades(x, fade_ms, sample_rate):
    y = x.astype(np.float32).copy()
    n = round(fade_ms * sample_rate / 1000)
    if n > 0:
        ramp = np.linspace(0, 1, n)
        y[:n] *= ramp
        y[len(y) - n:] *= ramp[::-1]
    return y


def test_fades_reference_and_a_student_solution_pass():
    assert check_apply_fades(apply_fades)
    result = check_apply_fades(good_fades)
    assert result and str(result).startswith("✓ apply_fades")


def test_fades_stub_is_not_written_yet():
    result = check_apply_fades(stub)
    assert not result and "not written yet" in str(result) and str(result).startswith("✗")


def test_fades_error_names_the_line():
    def broken(x, fade_ms, sample_rate):
        n = round(fade_ms * sample_rate / 1000)
        ramp = np.linspace(0, 1, n)
        y = x.copy()
        y[:n] *= ramp
        y[-n:] *= ramp[::-1]  # with n = 0, y[-0:] is the whole signal: shapes do not broadcast
        return y

    result = check_apply_fades(broken)
    assert not result and "ValueError" in result.message and "line" in result.message
    assert "x[-0:]" in result.message  # the case label says what went wrong


def _fade_variant(n_of=lambda ms, sr: round(ms * sr / 1000), ramp_of=lambda n: np.linspace(0, 1, n),
                  fade_in=True, fade_out=True, reverse=True):
    def student(x, fade_ms, sample_rate):
        y = x.copy()
        n = n_of(fade_ms, sample_rate)
        if n > 0:
            ramp = ramp_of(n)
            if fade_in:
                y[:n] = y[:n] * ramp
            if fade_out:
                y[len(y) - n:] = y[len(y) - n:] * (ramp[::-1] if reverse else ramp)
        return y

    return student


@pytest.mark.parametrize("student, hint", [
    (_fade_variant(fade_out=False), "only the start is faded"),
    (_fade_variant(fade_in=False), "only the end is faded"),
    (_fade_variant(reverse=False), "fade-out ramp goes UP"),
    (_fade_variant(n_of=lambda ms, sr: int(ms)), "fade_ms SAMPLES long"),
    (_fade_variant(n_of=lambda ms, sr: int(ms * sr / 1000)), "int() cuts off the fraction"),
    (_fade_variant(ramp_of=lambda n: np.arange(1, n + 1) / n), "starts at 1/n"),
    (_fade_variant(ramp_of=lambda n: np.arange(n) / n), "one step short of 1"),
], ids=["no-fade-out", "no-fade-in", "fade-out-not-reversed", "ms-as-samples", "int-truncation",
        "ramp-starts-at-1/n", "ramp-short-of-1"])
def test_fades_mistakes_get_their_hint(student, hint):
    result = check_apply_fades(student)
    assert not result and hint in result.message, result.message


# ------------------------------------------------------------------------------------------ knob_sweep
def good_sweep(n_samples, start, end, minimum, maximum):
    return (np.linspace(start, end, n_samples) - minimum) / (maximum - minimum)


def test_sweep_reference_and_a_student_solution_pass():
    assert check_knob_sweep(knob_sweep)
    assert check_knob_sweep(good_sweep)
    # a loop over samples is slower but right
    assert check_knob_sweep(lambda n, a, b, lo, hi: [((a + (b - a) * i / max(n - 1, 1)) - lo) / (hi - lo)
                                                     for i in range(n)])


def test_sweep_stub_and_error():
    assert "not written yet" in check_knob_sweep(stub).message

    def broken(n_samples, start, end, minimum, maximum):
        values = start + (end - start) * np.arange(n_samples) / (n_samples - 1)
        return (values - minimum) / (maximum - minimum) + missing  # noqa: F821

    result = check_knob_sweep(broken)
    assert not result and "NameError" in result.message and "line" in result.message


@pytest.mark.parametrize("student, hint", [
    (lambda n, a, b, lo, hi: np.linspace(a, b, n), "knob values in the knob's unit"),
    (lambda n, a, b, lo, hi: (a + (b - a) * np.arange(n) / n - lo) / (hi - lo), "one step short of `end`"),
    (lambda n, a, b, lo, hi: (np.linspace(a, b, n + 1) - lo) / (hi - lo), "n_samples + 1 values"),
    (lambda n, a, b, lo, hi: np.linspace(a, b, n) / hi, "divided by the maximum only"),
    (lambda n, a, b, lo, hi: np.linspace(a, b, n) / (hi - lo), "did not subtract the minimum"),
    (lambda n, a, b, lo, hi: np.linspace(0, 1, n), "whole range"),
    (lambda n, a, b, lo, hi: (hi - np.linspace(a, b, n)) / (hi - lo), "upside down"),
], ids=["not-normalised", "endpoint-off-by-one", "one-sample-too-many", "divided-by-max", "minimum-not-subtracted",
        "ignores-start-and-end", "upside-down"])
def test_sweep_mistakes_get_their_hint(student, hint):
    result = check_knob_sweep(student)
    assert not result and hint in result.message, result.message


# ------------------------------------------------------------------------------------------ midi_to_hz
def test_midi_reference_and_a_student_solution_pass():
    assert check_midi_to_hz(lambda p: 440 * 2 ** ((np.asarray(p) - 69) / 12))
    assert check_midi_to_hz(lambda p: 440.0 * np.power(2.0, (p - 69) / 12.0))


def test_midi_stub_and_error():
    assert "not written yet" in check_midi_to_hz(stub).message

    def broken(pitch):
        return 440 * 2 ** ((pitch - 69) / 12) if pitch > 0 else 0.0  # an array has no single truth value

    result = check_midi_to_hz(broken)
    assert not result and "ValueError" in result.message and "line" in result.message


@pytest.mark.parametrize("student, hint", [
    (lambda p: 440 * 2 ** ((np.asarray(p) - 60) / 12), "440 Hz at note 60"),
    (lambda p: 440 * 2.0 ** (np.asarray(p) - 69), "divide the note difference by 12"),
    (lambda p: 440 * np.exp((np.asarray(p) - 69) / 12), "np.exp"),
    (lambda p: 440 * 2 ** ((69 - np.asarray(p)) / 12), "higher notes must give higher frequencies"),
    (lambda p: 220 * 2 ** ((np.asarray(p) - 69) / 12), "an octave off"),
    (lambda p: 880 * 2 ** ((np.asarray(p) - 69) / 12), "an octave off"),
], ids=["A4-at-60", "no-division-by-12", "natural-exp", "sign-flipped", "octave-low", "octave-high"])
def test_midi_mistakes_get_their_hint(student, hint):
    result = check_midi_to_hz(student)
    assert not result and hint in result.message, result.message
