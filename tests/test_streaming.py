"""Streaming inference: block-by-block output equals offline processing for every family and block size."""

import numpy as np
import pytest
import torch

from helpers.models import build_model
from helpers.realtime import StreamingError, make_streamer, stream, streamable_families

MODELS = [("nam", "feather", {}), ("nam", None, {"layers": [
    {"input_size": 1, "condition_size": 1, "head_size": 3, "channels": 3, "kernel_size": 2, "dilations": [1, 4, 16],
     "gated": True, "head_bias": True},
    {"input_size": 3, "condition_size": 1, "head_size": 1, "channels": 3, "kernel_size": 3, "dilations": [2, 8],
     "activation": "ReLU", "head_bias": False}]}),
    ("gated", "small", {}), ("tcn", "edge_of_breakup", {}), ("tcn", None, {"channels": 4, "dilations": [1, 2, 4, 8, 16]})]
IDS = ["nam-feather", "nam-gated-relu-custom", "gated-small", "tcn-tanh", "tcn-prelu"]


def _model(family, preset, kw, seed=0):
    torch.manual_seed(seed)
    m = build_model(family, preset, **kw).eval()
    with torch.no_grad():  # random, strong weights: every path and every bias carries signal
        for p in m.parameters():
            p.add_(0.15 * torch.randn_like(p))
    return m


def _signal(n, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(n) * np.linspace(0.05, 0.8, n)).astype(np.float32)


@pytest.mark.parametrize("family, preset, kw", MODELS, ids=IDS)
@pytest.mark.parametrize("block", [7, 64, 512])
def test_streaming_equals_offline(family, preset, kw, block):
    m = _model(family, preset, kw)
    x = _signal(9000)
    with torch.no_grad():
        ref = m.process(torch.from_numpy(x)).numpy()
    assert np.abs(ref).max() > 1e-3  # the comparison means something
    y = stream(m, x, block)
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.max(np.abs(y - ref)) <= 1e-5


@pytest.mark.parametrize("family, preset, kw", MODELS, ids=IDS)
def test_streaming_sample_by_sample(family, preset, kw):
    m = _model(family, preset, kw)
    x = _signal(400, seed=1)
    with torch.no_grad():
        ref = m.process(torch.from_numpy(x)).numpy()
    assert np.max(np.abs(stream(m, x, 1) - ref)) <= 1e-5


def test_ring_buffer_rewinds_and_long_blocks_are_exact():
    m = _model("nam", "nano", {})
    x = _signal(5000, seed=2)
    with torch.no_grad():
        ref = m.process(torch.from_numpy(x)).numpy()
    engine = make_streamer(m, capacity=300)  # forces a rewind every few blocks and splits long blocks
    sizes = [1, 7, 64, 299, 300, 301, 1000, 4096]
    out, i, k = [], 0, 0
    while i < len(x):
        n = sizes[k % len(sizes)]
        out.append(engine.process_block(x[i : i + n]))
        i, k = i + n, k + 1
    assert np.max(np.abs(np.concatenate(out) - ref)) <= 1e-5


def test_reset_restores_the_initial_state():
    m = _model("gated", "small", {})
    engine = make_streamer(m)
    x = _signal(2000, seed=3)
    first = engine.process_block(x).copy()
    second = engine.process_block(x)  # with history now: differs
    assert np.max(np.abs(first - second)) > 1e-4
    engine.reset()
    assert np.array_equal(engine.process_block(x), first)


def test_streamer_copies_weights():
    m = _model("tcn", "edge_of_breakup", {})
    engine = make_streamer(m)
    x = _signal(3000, seed=4)
    before = stream(engine, x, 64)
    with torch.no_grad():
        for p in m.parameters():
            p.zero_()
    engine.reset()
    assert np.array_equal(stream(engine, x, 64), before)


def test_bad_input_is_refused():
    m = _model("tcn", "edge_of_breakup", {})
    engine = make_streamer(m)
    with pytest.raises(StreamingError, match="1-D"):
        engine.process_block(np.zeros((2, 8), dtype=np.float32))
    with pytest.raises(StreamingError, match="block_size"):
        stream(m, np.zeros(10, dtype=np.float32), 0)
    assert engine.process_block(np.zeros(0, dtype=np.float32)).shape == (0,)
    with pytest.raises(StreamingError, match="no streaming engine"):
        make_streamer(torch.nn.Linear(1, 1))
    assert {"gated", "nam", "tcn"} <= set(streamable_families())  # later issues register more
