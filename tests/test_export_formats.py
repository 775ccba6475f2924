"""Exporters: each file is read back by its runtime's reader and matches the PyTorch model; wrong
families are refused with a pointer to the right format; NAM files import back."""

import json

import numpy as np
import pytest
import torch

from helpers.export import (
    ExportError,
    NamMetadata,
    UnsupportedModelError,
    export_nam,
    export_rtneural,
    export_wavenetva,
    fold_gains,
    gains_from_payload,
    load_nam,
)
from helpers.export.nam import for_python_reader, nam_dict, nam_model_from_dict
from helpers.export.reference import RTNeuralReference, WaveNetVAReference
from helpers.export.reference import rtneural as rtneural_ref
from helpers.export.reference import wavenetva as wavenetva_ref
from helpers.export.reference.wavenetva import Convolution
from helpers.models import build_model

TOL = 1e-5


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _model(family, preset=None, seed=0, **kw):
    torch.manual_seed(seed)
    m = build_model(family, preset, **kw).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return m


def _clip(n=6000, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(n) * np.linspace(0.05, 0.7, n)).astype(np.float32)


def _offline(m, x, g_in=1.0, g_out=1.0):
    with torch.no_grad():
        return g_out * m.process(torch.from_numpy(g_in * x)).numpy()


# -- NAM -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def init_from_nam():
    return pytest.importorskip("nam.models").init_from_nam


@pytest.mark.parametrize("preset", ["nano", "standard"])
def test_nam_file_matches_the_official_reader(preset, tmp_path, init_from_nam):
    m = _model("nam", preset)
    path = export_nam(m, tmp_path / "amp.nam", metadata=NamMetadata(name="Test amp", validation_esr=0.02),
                      input_gain=1.5, output_gain=0.25, sample_rate=48_000)
    d = json.loads(path.read_text())
    # the 0.5.x A1 layout the C++ plugins read
    assert d["version"].startswith("0.5.") and d["architecture"] == "WaveNet" and d["config"]["head"] is None
    assert all("head_size" in la and "head_bias" in la and "head" not in la for la in d["config"]["layers"])
    assert len(d["weights"]) == m.nam_weight_count()
    assert d["weights"][-1] == pytest.approx(0.25 * m.head_scale, rel=1e-6)
    md = d["metadata"]
    assert md["name"] == "Test amp" and md["gear_type"] == "pedal" and md["tone_type"] == "overdrive"
    assert md["training"]["validation_esr"] == 0.02 and isinstance(md["loudness"], float)
    assert all(v is not None for v in md.values())  # the C++ reader wants numbers, not nulls
    reader = init_from_nam(for_python_reader(d)).eval()
    x = _clip()
    with torch.no_grad():
        got = reader(torch.from_numpy(x)).numpy()
    assert np.max(np.abs(got - _offline(m, x, 1.5, 0.25))) <= TOL


def _spelled_as_07(d: dict) -> dict:
    """An A1 file's gating in NAM 0.13's own spelling (its Python reader does not read A1's ``"gated": true``;
    NAM's C++ core does, see test_nam_core)."""
    d = for_python_reader(d)
    for la in d["config"]["layers"]:
        n, gated = len(la["dilations"]), la.pop("gated")
        la["activation"] = [{"type": la["activation"]} for _ in range(n)]
        la["gating_mode"] = ["gated" if gated else "none"] * n
        la["secondary_activation"] = [{"type": "Sigmoid"} if gated else None for _ in range(n)]
    return d


def test_gated_arrays_gate_with_their_own_activation_as_nam_does(tmp_path, init_from_nam, gated_layers):
    from helpers.realtime import stream

    m = _model("nam", layers=gated_layers)
    reader = init_from_nam(_spelled_as_07(json.loads(export_nam(m, tmp_path / "gated.nam").read_text()))).eval()
    x = _clip()
    with torch.no_grad():
        got = reader(torch.from_numpy(x)).numpy()
    assert np.max(np.abs(got - _offline(m, x))) <= TOL  # ReLU(top) · sigmoid(bottom), not tanh
    assert np.max(np.abs(stream(m, x, block_size=64) - _offline(m, x))) <= TOL
    # a gated file written by neural-amp-modeler itself (0.7: gating_mode + secondary Sigmoid) imports
    newer = {"version": "0.7.0", "architecture": "WaveNet", "config": reader._export_config(),
             "weights": reader._export_weights().tolist()}
    again = nam_model_from_dict(json.loads(json.dumps(newer)))
    assert [c.gated for c in again.layer_cfgs] == [True, True] and again.layer_cfgs[0].activation == "ReLU"
    assert np.max(np.abs(_offline(again, x) - _offline(m, x))) <= TOL


