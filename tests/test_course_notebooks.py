"""Course settings travel between the notebooks themselves (not only between the helpers they call).

Notebook 03 after a full-mode notebook 02 refuses quick settings and names the fix; on a fresh machine (nothing
recorded) it says in one line what it builds instead and records it; and a student's own recording goes from
notebook 01 (their files) through 02, 03 and 04 (``MANIFEST``) to a ``.nam`` file that NAM's own reader loads.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from helpers import course
from helpers.audio import save_wav
from helpers.capture.demo import simulate_recording
from helpers.capture.reamp import make_reamp_signal
from helpers.export.nam import for_python_reader, nam_model_from_dict
from helpers.notebooks import kernel_name
from helpers.paths import notebooks_dir
from helpers.training import save_checkpoint

pytestmark = pytest.mark.xdist_group("course-notebooks")


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty data, checkpoint and output folders (a fresh machine); notebook kernels inherit them."""
    for name in ("NAL_DATA", "NAL_CHECKPOINTS", "NAL_OUTPUTS"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    return tmp_path


def _run(stem: str, tmp: Path, params: dict, *, upto: str | None = None) -> str:
    """Run notebook ``stem`` (cells up to the one with id ``upto``) from the notebooks folder; what it printed."""
    import papermill as pm

    nb = nbformat.read(notebooks_dir() / f"{stem}.ipynb", as_version=4)
    if upto is not None:
        ids = [c.get("id") for c in nb.cells]
        nb.cells = nb.cells[: ids.index(upto) + 1]
    src, out = tmp / f"{stem}.in.ipynb", tmp / f"{stem}.out.ipynb"
    nbformat.write(nb, src)
    try:
        pm.execute_notebook(str(src), str(out), parameters=params, cwd=str(notebooks_dir()), kernel_name=kernel_name(),
                            progress_bar=False, log_output=False, execution_timeout=900)
    finally:
        printed = _printed(out) if out.exists() else ""
        (tmp / f"{stem}.printed.txt").write_text(printed)
    return printed


def _printed(path: Path) -> str:
    parts: list[str] = []
    for cell in json.loads(path.read_text())["cells"]:
        for o in cell.get("outputs", []):
            if o["output_type"] == "stream":
                parts.append("".join(o["text"]))
            elif o["output_type"] == "error":
                parts.append(f"{o['ename']}: {o['evalue']}")
    return "\n".join(parts)


def test_03_refuses_quick_settings_after_a_full_mode_02(lab: Path):
    checkpoint = lab / "full" / "best.pt"
    save_checkpoint(checkpoint, {"kind": "amp", "trainer": {"best_score": 0.01}})
    course.record("amp_model", notebook="02", checkpoint=checkpoint, device="overdrive", family="nam",
                  preset="feather", quick=False, manifest=lab / "capture" / "manifest.json")
    with pytest.raises(Exception) as err:
        _run("03_evaluate_and_listen", lab, {"QUICK": True}, upto="cell-05")
    said = str(err.value)
    assert "ConfigError" in said
    assert "notebook 02 trained a full-mode nam feather model" in said
    assert "set QUICK = False" in said and "run notebook 02 again with these settings" in said


def test_03_on_a_fresh_machine_announces_and_records_its_fallback(lab: Path):
    printed = _run("03_evaluate_and_listen", lab, {"QUICK": True}, upto="cell-05")
    assert ("no amp model recorded (notebook 02 has not run on this machine): training a quick nam feather model "
            "on the overdrive capture (quick) here instead, under a minute") in printed
    entry = course.recorded("amp_model")
    assert entry is not None and entry["notebook"] == "03" and entry["quick"] is True
    assert Path(entry["checkpoint"]).is_file()


def test_own_recording_goes_from_01_through_04_to_a_nam_file_nams_reader_plays(lab: Path):
    from nam.models import init_from_nam

    signal = make_reamp_signal(48_000, quick=True, seed=0)  # the reamp file notebook 01 writes
    wet = simulate_recording(signal.audio, "edge_of_breakup", 48_000, latency=37, seed=3)
    mine = lab / "my recording"
    mine.mkdir()
    save_wav(mine / "reamp.wav", signal.audio, 48_000)
    save_wav(mine / "amp.wav", wet, 48_000)

    said01 = _run("01_capture_dataset", lab, {"QUICK": True, "USER_INPUT": str(mine / "reamp.wav"),
                                              "USER_OUTPUT": str(mine / "amp.wav"), "USER_GEAR": "my test amp"})
    manifest = lab / "nal_data" / "captures" / "my_capture" / "manifest.json"
    assert manifest.is_file()
    assert f"set MANIFEST = {str(manifest)!r}" in said01

    own = {"QUICK": True, "MANIFEST": str(manifest)}
    said02 = _run("02_train_wavenet", lab, own)
    assert f"using your recording {manifest}" in said02
    said03 = _run("03_evaluate_and_listen", lab, own)
    assert "from notebook 02" in said03 and str(manifest) in said03
    said04 = _run("04_export_realtime", lab, own)
    exported = lab / "nal_outputs" / "04_export_realtime" / "own_my_capture_nam_feather.nam"
    assert exported.is_file(), said04
    assert f"your file: {exported}" in said04 and "Neural Amp Modeler plugin" in said04

    nam_file = json.loads(exported.read_text())
    assert nam_file["metadata"]["name"].startswith("own_my_capture")
    net = init_from_nam(for_python_reader(nam_file)).eval()  # the file stays A1; NAM 0.13's Python reader wants "head"
    x = torch.from_numpy(signal.audio[: 48_000].copy())
    with torch.no_grad():
        y = net(x).numpy()
        ours = nam_model_from_dict(nam_file).process(x).numpy()
    assert y.shape == (48_000,) and np.isfinite(y).all()
    assert float(np.sqrt(np.mean(y**2))) > 1e-3, "NAM's reader plays the exported capture as silence"
    assert float(np.max(np.abs(y - ours))) <= 1e-5
