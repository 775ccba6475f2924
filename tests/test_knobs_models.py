"""Conditioned models: shapes, the knob really conditions, streaming = offline, knob moves, export round trips."""

import json

import numpy as np
import pytest
import torch

from helpers.capture.devices import get_device
from helpers.export.common import ExportError, UnsupportedModelError
from helpers.knobs.encoding import make_encoding
from helpers.knobs.evaluate import jump_ratio, knob_move_check
from helpers.knobs.export import (
    export_guitarml,
    export_knob_wavenet,
    load_guitarml,
    load_knob_wavenet,
    reference_lstm,
)
from helpers.knobs.models import (
    DEFAULT_FILM,
    FILM_POSITIONS,
    ConditionedWaveNet,
    build_knob_model,
    knob_model_from_config,
    predict,
)
from helpers.knobs.space import KnobNameError, KnobSpace
from helpers.realtime.conditioned import stream_knobs

SPACE = KnobSpace.from_device(get_device("overdrive"), ["drive", "tone"])
VALUES = make_encoding("values", SPACE)


#: FiLM variants beyond the two mechanisms: every position NAM's format allows, reading the audio too (an imported
#: file), and concat routing with FiLM as well
VARIANTS = {"film_all": ("film", {"film_positions": FILM_POSITIONS, "film_reads_audio": True}),
            "concat_film": ("concat", {"film_positions": ["conv_pre_film", "conv_post_film", "layer1x1_post_film"]})}


def _model(kind, k=2, seed=0):
    torch.manual_seed(seed)
    kind, extra = VARIANTS.get(kind, (kind, {}))
    m = build_knob_model(kind, k, **({"hidden_size": 8, "warmup": 32} if kind == "lstm" else extra))
    if isinstance(m, ConditionedWaveNet):  # knob columns start at 0 and FiLM as the identity: give them weights
        with torch.no_grad():
            for p in m.films.parameters():
                p.add_(0.3 * torch.randn_like(p))
            for w, mask in m.knob_weights():
                w.add_(0.3 * mask * torch.randn_like(w))
            for block in m.film_blocks if not m.film_reads_audio else []:  # a FiLM on the knobs alone:
                block.conv.weight[:, 0] = 0.0  # its audio column stays 0 in training
    return m.eval()


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def x():
    return (0.3 * np.random.default_rng(0).standard_normal(3000)).astype(np.float32)


@pytest.mark.parametrize("kind", ["concat", "film", "lstm", *VARIANTS])
@pytest.mark.parametrize("k", [2, 3])
def test_shapes_and_conditioning(kind, k):
    m = _model(kind, k)
    rf = m.receptive_field
    xb = torch.randn(3, rf + 99)
    for knobs in (torch.rand(3, k), torch.rand(3, k, rf + 99)):
        assert m(xb, knobs).shape == (3, 100)
    a, b = torch.zeros(3, k), torch.ones(3, k)
    assert not torch.allclose(m(xb, a), m(xb, b))  # the knobs change the output
    assert m.process(torch.randn(500), knobs=torch.rand(k)).shape == (500,)
    with pytest.raises(ValueError):
        m(xb, torch.rand(3, k, 7))
    with pytest.raises(ValueError, match="knob"):
        m.process(torch.randn(500), knobs=torch.rand(k + 1))


def test_kinds_and_film_positions():
    both = build_knob_model("concat+film", 2)
    assert both.mechanism == "concat" and both.film_positions == DEFAULT_FILM
    assert build_knob_model("film", 2).film_positions == DEFAULT_FILM
    assert build_knob_model("concat", 2).film_positions == ()
    # a checkpoint written before FiLM positions were a setting: its FiLM sat before the activation
    old = {k: v for k, v in build_knob_model("film", 2).config().items() if k != "film_positions"}
    assert knob_model_from_config("knob_nam", old).film_positions == ("activation_pre_film",)
    with pytest.raises(ValueError, match="unknown FiLM position"):
        build_knob_model("film", 2, film_positions=["head1x1_post_film"])
    with pytest.raises(ValueError, match="at least one FiLM position"):
        build_knob_model("film", 2, film_positions=[])


def test_concat_uses_the_input_mixer_and_film_starts_as_identity():
    concat = build_knob_model("concat", 2)
    assert all(layer.input_mixer.weight.shape[1] == 3 for a in concat.arrays for layer in a.layers)
    assert concat.arrays[0].rechannel.weight.shape[1] == 3  # NAM routing: the first re-channel reads [x; knobs]
    assert not concat.arrays[0].rechannel.weight[:, 1:].any()  # its knob columns start at zero
    assert all(layer.input_mixer.weight[:, 0].any() and not layer.input_mixer.weight[:, 1:].any()
               for a in concat.layer_arrays for layer in a.dilated_layers)  # so do the mixers', not their audio's
    xc = torch.randn(1, concat.receptive_field + 50)
    assert torch.equal(concat(xc, torch.zeros(1, 2)), concat(xc, torch.ones(1, 2)))  # untrained: knobs ignored
    film = build_knob_model("film", 2)
    assert all(layer.input_mixer.weight.shape[1] == 1 for a in film.arrays for layer in a.layers)
    assert len(film.films) == sum(len(a.layers) for a in film.arrays)  # one NAM FiLM block per layer (one position)
    xb = torch.randn(1, film.receptive_field + 50)
    assert torch.equal(film(xb, torch.zeros(1, 2)), film(xb, torch.ones(1, 2)))  # untrained FiLM ignores knobs
    assert film.receptive_field == concat.receptive_field


