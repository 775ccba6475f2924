"""The checks of notebook 01: the reference passes, the stub says "not written yet", a student's error names its
line, and every typical mistake (written here by hand, as a student would) fails with its own hint."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as sps

from helpers.capture.splits import splits_from_sections
from helpers.checks.capture import (
    QUICK_LAYOUT,
    _latency_cases,
    check_estimate_latency,
    check_headroom_db,
    check_split_by_role,
    correlation_lag,
    headroom_reference,
)


def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError()


# ------------------------------------------------------------------------------------------ estimate_latency
def student_latency(dry, wet, max_lag):
    r = np.correlate(wet, dry, mode="full")
    lags = np.arange(-(len(dry) - 1), len(wet))
    keep = np.abs(lags) <= max_lag
    return int(lags[keep][np.argmax(np.abs(r[keep]))])


def loop_latency(dry, wet, max_lag):
    # Another correct way: one dot product per lag.
    n = len(dry)
    best, best_lag = -1.0, 0
    for lag in range(-max_lag, max_lag + 1):
        a, b = (wet[lag:], dry[:n - lag]) if lag >= 0 else (wet[:n + lag], dry[-lag:])
        v = abs(float(np.dot(a, b)))
        if v > best:
            best, best_lag = v, lag
    return best_lag


def test_latency_reference_finds_the_known_delays():
    assert [correlation_lag(*c.args) for c in _latency_cases()] == [7, 0, 20, -3, 12, 5, 0, 0]


def test_latency_reference_and_student_solutions_pass():
    assert check_estimate_latency(correlation_lag)
    assert check_estimate_latency(student_latency)
    assert check_estimate_latency(loop_latency)


def test_latency_stub_and_error():
    result = check_estimate_latency(stub)
    assert not result and "not written yet" in result.message

    def broken(dry, wet, max_lag):
        r = np.correlate(wet, dry, mode="full")
        return int(np.argmax(r[max_lag])) + len(wet[0])

    result = check_estimate_latency(broken)
    assert not result and "TypeError" in result.message and "line" in result.message


def flipped(dry, wet, max_lag):
    r = np.correlate(dry, wet, mode="full")
    lags = np.arange(-(len(dry) - 1), len(wet))
    keep = np.abs(lags) <= max_lag
    return int(lags[keep][np.argmax(np.abs(r[keep]))])


def off_by_one(dry, wet, max_lag):
    r = np.correlate(wet, dry, mode="full")
    i = int(np.argmax(np.abs(r[len(dry) - 1 - max_lag: len(dry) + max_lag])))
    return i + (len(dry) - 1 - max_lag) - len(dry)


def window_index(dry, wet, max_lag):
    r = np.correlate(wet, dry, mode="full")
    window = r[len(dry) - 1 - max_lag: len(dry) + max_lag]
    return int(np.argmax(np.abs(window)))


def full_index(dry, wet, max_lag):
    r = np.correlate(wet, dry, mode="full")
    lags = np.arange(-(len(dry) - 1), len(wet))
    r[np.abs(lags) > max_lag] = 0
    return int(np.argmax(np.abs(r)))


def signed_peak(dry, wet, max_lag):
    r = sps.correlate(wet, dry)
    lags = sps.correlation_lags(len(wet), len(dry))
    keep = np.abs(lags) <= max_lag
    return int(lags[keep][np.argmax(r[keep])])


def unbounded(dry, wet, max_lag):
    r = sps.correlate(wet, dry)
    return int(sps.correlation_lags(len(wet), len(dry))[np.argmax(np.abs(r))])


def max_excluded(dry, wet, max_lag):
    r = np.correlate(wet, dry, mode="full")
    lags = np.arange(-max_lag, max_lag)  # stops one short of +max_lag
    return int(lags[np.argmax(np.abs(r[lags + len(dry) - 1]))])


def positive_only(dry, wet, max_lag):
    r = np.correlate(wet, dry, mode="full")[len(dry) - 1:]
    return int(np.argmax(np.abs(r[: max_lag + 1])))


def circular(dry, wet, max_lag):
    r = np.fft.irfft(np.fft.rfft(wet) * np.conj(np.fft.rfft(dry)), n=len(dry))
    candidates = list(range(max_lag + 1)) + list(range(len(dry) - max_lag, len(dry)))
    return max(candidates, key=lambda k: abs(r[k]))


@pytest.mark.parametrize("wrong, hint", [
    (flipped, "sign of the lag is flipped"),
    (off_by_one, "off by one"),
    (window_index, "position in the searched window"),
    (full_index, "index into the 'full' correlation"),
    (signed_peak, "largest SIGNED correlation"),
    (unbounded, "searched beyond max_lag"),
    (max_excluded, "lag = +max_lag was left out"),
    (positive_only, "only lags >= 0"),
    (circular, "circular correlation wraps around"),
], ids=lambda v: v if isinstance(v, str) and " " not in v else None)
def test_latency_mistakes_get_their_hint(wrong, hint):
    result = check_estimate_latency(wrong)
    assert not result
    assert hint in result.message, result.message


# ------------------------------------------------------------------------------------------ split_by_role
def student_split(sections):
    splits = {"train": [], "validation": [], "test": []}
    for s in sections:
        if s.role in splits:
            splits[s.role].append((s.start, s.end))
    return splits


def test_split_reference_and_student_pass():
    assert check_split_by_role(splits_from_sections)
    assert check_split_by_role(student_split)  # unmerged, unsorted ranges are fine


def test_split_reference_matches_the_real_quick_layout():
    from helpers.capture.reamp import make_reamp_signal

    layout = make_reamp_signal(48_000, quick=True, seed=0).layout
    assert [(s.name, s.role, s.start, s.end) for s in layout.sections] == \
        [(s.name, s.role, s.start, s.end) for s in QUICK_LAYOUT]


def test_split_stub_and_error():
    assert "not written yet" in check_split_by_role(stub).message

    def broken(sections):
        return {s.role: [(s.start, s.stop)] for s in sections}

    result = check_split_by_role(broken)
    assert not result and "AttributeError" in result.message and "line" in result.message


def everything_else_trains(sections):
    splits = {"train": [], "validation": [], "test": []}
    for s in sections:
        splits[s.role if s.role in ("validation", "test") else "train"].append((s.start, s.end))
    return splits


def repeatability_trains(sections):
    splits = {"train": [], "validation": [], "test": []}
    for s in sections:
        if s.role in ("train", "repeatability"):
            splits["train"].append((s.start, s.end))
        elif s.role in splits:
            splits[s.role].append((s.start, s.end))
    return splits


def by_name(sections):
    splits = {"train": [], "validation": [], "test": []}
    for s in sections:
        if "validation" in s.name:
            splits["validation"].append((s.start, s.end))
        elif s.role in ("train", "test"):
            splits[s.role].append((s.start, s.end))
    return splits


def overwrite(sections):
    splits = {}
    for s in sections:
        if s.role in ("train", "validation", "test"):
            splits[s.role] = [(s.start, s.end)]
    return splits


def start_length(sections):
    return {k: [(s.start, s.length) for s in sections if s.role == k] for k in ("train", "validation", "test")}


def inclusive_end(sections):
    return {k: [(s.start, s.end - 1) for s in sections if s.role == k] for k in ("train", "validation", "test")}


@pytest.mark.parametrize("wrong, hint", [
    (everything_else_trains, "train holds only sections whose role is 'train'"),
    (repeatability_trains, "validation_a (role 'repeatability') is in train"),
    (by_name, "Select by role, not by name"),
    (overwrite, "kept only its last section"),
    (start_length, "not (start, length)"),
    (inclusive_end, "half-open"),
], ids=["everything-else-trains", "repeatability-trains", "by-name", "overwrite", "start-length", "inclusive-end"])
def test_split_mistakes_get_their_hint(wrong, hint):
    result = check_split_by_role(wrong)
    assert not result
    assert hint in result.message, result.message


def test_split_missing_key_and_malformed_output():
    result = check_split_by_role(lambda sections: {k: v for k, v in student_split(sections).items() if k != "test"})
    assert not result and "keys" in result.message
    result = check_split_by_role(lambda sections: [(s.start, s.end) for s in sections])
    assert not result and "expected a dict" in result.message


# ------------------------------------------------------------------------------------------ headroom_db
def student_headroom(y):
    peak = np.max(np.abs(y - np.mean(y)))
    return -20 * np.log10(peak) if peak > 0 else np.inf


def test_headroom_reference_and_student_pass():
    assert check_headroom_db(headroom_reference)
    assert check_headroom_db(student_headroom)


def test_headroom_stub_and_error():
    assert "not written yet" in check_headroom_db(stub).message
    result = check_headroom_db(lambda y: -20 * np.log10(np.max(np.abs(y - y.mean(axis=1)))))
    assert not result and "line" in result.message


@pytest.mark.parametrize("wrong, hint", [
    (lambda y: -20 * np.log10(np.max(np.abs(y))), "DC offset is still in"),
    (lambda y: 20 * np.log10(np.max(np.abs(y - y.mean()))), "sign is flipped"),
    (lambda y: -10 * np.log10(np.max(np.abs(y - y.mean()))), "10·log10 of a peak"),
    (lambda y: -20 * np.log10(np.sqrt(np.mean((y - y.mean()) ** 2))), "measured the RMS"),
], ids=["dc-kept", "sign", "10log10", "rms"])
def test_headroom_mistakes_get_their_hint(wrong, hint):
    with np.errstate(divide="ignore", invalid="ignore"):
        result = check_headroom_db(wrong)
    assert not result
    assert hint in result.message, result.message
