"""The checks of notebook 03: a correct answer passes, the stub says "not written yet", an error in the student's code
is shown with its line, and each typical mistake, written by hand as a student would, gets its own hint."""

import numpy as np
import pytest

from helpers.amp.data import AmpData
from helpers.amp.evaluate import evaluate
from helpers.amp.listen import loudness_match
from helpers.audio import rms_dbfs
from helpers.checks.evaluation import (
    check_esr_db,
    check_loudness_gain_db,
    check_match_loudness,
    check_section_esr,
    section_esr_reference,
)
from helpers.models import build_model


def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError()


# -------------------------------------------------------------------------------------- ESR per section
def good_section_esr(pred, target, sections):
    overall = np.mean(target.astype(np.float64) ** 2)
    scores = {}
    for sec in sections:
        t = target[sec["start"] : sec["end"]].astype(np.float64)
        p = pred[sec["start"] : sec["end"]].astype(np.float64)
        if sec["role"] == "gap" or np.mean(t**2) < 1e-4 * overall:
            continue
        scores[sec["name"]] = np.sum((t - p) ** 2) / np.sum(t**2)
    return scores


def wrong_sections(score=None, end=0, skip=True, gaps=True, whole=False):
    """A student's section_esr with one thing changed (``skip``: skip quiet sections; ``gaps``: skip gaps)."""
    score = score or (lambda p, t: np.sum((t - p) ** 2) / np.sum(t**2))

    def section_esr(pred, target, sections):
        overall = np.mean(target.astype(np.float64) ** 2)
        scores = {}
        for sec in sections:
            s, e = sec["start"], sec["end"]
            if skip and np.mean(target[s:e].astype(np.float64) ** 2) < 1e-4 * overall:
                continue
            if gaps and sec["role"] == "gap":
                continue
            t = (target if whole else target[s : e + end]).astype(np.float64)
            p = (pred if whole else pred[s : e + end]).astype(np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                scores[sec["name"]] = score(p, t)
        return scores

    return section_esr


def test_reference_agrees_with_the_library_evaluation():
    rng = np.random.default_rng(0)
    n = 6000
    x = (rng.standard_normal(n) * 0.3).astype(np.float32)
    y = np.tanh(3 * x).astype(np.float32)
    y[2000:2500] *= 1e-4  # a near-silent stretch: both skip it
    y[2500:2800] *= 0.1  # a gap where something still rings: both skip it by its role
    sections = [{"name": "a", "start": 0, "end": 2000, "role": "train"},
                {"name": "quiet", "start": 2000, "end": 2500, "role": "train"},
                {"name": "ringing_gap", "start": 2500, "end": 2800, "role": "gap"},
                {"name": "b", "start": 2800, "end": n, "role": "test"}]
    data = AmpData(x, y, 8000, {"train": [(0, 4000)], "validation": [(4000, 5000)], "test": [(5000, n)]}, sections)
    model = build_model("tcn", None, channels=2, dilations=[1, 2], activation="tanh")
    ev = evaluate(model, data)
    assert {r["section"] for r in ev.sections} == {"a", "b"}
    ours = section_esr_reference(ev.prediction, data.y, data.sections)
    assert ours == pytest.approx({r["section"]: r["esr"] for r in ev.sections}, rel=1e-6)


def test_correct_section_esr_passes():
    result = check_section_esr(good_section_esr)
    assert result, result


def test_section_esr_stub_and_error():
    assert "not written yet" in check_section_esr(stub).message

    def broken(pred, target, sections):
        return {s["nmae"]: 0.0 for s in sections}  # typo

    result = check_section_esr(broken)
    assert not result and "KeyError" in result.message and "line" in result.message


def test_section_esr_without_denominator():
    result = check_section_esr(wrong_sections(score=lambda p, t: np.sum((t - p) ** 2)))
    assert not result and "no denominator" in result.message


def test_section_esr_over_the_whole_signal():
    result = check_section_esr(wrong_sections(whole=True))
    assert not result and "whole signal" in result.message


def test_section_esr_inclusive_end():
    result = check_section_esr(wrong_sections(end=1))
    assert not result and "inclusive" in result.message


def test_section_esr_drops_the_last_sample():
    result = check_section_esr(wrong_sections(end=-1))
    assert not result and "last sample of each section is dropped" in result.message


def test_section_esr_scores_everything():
    result = check_section_esr(wrong_sections(skip=False, gaps=False))
    assert not result and "gaps are scored" in result.message


def test_section_esr_skips_only_silence_not_gaps():
    result = check_section_esr(wrong_sections(gaps=False))
    assert not result and "gaps are scored" in result.message


def test_section_esr_divides_by_the_prediction():
    result = check_section_esr(wrong_sections(score=lambda p, t: np.sum((t - p) ** 2) / np.sum(p**2)))
    assert not result and "prediction's energy" in result.message


def test_section_esr_skipping_only_sections_called_gap_is_not_enough():
    def by_role(pred, target, sections):
        return {s["name"]: np.sum((target[s["start"]:s["end"]] - pred[s["start"]:s["end"]]) ** 2)
                / np.sum(target[s["start"]:s["end"]] ** 2) for s in sections if s["role"] != "gap"}

    result = check_section_esr(by_role)
    assert not result and "not called a gap" in result.message and "silent section is scored" in result.message


# -------------------------------------------------------------------------------------- loudness
def rms(x):
    return np.sqrt(np.mean(np.square(x, dtype=np.float64)))


def good_gain_db(x, reference):
    if rms(x) == 0 or rms(reference) == 0:
        return 0.0
    return 20 * np.log10(rms(reference) / rms(x))


def good_match(x, reference):
    return x * 10 ** (good_gain_db(x, reference) / 20)


def test_correct_loudness_functions_pass():
    assert check_loudness_gain_db(good_gain_db)
    assert check_match_loudness(good_match)


def test_matched_clips_agree_with_the_players_loudness_match():
    rng = np.random.default_rng(0)
    x, ref = rng.standard_normal(1000) * 0.01, rng.standard_normal(1000) * 0.1
    library = loudness_match({"x": x}, target_dbfs=rms_dbfs(ref), keep_relative=None)["x"]
    np.testing.assert_allclose(good_match(x, ref), library, rtol=1e-5)


def test_loudness_stubs_and_errors():
    assert "not written yet" in check_loudness_gain_db(stub).message
    assert "not written yet" in check_match_loudness(stub).message
    result = check_loudness_gain_db(lambda x, r: 20 * np.log10(rms(r) / rms(x[None][1])))
    assert not result and "IndexError" in result.message and "line" in result.message


def test_gain_db_ten_log():
    result = check_loudness_gain_db(lambda x, r: 10 * np.log10(rms(r) / rms(x)) if rms(x) and rms(r) else 0.0)
    assert not result and "20·log10" in result.message and "10·log10 of an amplitude ratio" in result.message


def test_gain_db_upside_down():
    result = check_loudness_gain_db(lambda x, r: 20 * np.log10(rms(x) / rms(r)) if rms(x) and rms(r) else 0.0)
    assert not result and "upside down" in result.message


def test_gain_db_peak():
    result = check_loudness_gain_db(
        lambda x, r: 20 * np.log10(np.max(np.abs(r)) / np.max(np.abs(x))) if np.any(x) else 0.0)
    assert not result and "peak levels matched" in result.message


def test_gain_db_mean_square_with_twenty_log():
    result = check_loudness_gain_db(lambda x, r: 20 * np.log10(np.mean(r**2) / np.mean(x**2)) if np.any(x) else 0.0)
    assert not result and "doubles the dB" in result.message


def test_gain_db_silent_clip():
    with np.errstate(divide="ignore"):
        result = check_loudness_gain_db(lambda x, r: 20 * np.log10(rms(r) / rms(x)))
    assert not result and "silent clip" in result.message and "Return 0.0 dB" in result.message


def test_match_ten_to_the_db_over_ten():
    result = check_match_loudness(lambda x, r: x * 10 ** (good_gain_db(x, r) / 10))
    assert not result and "10^(dB/20)" in result.message and "power factor" in result.message


def test_match_upside_down():
    result = check_match_loudness(lambda x, r: x * rms(x) / rms(r) if rms(x) and rms(r) else x)
    assert not result and "upside down" in result.message


def test_match_peak():
    result = check_match_loudness(
        lambda x, r: x * np.max(np.abs(r)) / np.max(np.abs(x)) if np.any(x) else x)
    assert not result and "peaks matched" in result.message


def test_match_db_as_a_factor():
    result = check_match_loudness(lambda x, r: x * good_gain_db(x, r))
    assert not result and "decibels themselves" in result.message


# -------------------------------------------------------------------------------------- ESR in dB (exercise)
def test_esr_db_exercise():
    def esr(p, t):
        return np.sum((t - p) ** 2) / np.sum(t**2)

    assert check_esr_db(lambda p, t: 10 * np.log10(esr(p, t)))
    assert "not written yet" in check_esr_db(stub).message
    result = check_esr_db(lambda p, t: 20 * np.log10(esr(p, t)))
    assert not result and "ratio of energies" in result.message
    result = check_esr_db(lambda p, t: -10 * np.log10(esr(p, t)))
    assert not result and "NEGATIVE" in result.message
