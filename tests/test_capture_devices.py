"""Virtual devices: knobs, determinism, memory, no added latency."""

import numpy as np
import pytest

from helpers.capture.devices import DEVICES, Knob, KnobRangeError, get_device

SR = 48_000


@pytest.fixture(scope="module")
def guitar_like():
    rng = np.random.default_rng(0)
    t = np.arange(SR) / SR
    x = 0.4 * np.sin(2 * np.pi * 110 * t) * np.exp(-2 * t) + 0.01 * rng.standard_normal(SR)
    return x.astype(np.float32)


def test_required_devices_and_documented_knobs():
    assert {"edge_of_breakup", "overdrive", "high_gain"} <= set(DEVICES)
    for dev in DEVICES.values():
        assert dev.knobs and dev.description
        for name, knob in dev.knobs.items():
            assert isinstance(knob, Knob) and knob.name == name
            assert knob.minimum <= knob.default <= knob.maximum and knob.unit and knob.description
    assert {"drive", "tone", "level"} <= set(get_device("overdrive").knobs)
    with pytest.raises(KeyError, match="available"):
        get_device("fuzz")


@pytest.mark.parametrize("name", sorted(DEVICES))
def test_process_is_deterministic_shape_preserving_and_knobs_matter(name, guitar_like):
    dev = get_device(name)
    y1 = dev.process(guitar_like, SR)
    y2 = dev.process(guitar_like.copy(), SR)
    assert y1.dtype == np.float32 and y1.shape == guitar_like.shape and np.isfinite(y1).all()
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(y1, guitar_like[: len(y1)] * (np.abs(y1).max() / np.abs(guitar_like).max()), atol=1e-3)
    for knob in dev.knobs.values():
        other = dev.process(guitar_like, SR, **{knob.name: knob.maximum if knob.default != knob.maximum else knob.minimum})
        assert not np.allclose(other, y1), f"{name}.{knob.name} has no effect"


@pytest.mark.parametrize("name", sorted(DEVICES))
def test_out_of_range_knob_names_the_range(name, guitar_like):
    dev = get_device(name)
    knob = next(iter(dev.knobs.values()))
    with pytest.raises(KnobRangeError, match=f"{knob.minimum:g} to {knob.maximum:g}"):
        dev.process(guitar_like, SR, **{knob.name: knob.maximum + 1})
    with pytest.raises(ValueError, match="no knob"):
        dev.process(guitar_like, SR, volume=3)


@pytest.mark.parametrize("name", sorted(DEVICES))
def test_no_latency_and_memory(name):
    dev = get_device(name)
    x = np.zeros(SR // 4, np.float32)
    x[1000] = 0.5
    y = dev.process(x, SR)
    assert np.abs(y[:1000]).max() < 1e-4 * np.abs(y).max(), "output before the impulse: non-causal"
    assert abs(y[1000]) > 1e-4, "no immediate response: the device adds latency"
    assert np.abs(y[1010:1400]).max() > 1e-4, "no memory: the response ends with the impulse"
    # Memory also means the response to a sample depends on what came before it.
    step = np.concatenate([np.zeros(2000), 0.3 * np.ones(4000)]).astype(np.float32)
    z = dev.process(step, SR)
    assert abs(z[2100] - z[5900]) > 1e-3


def test_fast_enough_for_three_minutes(guitar_like):
    import time

    x = np.tile(guitar_like, 30)  # 30 s
    start = time.perf_counter()
    for dev in DEVICES.values():
        dev.process(x, SR)
    assert time.perf_counter() - start < 10.0  # 3 devices × 30 s of audio; 3 min each takes a few seconds
