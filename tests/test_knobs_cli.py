"""``python -m helpers.knobs train``: a tiny quick run end to end (checkpoint written, test ESR on unseen settings
printed) and bad input answered with a named error, no traceback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.knobs.train import load_trained

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def knobs_cli(tmp_path):
    env = {**os.environ, "NAL_TRACKING": "disabled", "NAL_OUTPUTS": str(tmp_path / "outputs"),
           "NAL_DATA": str(tmp_path / "data"), "NAL_CHECKPOINTS": str(tmp_path / "checkpoints"),
           "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg", "TQDM_DISABLE": "1"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "helpers.knobs", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)

    return run


def test_train_writes_the_checkpoint_and_prints_unseen_setting_esr(knobs_cli, tmp_path):
    out = tmp_path / "models" / "drive_tone.pt"
    proc = knobs_cli("train", "--quick", "--kind", "film", "--film", "activation_pre_film", "activation_post_film",
                     "--minutes", "0.05", "--out", str(out), "--no-track")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    model, encoding, payload = load_trained(out)  # the copy is a complete, loadable checkpoint
    assert model.family == "knob_nam" and model.config()["mechanism"] == "film"
    assert model.config()["film_positions"] == ["activation_pre_film", "activation_post_film"]
    assert encoding.space.names == ["drive", "tone"] and payload["kind"] == "knobs"
    assert str(out) in proc.stdout
    rows = re.findall(r"^  drive=(\S+) tone=(\S+)\s+([0-9.]+)$", proc.stdout, flags=re.M)
    assert len(rows) == 2  # the quick demo holds out two settings (grid midpoints)
    # held out: midpoints of the 3-level grid (0, 5, 10), never among the trained settings
    assert all(float(d) in (2.5, 7.5) and float(t) in (2.5, 7.5) for d, t, _ in rows)
    assert all(0.0 < float(v) < 10.0 for *_, v in rows)
    mean = re.search(r"mean \(unseen settings\)\s+([0-9.]+)", proc.stdout)
    assert mean is not None
    assert float(mean.group(1)) == pytest.approx(sum(float(v) for *_, v in rows) / 2, abs=2e-5)


@pytest.mark.parametrize(("args", "words"), [
    (("train", "--kind", "wavenet", "--quick"), ("unknown model kind 'wavenet'", "concat, film, concat+film, lstm")),
    (("train", "--quick", "--device", "fuzzbox"), ("no virtual device 'fuzzbox'", "overdrive")),
    (("train", "--quick", "--knobs", "drive", "volume"), ("volume",)),
    (("train", "--quick", "--minutes", "0"), ("--minutes must be a positive",)),
    (("train", "--quick", "--mixer-lr-scale", "-2"), ("mixer_lr_scale must be a positive",)),
    (("train", "--quick", "--film-lr-scale", "0"), ("film_lr_scale must be a positive",)),
    (("train", "--quick", "--level-balance", "1.5"), ("level_balance must be between 0",)),
    (("train", "--quick", "--encoding", "binary"), ("unknown knob encoding 'binary'",)),
    (("train", "--quick", "--film", "head1x1_post_film"), ("head1x1_post_film is not one", "conv_pre_film")),
    (("train", "--quick", "--kind", "lstm", "--film", "conv_pre_film"), ("not --kind lstm",)),
])
def test_bad_input_is_a_named_error_without_traceback(knobs_cli, args, words):
    proc = knobs_cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in proc.stderr, proc.stderr


def test_a_missing_manifest_names_the_path(knobs_cli, tmp_path):
    proc = knobs_cli("train", "--manifest", str(tmp_path / "nowhere" / "manifest.json"), "--kind", "concat")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no knob manifest here" in proc.stderr and "nowhere" in proc.stderr
