"""Latency estimation: exact recovery on every virtual device, low confidence when it cannot know."""

import numpy as np
import pytest

from helpers.capture import latency, reamp
from helpers.capture.dataset import alignment_region
from helpers.capture.demo import simulate_recording
from helpers.capture.devices import DEVICES, get_device

SR = 48_000


@pytest.fixture(scope="module")
def signal():
    return reamp.make_reamp_signal(quick=True, seed=0)


@pytest.fixture(scope="module")
def wet(signal):
    return {name: dev.process(signal.audio, SR) for name, dev in DEVICES.items()}


def _record(y, lag, noise_dbfs=-80.0, seed=0):
    out = np.zeros_like(y)
    if lag >= 0:
        out[lag:] = y[: len(y) - lag]
    else:
        out[:lag] = y[-lag:]
    rng = np.random.default_rng(seed)
    return (out + rng.standard_normal(len(y)).astype(np.float32) * 10 ** (noise_dbfs / 20)).astype(np.float32)


@pytest.mark.parametrize("lag", [0, 37, 480, 2047])
@pytest.mark.parametrize("name", sorted(DEVICES))
def test_recovers_known_latency_on_every_device(signal, wet, name, lag):
    rec = _record(wet[name], lag, seed=lag)
    est = latency.estimate_latency(signal.audio, rec, SR, region=alignment_region(signal.layout))
    assert est.confident, est.summary()
    assert abs(est.lag - lag) <= 1, est.summary()
    assert latency.resolve_latency(est) == est.lag
    assert len(est.candidates) >= 1 and est.peak_ratio >= latency.MIN_PEAK_RATIO


@pytest.mark.parametrize("name", sorted(DEVICES))
def test_recovers_latency_at_extreme_knobs_and_noisier_recording(signal, name):
    dev = get_device(name)
    for extreme in ("minimum", "maximum"):
        knobs = {k.name: getattr(k, extreme) for k in dev.knobs.values() if k.unit != "dB"}
        rec = simulate_recording(signal.audio, name, SR, knobs=knobs, latency=311, noise_dbfs=-66.0, seed=1)
        est = latency.estimate_latency(signal.audio, rec, SR, region=alignment_region(signal.layout))
        assert est.confident and abs(est.lag - 311) <= 1, (knobs, est.summary())


def test_negative_latency_and_44k1():
    s = reamp.make_reamp_signal(44_100, quick=True, seed=2)
    y = get_device("high_gain").process(s.audio, 44_100)
    for lag in (-20, 1234):
        est = latency.estimate_latency(s.audio, _record(y, lag), 44_100, region=alignment_region(s.layout))
        assert est.confident and abs(est.lag - lag) <= 1, est.summary()


def test_default_region_finds_the_blips_without_a_layout(signal, wet):
    est = latency.estimate_latency(signal.audio, _record(wet["overdrive"], 480), SR)
    assert est.confident and est.lag == 480
    assert est.onsets[: len(signal.layout.blips)] == signal.layout.blips


def test_noise_only_output_is_low_confidence(signal):
    noise = np.random.default_rng(0).standard_normal(len(signal.audio)).astype(np.float32) * 0.05
    est = latency.estimate_latency(signal.audio, noise, SR, region=alignment_region(signal.layout))
    assert not est.confident and est.confidence == "low"
    assert "LOW CONFIDENCE" in est.summary()
    with pytest.raises(latency.LowConfidenceError, match="manual"):
        latency.resolve_latency(est)
    assert latency.resolve_latency(est, manual=123) == 123


def test_unrelated_output_is_low_confidence(signal):
    other = reamp.make_reamp_signal(quick=True, seed=9).audio
    unrelated = get_device("overdrive").process(np.roll(other, 12_345)[: len(signal.audio)], SR)
    est = latency.estimate_latency(signal.audio, unrelated, SR, region=alignment_region(signal.layout))
    assert not est.confident, est.summary()


def test_silent_output_is_low_confidence(signal):
    est = latency.estimate_latency(signal.audio, np.zeros_like(signal.audio), SR)
    assert not est.confident and "silent" in est.reason


def test_apply_latency_shifts_and_pads():
    y = np.arange(10, dtype=np.float32)
    np.testing.assert_array_equal(latency.apply_latency(y, 3), [3, 4, 5, 6, 7, 8, 9, 0, 0, 0])
    np.testing.assert_array_equal(latency.apply_latency(y, -2, 5), [0, 0, 0, 1, 2])
