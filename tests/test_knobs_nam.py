"""Knob-conditioned WaveNets as NAM 0.7 ``.nam`` files: NAM's own reader runs them with the knobs as live inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from helpers.capture.devices import get_device
from helpers.errors import ExportError
from helpers.export.common import UnsupportedModelError
from helpers.export.nam import export_nam
from helpers.export.nam_knobs import (
    FILM_NAMES,
    export_knob_nam,
    knob_model_from_nam,
    knob_nam_dict,
    load_knob_nam,
    run_nam_reader,
)
from helpers.knobs.encoding import make_encoding
from helpers.knobs.models import DEFAULT_FILM, FILM_POSITIONS, ConditionedWaveNet, build_knob_model, predict
from helpers.knobs.space import KnobSpace
from helpers.models import NAMWaveNet
from helpers.realtime.conditioned import smoothed_knob_curve, stream_knob_moves

SPACE = KnobSpace.from_device(get_device("overdrive"), ["drive", "tone"])
VALUES = make_encoding("values", SPACE)
TOL = 1e-5
SETTINGS = [{"drive": 0.0, "tone": 0.0}, {"drive": 7.0, "tone": 3.0}, {"drive": 10.0, "tone": 10.0}]
CUSTOM = [  # a gated array (sigmoid · sigmoid: NAM gates with the array's activation) and a ReLU array with a head
    # bias: every layer feature the course model has
    {"input_size": 1, "condition_size": 1, "head_size": 3, "channels": 4, "kernel_size": 2, "dilations": [1, 2, 4],
     "activation": "Sigmoid", "gated": True, "head_bias": False},
    {"input_size": 4, "condition_size": 1, "head_size": 1, "channels": 3, "kernel_size": 3, "dilations": [1, 8],
     "activation": "ReLU", "gated": False, "head_bias": True},
]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def init_from_nam():
    return pytest.importorskip("nam.models").init_from_nam


@pytest.fixture(scope="module")
def x():
    rng = np.random.default_rng(0)
    return (rng.standard_normal(6000) * np.linspace(0.05, 0.6, 6000)).astype(np.float32)


#: FiLM beyond the two mechanisms: every position the course model holds, reading the audio too (as NAM's FiLM
#: can), and NAM's concat routing with FiLM as well
VARIANTS = {"film_all": ("film", {"film_positions": FILM_POSITIONS, "film_reads_audio": True}),
            "concat_film": ("concat", {"film_positions": ["conv_pre_film", "input_mixin_post_film",
                                                          "activation_post_film"]})}
KINDS = ["concat", "film", *VARIANTS]


def _model(kind: str, layers=None, seed: int = 0) -> ConditionedWaveNet:
    """A K=2 model with every parameter it uses (FiLM included, knob columns included) moved off its start values;
    a FiLM that reads the knobs alone keeps its audio column at zero, as training leaves it."""
    torch.manual_seed(seed)
    kind, kwargs = VARIANTS.get(kind, (kind, {}))
    m = ConditionedWaveNet(2, kind, preset=None if layers else "nano", layers=layers, head_scale=0.5, **kwargs)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.2 * torch.randn_like(p))
        if not m.film_reads_audio:
            for block in m.film_blocks:
                block.conv.weight[:, 0] = 0.0
    return m.eval()


def _nam_net(init_from_nam, d: dict):
    """NAM's own reader of the file content (``init_from_nam``) and its inner network (multi-channel input)."""
    return init_from_nam(json.loads(json.dumps(d))).eval()._net


def _nam_output(net, x: np.ndarray, knobs: np.ndarray) -> np.ndarray:
    """NAM's network on ``(1, 1 + k, samples)``: zero audio history, the first knob vector held before the start."""
    kn = np.broadcast_to(knobs[:, None], (len(knobs), len(x))) if knobs.ndim == 1 else knobs
    lead = net.receptive_field - 1
    inp = np.concatenate([np.pad(x, (lead, 0))[None], np.concatenate([np.repeat(kn[:, :1], lead, 1), kn], 1)])
    with torch.no_grad():
        y = net(torch.from_numpy(inp.astype(np.float32))[None])
    assert y.shape == (1, 1, len(x))
    return y[0, 0].numpy()


def _assert_matches(ours: np.ndarray, nams: np.ndarray) -> None:
    """Within :data:`TOL` of NAM's output, relative to it where NAM's random weights make outputs of many units
    (float32 error grows with the values)."""
    assert np.max(np.abs(ours - nams)) <= TOL * max(1.0, float(np.max(np.abs(nams))))