def test_nam_import_round_trip_and_files_of_the_newer_writer(tmp_path, init_from_nam):
    m = _model("nam", "feather", seed=3)
    path = export_nam(m, tmp_path / "a.nam")
    imported, info = load_nam(path)
    assert imported.preset == "feather" and info["version"] == "0.5.4" and info["sample_rate"] == 48_000
    x = _clip(seed=1)
    assert np.max(np.abs(_offline(imported, x) - _offline(m, x))) <= TOL
    # a file written by neural-amp-modeler itself (0.7 layout, all extras switched off) imports too
    reader = init_from_nam(for_python_reader(json.loads(path.read_text())))
    newer = {"version": "0.7.0", "architecture": "WaveNet", "config": reader._export_config(),
             "weights": reader._export_weights().tolist()}
    assert "kernel_sizes" in newer["config"]["layers"][0]  # really the newer layout
    again = nam_model_from_dict(json.loads(json.dumps(newer)))
    assert np.max(np.abs(_offline(again, x) - _offline(m, x))) <= TOL
    # the imported model trains like ours
    again.train()
    loss = again(torch.from_numpy(x[None, :5000])).pow(2).mean()
    loss.backward()
    assert again.arrays[0].layers[0].conv.weight.grad is not None


def test_nam_import_refuses_what_it_cannot_hold(tmp_path):
    d = nam_dict(_model("nam", "nano"))
    with pytest.raises(ExportError, match="only WaveNet"):
        nam_model_from_dict({**d, "architecture": "LSTM"})
    with pytest.raises(ExportError, match="weight mismatch"):
        nam_model_from_dict({**d, "weights": d["weights"][:-2]})
    bad = json.loads(json.dumps(d))
    bad["config"]["layers"][0]["bottleneck"] = 2
    with pytest.raises(ExportError, match="bottleneck"):
        nam_model_from_dict(bad)
    (tmp_path / "x.nam").write_text("not json")
    with pytest.raises(ExportError, match="not valid JSON"):
        load_nam(tmp_path / "x.nam")
    with pytest.raises(ExportError, match="gear_type"):
        NamMetadata(gear_type="guitar")


# -- WaveNetVA -------------------------------------------------------------------------------------
def test_wavenetva_file_matches_the_reference_runtime(tmp_path):
    m = _model("gated", None, channels=4, dilation_depth=6, num_repeat=2, kernel_size=3)
    path = export_wavenetva(m, tmp_path / "pedal.json", input_gain=0.5, output_gain=3.0)
    d = json.loads(path.read_text())
    n = len(m.dilations)
    assert d["activation"] == "gated" and d["residual_channels"] == 4 and d["filter_width"] == 3
    assert len(d["variables"]) == 4 * n + 4
    assert [(v["layer_idx"], v["name"]) for v in d["variables"][:6]] == [
        (-1, "W"), (-1, "b"), (0, "W_conv"), (0, "b_conv"), (0, "W_out"), (0, "b_out")]
    assert [(v["layer_idx"], v["name"]) for v in d["variables"][-2:]] == [(n, "W"), (n, "b")]
    x = _clip(seed=2)
    expected = _offline(m, x, 0.5, 3.0)
    assert np.max(np.abs(wavenetva_ref.run_after_silence(d, x) - expected)) <= TOL
    # PedalNetRT writes the values as strings; the runtime (and the reference) read both
    for v in d["variables"]:
        v["data"] = [str(f) for f in v["data"]]
    assert np.max(np.abs(wavenetva_ref.run_after_silence(d, x) - expected)) <= TOL


