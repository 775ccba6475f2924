"""Export report: aliasing measurement, real-time factor, and a ready verdict that lists what failed."""

import json

import numpy as np
import pytest
import torch

from helpers.amp.data import toy_pair
from helpers.export.aliasing import asr_of_window, measure_aliasing, sine_probe
from helpers.export.report import ReadyThresholds, export_report, failed_criteria, measure_rtf, summary_rows
from helpers.models import build_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_asr_separates_harmonics_from_aliases():
    sr, n = 48_000, 4800
    f = 7950.0
    x = sine_probe(f, -6.0, sr, n)
    assert asr_of_window(x, f, sr)[0] < -120  # a pure sine: float32 rounding only
    assert asr_of_window(np.sin(2 * np.pi * f * np.arange(n) / sr), f, sr)[0] == -200.0  # float64: at the floor
    soft = x + 0.1 * x**3  # 3rd harmonic 23 850 Hz stays below Nyquist: no alias
    assert asr_of_window(soft, f, sr)[0] < -120
    hard = np.clip(4 * x, -0.3, 0.5)  # a hard clipper folds many harmonics back
    asr_hard = asr_of_window(hard, f, sr)[0]
    assert asr_hard > -40
    # the same clipper at a low frequency aliases much less (its strong harmonics stay below Nyquist)
    low = np.clip(4 * sine_probe(110.0, -6.0, sr, n), -0.3, 0.5)
    assert asr_of_window(low, 110.0, sr)[0] < asr_hard - 10
    with pytest.raises(ValueError, match="whole cycles"):
        asr_of_window(x, 7955.0, sr)


def test_measure_aliasing_accepts_models_and_functions():
    m = build_model("tcn", "edge_of_breakup").eval()
    rf = m.receptive_field
    probes = measure_aliasing(m, rf, frequencies=(1010.0, 7950.0), levels_db=(-12.0,))
    assert [(p.frequency_hz, p.level_dbfs) for p in probes] == [(1010.0, -12.0), (7950.0, -12.0)]
    clipper = measure_aliasing(lambda x: np.clip(5 * x, -0.2, 0.2), 1, frequencies=(7950.0,), levels_db=(-6.0,))
    assert clipper[0].asr_db > -40 and clipper[0].alias_energy > 0


def test_rtf_is_measured_per_block_size():
    r = measure_rtf(build_model("tcn", "edge_of_breakup"), block_sizes=(32, 256), seconds=0.1, repeats=1)
    assert [b["block_size"] for b in r["blocks"]] == [32, 256] and r["threads"] == 1
    assert all(b["rtf"] > 0 and b["stream_offline_ratio"] > 0 for b in r["blocks"])
    assert r["blocks"][0]["rtf"] > r["blocks"][1]["rtf"]  # small blocks cost more per sample
    assert torch.get_num_threads() == 1  # restored to the fixture's setting


def test_report_writes_json_and_lists_every_failed_criterion(tmp_path):
    torch.manual_seed(0)
    model = build_model("gated", None, channels=4, dilation_depth=6)
    data = toy_pair(seconds=1.0)
    payload = {"normalization": {"policy": "output_peak", "output_gain_db": 3.0}, "val_esr": 0.5, "sample_rate": 48_000}
    lenient = ReadyThresholds(max_test_esr=1e9, max_rtf=1e9, max_aliasing_db=0.0)
    r = export_report(model, tmp_path, payload=payload, data=data, name="toy", thresholds=lenient,
                      block_sizes=(64, 256), rtf_seconds=0.1, frequencies=(1010.0, 7950.0), levels_db=(-12.0,),
                      progress=False)
    saved = json.loads((tmp_path / "toy_report.json").read_text())
    assert saved["ready"] is True and saved["failed"] == [] and r["name"] == "toy"
    assert (tmp_path / "toy_wavenetva.json").exists()
    assert set(r["exports"]) == {"nam", "wavenetva", "rtneural"}
    assert r["exports"]["wavenetva"]["ok"] and "refused" in r["exports"]["nam"] and "refused" in r["exports"]["rtneural"]
    assert r["gains"]["output_gain"] == pytest.approx(10 ** (-3 / 20))
    assert r["model"]["parameters"] == model.num_weights() and r["model"]["receptive_field"] == model.receptive_field
    assert r["test_esr"] > 0 and len(r["aliasing"]["probes"]) == 2
    # strict thresholds: every criterion fails and is named
    strict = ReadyThresholds(parity_tolerance=0.0, max_test_esr=0.0, max_rtf=0.0, max_aliasing_db=-300.0,
                             max_receptive_field=10)
    strict_r = json.loads(json.dumps(r))
    strict_r["exports"]["wavenetva"]["ok"] = r["exports"]["wavenetva"]["max_abs_diff"] <= 0.0
    failed = failed_criteria(strict_r, strict)
    for word in ("test ESR", "real-time factor", "aliasing", "receptive field"):
        assert any(word in f for f in failed), (word, failed)
    assert any(f.startswith("parity") for f in failed) == (r["exports"]["wavenetva"]["max_abs_diff"] > 0.0)
    assert failed_criteria({**r, "test_esr": None}, lenient) == ["test ESR not measured (pass the capture data)"]
    assert any(row["criterion"] == "RTF block 64" for row in summary_rows(r))