def _knob_curves(n: int) -> list[np.ndarray]:
    """Three fixed settings, then knobs moving during the signal (two ramps, both knobs)."""
    track = VALUES.track([SETTINGS[0], SETTINGS[2], SETTINGS[1]], [n // 4, n // 2], n, ramp=480)
    return [VALUES.encode(s) for s in SETTINGS] + [track]


@pytest.mark.parametrize("kind", KINDS)
def test_nams_reader_runs_the_export_with_live_knobs(kind, tmp_path, x, init_from_nam):
    m = _model(kind)
    path = export_knob_nam(m, VALUES, tmp_path / f"{kind}.nam", input_gain=1.5, output_gain=0.5, sample_rate=48_000)
    d = json.loads(path.read_text())
    assert d["version"] == "0.7.0" and d["architecture"] == "WaveNet" and d["config"]["in_channels"] == 3
    assert [la["condition_size"] for la in d["config"]["layers"]] == [3, 3]
    assert d["config"]["layers"][0]["input_size"] == 3
    assert [name for name in FILM_NAMES if d["config"]["layers"][0][name]["active"]] == list(m.film_positions)
    md = d["metadata"]
    assert [(k["name"], k["channel"], k["min"], k["max"]) for k in md["knobs"]] == [("drive", 1, 0.0, 10.0),
                                                                                ("tone", 2, 0.0, 10.0)]
    assert md["conditioning"] == m.mechanism and md["film_positions"] == list(m.film_positions) and np.isfinite(md["loudness"]) and all(v is not None for v in md.values())
    net = _nam_net(init_from_nam, d)
    # the file is what NAM itself would write for this network: same config keys and values, same weights
    assert {k: v for k, v in d["config"].items() if k != "in_channels"} == net.export_config()
    assert np.array_equal(np.asarray(d["weights"], dtype=np.float32), net.export_weights())
    outs = []
    for kn in _knob_curves(len(x)):
        ours = 0.5 * predict(m, 1.5 * x, kn)  # the levels folded into the file
        got = _nam_output(net, x, kn)
        assert np.max(np.abs(got - ours)) <= TOL, kn
        np.testing.assert_array_equal(run_nam_reader(path, x, kn), got)
        outs.append(ours)
    assert min(np.max(np.abs(a - b)) for i, a in enumerate(outs) for b in outs[i + 1 :]) > 1e-3  # knobs matter


@pytest.mark.parametrize("kind", KINDS)
def test_gated_and_relu_arrays_match_nams_reader(kind, x, init_from_nam):
    m = _model(kind, CUSTOM, seed=1)
    d = knob_nam_dict(m, VALUES)
    assert d["config"]["layers"][0]["gating_mode"] == ["gated"] * 3
    net = _nam_net(init_from_nam, d)
    for kn in _knob_curves(len(x))[1:]:
        assert np.max(np.abs(_nam_output(net, x, kn) - predict(m, x, kn))) <= TOL


@pytest.mark.parametrize("kind", KINDS)
def test_import_round_trip(kind, tmp_path, x):
    m = _model(kind)
    back, enc, info = load_knob_nam(export_knob_nam(m, VALUES, tmp_path / "k.nam"))
    assert isinstance(back, ConditionedWaveNet) and back.mechanism == m.mechanism and back.preset == "nano"
    assert info["version"] == "0.7.0" and info["mechanism"] == m.mechanism and info["sample_rate"] == 48_000
    assert enc.name == "values" and enc.space == SPACE
    assert back.config() == {**m.config(), "head_scale": pytest.approx(m.head_scale)}
    sd = m.state_dict()
    assert all(torch.equal(v, sd[k]) for k, v in back.state_dict().items())
    kn = _knob_curves(len(x))[-1]
    np.testing.assert_array_equal(predict(back, x, kn), predict(m, x, kn))
    custom = _model(kind, CUSTOM, seed=2)
    again, _ = knob_model_from_nam(knob_nam_dict(custom, VALUES))
    assert again.preset is None and again.config() == {**custom.config(), "head_scale": pytest.approx(0.5)}
    np.testing.assert_array_equal(predict(again, x, kn), predict(custom, x, kn))


def test_nam_built_film_files_import_with_either_routing(x, init_from_nam):
    """A 0.7 file as NAM would build it: FiLM in the first array only, without shift; random weights from NAM."""
    d = knob_nam_dict(_model("film", CUSTOM), VALUES)
    (position,) = DEFAULT_FILM
    d["config"]["layers"][0][position]["shift"] = False
    d["config"]["layers"][1][position]["active"] = False
    d["weights"] = np.random.default_rng(0).standard_normal(5000).tolist()  # NAM reads what its config needs
    torch.manual_seed(0)
    net = _nam_net(init_from_nam, d)
    with torch.no_grad():
        for mod in net.modules():  # knobs through FiLM only: no knob columns in the mixers and first re-channel
            if type(mod).__name__ in ("InputMixer", "RechannelIn") and mod.in_channels == 3:
                mod.weight[:, 1:] = 0.0
    nam_file = {**d, "weights": net.export_weights().tolist()}
    model, enc = knob_model_from_nam(nam_file)
    assert model.mechanism == "film" and enc.space.names == ["drive", "tone"] and model.film_reads_audio
    for kn in _knob_curves(len(x))[1:]:
        _assert_matches(predict(model, x, kn), _nam_output(net, x, kn))
    # the same file with knob columns in its mixers feeds the knobs both ways: concat routing plus FiLM
    w = np.asarray(net.export_weights())
    mixed = {**nam_file, "weights": (w + 0.01 * (w == 0)).tolist()}
    model, _ = knob_model_from_nam(mixed)
    assert model.mechanism == "concat" and model.film_positions == DEFAULT_FILM and model.film_reads_audio
    net = _nam_net(init_from_nam, mixed)
    for kn in _knob_curves(len(x))[1:]:
        _assert_matches(predict(model, x, kn), _nam_output(net, x, kn))
    # without knob metadata (a file trained elsewhere) the knobs are generic 0..1 inputs
    _, generic = knob_model_from_nam({**nam_file, "metadata": {}})
    assert generic.space.names == ["input_1", "input_2"]
    # a concat-routed file with NAM's random weights (knob columns everywhere) imports as concat
    d = knob_nam_dict(_model("concat", CUSTOM), VALUES)
    d["weights"] = np.random.default_rng(1).standard_normal(5000).tolist()
    net = _nam_net(init_from_nam, d)
    model, _ = knob_model_from_nam({**d, "weights": net.export_weights().tolist()})
    assert model.mechanism == "concat"
    _assert_matches(predict(model, x, _knob_curves(len(x))[-1]), _nam_output(net, x, _knob_curves(len(x))[-1]))


def test_models_the_format_cannot_hold_are_refused(tmp_path):
    lstm = build_knob_model("lstm", 2, hidden_size=4, warmup=8)
    with pytest.raises(UnsupportedModelError, match="export_guitarml"):
        export_knob_nam(lstm, VALUES, tmp_path / "lstm.nam")
    onehot = make_encoding("onehot", SPACE)
    with pytest.raises(UnsupportedModelError, match="encoding='values'"):
        export_knob_nam(build_knob_model("concat", onehot.size), onehot, tmp_path / "onehot.nam")
    with pytest.raises(UnsupportedModelError, match="export_nam"):
        knob_nam_dict(NAMWaveNet("nano"), VALUES)  # type: ignore[arg-type]
    with pytest.raises(UnsupportedModelError, match="the model takes 3"):
        knob_nam_dict(build_knob_model("film", 3), VALUES)
    assert not list(tmp_path.iterdir())  # refused before anything was written

    d = knob_nam_dict(_model("film"), VALUES)
    cases = {"architecture": ({**d, "architecture": "LSTM"}, "WaveNets"),
             "weights": ({**d, "weights": d["weights"][:-3]}, "weight mismatch")}
    for key, value, match in (("bottleneck", 2, "bottleneck"), ("input_mixin_pre_film", {"active": True}, "input_mixin_pre_film"),
                              ("groups_input", 2, "groups_input"), ("head1x1", {"active": True}, "head1x1"),
                              ("gating_mode", ["blended"] * 7, "blended")):
        bad = json.loads(json.dumps(d))
        bad["config"]["layers"][0][key] = value
        cases[key] = (bad, match)
    for bad, match in cases.values():
        with pytest.raises(ExportError, match=match):
            knob_model_from_nam(bad)
    plain = json.loads(export_nam(NAMWaveNet("nano"), tmp_path / "plain.nam").read_text())
    with pytest.raises(ExportError, match="load_nam"):
        knob_model_from_nam(plain)


def test_export_is_atomic(tmp_path):
    target = tmp_path / "knobs.nam"
    export_knob_nam(_model("concat"), VALUES, target)
    before = target.read_bytes()
    broken = _model("concat")
    with torch.no_grad():
        broken.arrays[1].layers[0].conv.weight[0, 0, 0] = float("nan")
    with pytest.raises(ExportError, match="non-finite"):
        export_knob_nam(broken, VALUES, target)
    assert target.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["knobs.nam"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_imported_file_streams_with_knobs_moving_between_blocks(kind, tmp_path, x, init_from_nam):
    m, _, _ = load_knob_nam(export_knob_nam(_model(kind, seed=3), VALUES, tmp_path / "k.nam"))
    start = VALUES.encode(SETTINGS[0])
    # a plugin hands new knob values between 64-sample blocks; two moves overlap (the second starts mid-ramp)
    moves = {1280: VALUES.encode(SETTINGS[2]), 1536: VALUES.encode(SETTINGS[1]), 3840: VALUES.encode(SETTINGS[0])}
    curve = smoothed_knob_curve(start, moves, len(x), ramp=480)
    streamed = stream_knob_moves(m, x, start, moves, block_size=64, ramp=480)
    assert np.max(np.abs(streamed - predict(m, x, curve))) <= TOL
    assert np.max(np.abs(streamed - run_nam_reader(tmp_path / "k.nam", x, curve))) <= TOL
    assert np.max(np.abs(np.diff(curve, axis=1))) <= 1 / 480 + 1e-6  # smoothed: no knob jumps
    # one move is the ramp of the click check (KnobEncoding.track)
    one = smoothed_knob_curve(start, {1280: moves[1280]}, len(x), ramp=480)
    np.testing.assert_array_equal(one, VALUES.track([SETTINGS[0], SETTINGS[2]], [1280], len(x), ramp=480))
    with pytest.raises(ValueError, match="between blocks"):
        stream_knob_moves(m, x, start, {100: start}, block_size=64)