def test_wavenetva_reference_reads_the_kernel_reversed():
    # W flattened (k, in, out) = [a, b]: kernel[1] = a multiplies x[t-d], kernel[0] = b multiplies x[t]
    cfg = {"activation": "gated", "residual_channels": 1, "filter_width": 2, "dilations": [3],
           "variables": [{"layer_idx": -1, "name": "W", "data": [1.0]}, {"layer_idx": -1, "name": "b", "data": [0.0]},
                         {"layer_idx": 0, "name": "W_conv", "data": [0.0, 0.0, 0.0, 0.0]},
                         {"layer_idx": 0, "name": "b_conv", "data": [0.0, 0.0]}]}
    conv = Convolution(1, 1, 2, 3, [2.0, 5.0], [0.5])
    y = conv.process(np.array([[1.0, 0, 0, 0, 0, 0]]))[0]
    assert np.allclose(y, [5.5, 0.5, 0.5, 2.5, 0.5, 0.5])
    assert WaveNetVAReference({**cfg, "variables": cfg["variables"] + [
        {"layer_idx": 0, "name": "W_out", "data": [1.0]}, {"layer_idx": 0, "name": "b_out", "data": [0.0]},
        {"layer_idx": 1, "name": "W", "data": [1.0]}, {"layer_idx": 1, "name": "b", "data": [0.0]}]}).receptive_field == 4
    # the vectorised path equals the literal per-sample FIFO, across calls
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal(2 * 3 * 3).tolist(), rng.standard_normal(3).tolist()
    c1, c2 = Convolution(2, 3, 3, 4, w, b), Convolution(2, 3, 3, 4, w, b)
    data = rng.standard_normal((2, 40))
    a = np.concatenate([c1.process(data[:, :5]), c1.process(data[:, 5:23]), c1.process(data[:, 23:])], axis=1)
    assert np.allclose(a, np.stack([c2.step(data[:, i]) for i in range(40)], axis=1))


# -- RTNeural --------------------------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["prelu", "tanh"])
def test_rtneural_file_matches_the_reference_runtime(activation, tmp_path):
    m = _model("tcn", None, channels=5, kernel_size=3, dilations=[1, 2, 4, 8, 16, 32], activation=activation)
    path = export_rtneural(m, tmp_path / "tcn.json", input_gain=2.0, output_gain=0.5)
    d = json.loads(path.read_text())
    types = [la["type"] for la in d["layers"]]
    assert d["in_shape"] == [None, None, 1] and types[-1] == "dense"
    assert types.count("conv1d") == 6 and types.count("prelu") == (6 if activation == "prelu" else 0)
    conv = d["layers"][0]
    assert conv["kernel_size"] == [3] and conv["dilation"] == [1] and np.array(conv["weights"][0]).shape == (3, 1, 5)
    x = _clip(seed=3)
    got = rtneural_ref.run_after_silence(d, x)
    assert np.max(np.abs(got - _offline(m, x, 2.0, 0.5))) <= TOL


def test_rtneural_reference_reads_the_kernel_reversed():
    cfg = {"in_shape": [None, None, 1], "layers": [
        {"type": "conv1d", "activation": "", "shape": [None, None, 1], "kernel_size": [2], "dilation": [2],
         "weights": [[[[2.0]], [[5.0]]], [0.5]]},
        {"type": "prelu", "activation": "", "shape": [None, None, 1], "weights": [[[0.1]]]}]}
    y = RTNeuralReference(cfg).process(np.array([1.0, 0, 0, 0, -1.0]))
    # conv: 5·x[t] + 2·x[t-2] + 0.5, then PReLU with slope 0.1
    assert np.allclose(y, [5.5, 0.5, 2.5, 0.5, 0.1 * (-5 + 0.5)])


# -- refusals and gains ----------------------------------------------------------------------------
@pytest.mark.parametrize("exporter, family, names", [
    (export_nam, "gated", "WaveNetVA"), (export_nam, "tcn", "RTNeural"),
    (export_wavenetva, "nam", ".nam"), (export_wavenetva, "tcn", "RTNeural"),
    (export_rtneural, "nam", ".nam"), (export_rtneural, "gated", "WaveNetVA")])
def test_exporters_refuse_other_families_and_name_the_right_format(exporter, family, names, tmp_path):
    m = build_model(family, {"nam": "nano", "gated": "small", "tcn": "edge_of_breakup"}[family])
    with pytest.raises(UnsupportedModelError, match=names):
        exporter(m, tmp_path / "out.json")
    assert not (tmp_path / "out.json").exists()


def test_gains_come_from_the_checkpoint_normalisation():
    assert gains_from_payload(None) == (1.0, 1.0)
    g_in, g_out = gains_from_payload({"normalization": {"policy": "output_peak", "input_gain_db": 0.0,
                                                        "output_gain_db": 6.0}})
    assert g_in == pytest.approx(1.0) and g_out == pytest.approx(10 ** (-6 / 20))
    m = _model("gated", "small")
    x = _clip(3000)
    folded = fold_gains(m, 2.0, 0.5)
    assert np.max(np.abs(_offline(folded, x) - _offline(m, x, 2.0, 0.5))) <= TOL
    assert np.max(np.abs(_offline(m, x) - _offline(fold_gains(m), x))) == 0.0  # the original is untouched