@pytest.mark.parametrize("kind", ["concat", "film", "lstm", *VARIANTS])
def test_streaming_equals_offline_with_constant_and_moving_knobs(kind, x):
    m = _model(kind)
    const = VALUES.encode({"drive": 2, "tone": 9})
    track = VALUES.track([{"drive": 2, "tone": 9}, {"drive": 9, "tone": 1}], [1700], len(x), ramp=100)
    for kn in (const, track):
        offline = predict(m, x, kn)
        for block in (64, 333):
            np.testing.assert_allclose(stream_knobs(m, x, kn, block), offline, atol=2e-5)
        n = 900  # one sample per block: the same result, on a shorter stretch (it is slow)
        np.testing.assert_allclose(stream_knobs(m, x[:n], kn if kn.ndim == 1 else kn[:, :n], 1), offline[:n],
                                   atol=2e-5)
    if kind != "lstm":
        np.testing.assert_allclose(predict(m, x, track, chunk=700), predict(m, x, track), atol=2e-5)


def test_knob_move_check_detects_a_click_and_passes_a_smooth_move(x):
    t = np.arange(4000) / 48_000
    y_a = (0.5 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    y_b = 0.8 * y_a
    gain = np.clip((np.arange(4000) - 2000) / 480, 0, 1)  # a 10 ms level ramp: what a smoothed knob does
    smooth = (1 - gain) * y_a + gain * y_b
    assert not jump_ratio(smooth, y_a, y_b, 2000, 600).clicks
    clicked = smooth.copy()
    clicked[2000:] += 0.2  # a DC step: a click
    res = jump_ratio(clicked, y_a, y_b, 2000, 600)
    assert res.clicks and res.ratio > 3
    m = _model("concat")
    before, after = {"drive": 0, "tone": 2}, {"drive": 10, "tone": 8}
    res = knob_move_check(m, VALUES, x, before, after, ramp=480)
    assert not res.clicks, res.summary()
    assert res.move_jump > 0 and "ramp 480" in res.summary()


def test_guitarml_export_round_trip(tmp_path, x):
    m = _model("lstm")
    path = export_guitarml(m, VALUES, tmp_path / "lstm.json")
    d = load_guitarml(path)
    assert d["model_data"]["input_size"] == 3 and d["model_data"]["skip"] == 1
    assert set(d["state_dict"]) == {"rec.weight_ih_l0", "rec.weight_hh_l0", "rec.bias_ih_l0", "rec.bias_hh_l0",
                                    "lin.weight", "lin.bias"}
    assert np.asarray(d["state_dict"]["rec.weight_ih_l0"]).shape == (32, 3)
    assert [k["name"] for k in d["knobs"]] == ["drive", "tone"]
    track = VALUES.track([{"drive": 2, "tone": 9}, {"drive": 9, "tone": 1}], [300], 600)
    ref = reference_lstm(d, x[:600], track)
    with torch.no_grad():  # the PyTorch model from a zero state, no warm-up dropped
        full = m.rec(torch.cat([torch.from_numpy(x[:600])[None, :, None],
                                torch.from_numpy(track.T)[None]], dim=-1))[0]
        torch_y = (m.lin(full)[0, :, 0] + torch.from_numpy(x[:600])).numpy()
    np.testing.assert_allclose(ref, torch_y, atol=1e-5)
    with pytest.raises(UnsupportedModelError, match="values"):
        export_guitarml(m, make_encoding("onehot", SPACE), tmp_path / "bad.json")
    with pytest.raises(UnsupportedModelError, match="LSTM"):
        export_guitarml(_model("concat"), VALUES, tmp_path / "bad.json")
    with pytest.raises(ExportError, match="skip"):
        export_guitarml(m, VALUES, tmp_path / "bad.json", output_gain=2.0)
    broken = json.loads(path.read_text())
    del broken["state_dict"]["lin.bias"]
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    with pytest.raises(ExportError, match=r"lin\.bias"):
        load_guitarml(tmp_path / "broken.json")


@pytest.mark.parametrize("kind", ["concat", "film"])
def test_wavenet_json_round_trip(tmp_path, kind, x):
    m = _model(kind)
    path = export_knob_wavenet(m, VALUES, tmp_path / f"{kind}.json")
    back, enc, d = load_knob_wavenet(path)
    assert d["mechanism"] == kind and enc.space.names == ["drive", "tone"]
    kn = VALUES.encode({"drive": 7, "tone": 3})
    np.testing.assert_allclose(predict(back, x, kn), predict(m, x, kn), atol=1e-6)
    with pytest.raises(KnobNameError):
        export_knob_wavenet(m, make_encoding("onehot", SPACE), tmp_path / "bad.json")
    with pytest.raises(UnsupportedModelError):
        export_knob_wavenet(_model("lstm"), VALUES, tmp_path / "bad.json")
