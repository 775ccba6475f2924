"""NAM's C++ core (the WebAssembly build NAM-based web plugins run, under Node.js) loads the course's ``.nam`` files and
plays them: plain captures sample for sample in 64-sample blocks, knob files at the one setting its one-channel
host feeds; files whose weights do not fill the network are refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from helpers.capture.devices import get_device
from helpers.export import NamMetadata, export_nam
from helpers.export.nam_core import (
    NamCoreMissingError,
    NamCoreRefusedError,
    fast_tanh,
    nam_core_missing,
    run_nam_core,
    with_fast_tanh,
)
from helpers.export.nam_knobs import export_knob_nam
from helpers.knobs.encoding import make_encoding
from helpers.knobs.models import ConditionedWaveNet, predict
from helpers.knobs.space import KnobSpace
from helpers.models import build_model

TOL = 1e-5
MISSING = nam_core_missing()
needs_core = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")
SPACE = KnobSpace.from_device(get_device("overdrive"), ["drive", "tone"])

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def x():
    rng = np.random.default_rng(0)
    return (rng.standard_normal(6000) * np.linspace(0.05, 0.7, 6000)).astype(np.float32)


def _perturbed(m: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return m.eval()


def test_fast_tanh_is_nams_approximation_of_tanh():
    z = torch.linspace(-6, 6, 2001)
    gap = (fast_tanh(z) - torch.tanh(z)).abs()
    assert 1e-5 < float(gap.max()) < 1e-3  # an approximation, close to tanh but not equal
    assert torch.equal(fast_tanh(-z), -fast_tanh(z)) and float(fast_tanh(torch.tensor(0.0))) == 0.0


@needs_core
@pytest.mark.parametrize(("preset", "block"), [("nano", 64), ("standard", 64), ("nano", 37), ("gated", 64)])
def test_plain_capture_plays_in_nams_core_sample_for_sample(preset, block, tmp_path, x, gated_layers):
    torch.manual_seed(0)
    m = _perturbed(build_model("nam", layers=gated_layers) if preset == "gated" else build_model("nam", preset))
    path = export_nam(m, tmp_path / "amp.nam", metadata=NamMetadata(name="core"), input_gain=1.5, output_gain=0.25)
    y, read = run_nam_core(path, x, block_size=block)
    with torch.no_grad(), with_fast_tanh(m):
        expected = 0.25 * m.process(torch.from_numpy(1.5 * x)).numpy()
    assert y.shape == x.shape
    assert np.max(np.abs(y - expected)) <= TOL
    with torch.no_grad():  # the exact tanh differs by the approximation only: near, never equal
        exact = 0.25 * m.process(torch.from_numpy(1.5 * x)).numpy()
    assert 0 < np.max(np.abs(y - exact)) <= 1e-2 * np.max(np.abs(exact))
    assert read["loudness"] == pytest.approx(json.loads(path.read_text())["metadata"]["loudness"], abs=1e-4)


@needs_core
@pytest.mark.parametrize(("kind", "film"), [("concat", None), ("film", None),
                                            ("concat", ["conv_pre_film", "activation_post_film"])])
def test_knob_files_load_in_nams_core_and_play_with_the_knobs_at_zero(kind, film, tmp_path, x):
    """The core's one-channel host leaves the knob channels at 0: the file must play as the model at knobs 0."""
    torch.manual_seed(1)
    m = _perturbed(ConditionedWaveNet(2, kind, preset="nano", film_positions=film), seed=1)
    with torch.no_grad():
        for block in m.film_blocks:  # a FiLM that reads the knobs alone, as training leaves it
            block.conv.weight[:, 0] = 0.0
    path = export_knob_nam(m, make_encoding("values", SPACE), tmp_path / "knobs.nam", sample_rate=48_000)
    assert json.loads(path.read_text())["config"]["in_channels"] == 3
    y, _ = run_nam_core(path, x)
    with with_fast_tanh(m):
        at_zero = predict(m, x, np.zeros(2, np.float32))
        elsewhere = predict(m, x, np.array([0.7, 0.3], np.float32))
    assert np.max(np.abs(y - at_zero)) <= TOL
    assert np.max(np.abs(y - elsewhere)) > 100 * TOL  # the knobs do matter: the match above says which setting ran


@needs_core
@pytest.mark.parametrize("change", ["one weight short", "one weight too many", "a missing layer key"])
def test_nams_core_refuses_a_file_that_does_not_build(change, tmp_path, x):
    m = _perturbed(build_model("nam", "nano"))
    d = json.loads(export_nam(m, tmp_path / "amp.nam").read_text())
    if change == "one weight short":
        d["weights"] = d["weights"][:-1]
    elif change == "one weight too many":
        d["weights"].append(0.5)
    else:
        del d["config"]["layers"][0]["dilations"]
    with pytest.raises(NamCoreRefusedError, match="refused"):
        run_nam_core(d, x[:256])


def test_a_missing_core_is_a_named_error_with_the_fix(tmp_path, monkeypatch, x):
    monkeypatch.setenv("NAL_NAM_CORE", str(tmp_path / "nowhere"))
    reason = nam_core_missing()
    assert reason is not None and ("make nam-core" in reason or "Node.js" in reason)
    with pytest.raises(NamCoreMissingError, match=r"make nam-core|Node\.js"):
        run_nam_core({"version": "0.5.4"}, x[:64])


@needs_core
def test_the_export_report_checks_the_nam_file_in_nams_core(tmp_path):
    from helpers.export.report import ReadyThresholds, export_report, failed_criteria, summary_rows

    m = _perturbed(build_model("nam", "nano"))
    payload = {"normalization": {"policy": "output_peak", "output_gain_db": 3.0}, "sample_rate": 48_000}
    lenient = ReadyThresholds(max_test_esr=1e9, max_rtf=1e9, max_aliasing_db=0.0)
    r = export_report(m, tmp_path, payload=payload, name="amp", thresholds=lenient, block_sizes=(64,),
                      rtf_seconds=0.1, frequencies=(1010.0,), levels_db=(-12.0,), progress=False)
    core = r["exports"]["nam"]["nam_core"]
    assert core["ok"] and core["max_abs_diff"] <= TOL < core["max_abs_diff_exact_tanh"]
    row = next(row for row in summary_rows(r) if row["criterion"] == "parity nam, NAM's C++ core")
    assert row["pass"] is True and "nam-wasm" in row["note"]
    broken = json.loads(json.dumps(r))
    broken["exports"]["nam"]["nam_core"].update(ok=False, max_abs_diff=0.01)
    assert any("NAM's C++ core" in f for f in failed_criteria(broken, lenient))
