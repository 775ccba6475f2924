"""The error family: every exception the course defines is a LabError, command lines answer a bad input with
``error: …`` and exit status 2 (never a traceback), and an unusable .abc file is named in a warning."""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import helpers
from helpers import errors

ROOT = Path(__file__).resolve().parent.parent


def _helpers_modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(helpers.__path__, "helpers.")]


def test_every_exception_class_of_helpers_is_a_lab_error():
    outsiders = []
    for name in _helpers_modules():
        module = importlib.import_module(name)
        for attr, obj in vars(module).items():
            if (inspect.isclass(obj) and obj.__module__ == module.__name__ and issubclass(obj, Exception)
                    and not issubclass(obj, Warning) and not issubclass(obj, errors.LabError)):
                outsiders.append(f"{name}.{attr}")
    assert not outsiders, f"derive these from a base in helpers.errors: {outsiders}"


@pytest.mark.parametrize(("base", "builtin"), [
    (errors.ConfigError, ValueError), (errors.DataError, ValueError), (errors.AudioError, ValueError),
    (errors.CheckpointError, ValueError), (errors.ExportError, ValueError), (errors.ToolError, RuntimeError),
])
def test_family_bases_keep_their_builtin(base, builtin):
    assert issubclass(base, errors.LabError) and issubclass(base, builtin)


def test_re_exported_classes_are_the_family_ones():
    from helpers import audio
    from helpers.export import common

    assert audio.AudioError is errors.AudioError
    assert common.ExportError is errors.ExportError


def test_cli_entry_turns_a_lab_error_into_status_2(capsys):
    @errors.cli_entry
    def main(argv=None):
        raise errors.ConfigError("bad setting; use a good one")

    assert main([]) == 2
    assert capsys.readouterr().err == "error: bad setting; use a good one\n"


# ------------------------------------------------------------------------------------------ command lines
@pytest.fixture
def cli(tmp_path):
    env = {**os.environ, "NAL_TRACKING": "disabled", "NAL_OUTPUTS": str(tmp_path / "outputs"),
           "NAL_DATA": str(tmp_path / "data"), "NAL_CHECKPOINTS": str(tmp_path / "checkpoints"),
           "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}

    def run(module: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)

    return run


def _assert_user_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in proc.stderr, proc.stderr


def _manifest(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def wav(tmp_path):
    import soundfile as sf

    path = tmp_path / "dry.wav"
    sf.write(path, (0.1 * np.sin(np.arange(4800) / 7)).astype(np.float32), 48_000)
    return str(path)


def test_amp_train_with_a_missing_manifest(cli, tmp_path):
    _assert_user_error(cli("helpers.amp", "train", "--manifest", str(tmp_path / "none.json")), "no manifest here")


def test_amp_train_with_a_manifest_that_is_not_json(cli, tmp_path):
    path = _manifest(tmp_path, "manifest.json", "this is { not JSON")
    _assert_user_error(cli("helpers.amp", "train", "--manifest", path), "not valid JSON")


def test_amp_train_with_a_manifest_that_lacks_keys(cli, tmp_path):
    path = _manifest(tmp_path, "manifest.json", '{"sample_rate": 48000}')
    _assert_user_error(cli("helpers.amp", "train", "--manifest", path), "missing fields")


def test_amp_train_with_an_unknown_demo_device(cli):
    _assert_user_error(cli("helpers.amp", "train", "--demo", "no_such_amp"), "no virtual device", "overdrive")


def test_amp_predict_with_a_missing_checkpoint(cli, tmp_path, wav):
    proc = cli("helpers.amp", "predict", "--checkpoint", str(tmp_path / "gone.pt"), "--input", wav,
               "--output", str(tmp_path / "wet.wav"))
    _assert_user_error(proc, "gone.pt")


def test_amp_predict_with_a_missing_input(cli, tmp_path):
    proc = cli("helpers.amp", "predict", "--checkpoint", str(tmp_path / "gone.pt"), "--input",
               str(tmp_path / "no_dry.wav"), "--output", str(tmp_path / "wet.wav"))
    _assert_user_error(proc, "no_dry.wav", "no such input")


def test_amp_predict_with_a_knob_checkpoint_names_the_knob_loader(cli, tmp_path, wav):
    from helpers.training import save_checkpoint

    knob = save_checkpoint(tmp_path / "knob.pt", {"kind": "knobs", "family": "knob_nam", "config": {}, "state_dict": {}})
    proc = cli("helpers.amp", "predict", "--checkpoint", str(knob), "--input", wav, "--output", str(tmp_path / "w.wav"))
    _assert_user_error(proc, "'knobs' model", "helpers.knobs.train.load_trained")


def test_amp_evaluate_with_a_missing_checkpoint(cli, tmp_path):
    _assert_user_error(cli("helpers.amp", "evaluate", "--checkpoint", str(tmp_path / "gone.pt")), "gone.pt")


def test_notebooks_with_an_unknown_notebook(cli):
    _assert_user_error(cli("helpers.notebooks", "zz_no_such_notebook"), "no notebook matches", "06_abc_dataset")


def test_bench_with_an_unknown_part(cli):
    _assert_user_error(cli("helpers.bench", "no_such_part", "--quick"), "no_such_part", "amp")


# ------------------------------------------------------------------------------------------ ABC corpus
def test_unusable_abc_files_are_named_in_warnings(tmp_path):
    from helpers.abc import corpus

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "good.abc").write_text("X:1\nT:Good\nM:2/4\nL:1/8\nK:D\nAB cd|ef ga|]\n", encoding="utf-8")
    (folder / "no_x.abc").write_text("T:No reference line\nM:2/4\nK:D\nAB cd|]\n", encoding="utf-8")
    (folder / "binary.abc").write_bytes(bytes(range(256)) * 8)
    (folder / "headless.abc").write_text("X:1\nT:No key, no music\n", encoding="utf-8")
    with pytest.warns(corpus.CorpusWarning) as record:
        c = corpus.load_corpus(include_irish=False, user_files=[folder], include_user_folder=False)
    messages = [str(w.message) for w in record if issubclass(w.category, corpus.CorpusWarning)]
    assert len(messages) == 3
    by_file = {Path(m.split(": ", 1)[0]).name: m for m in messages}
    assert "X:" in by_file["no_x.abc"]
    assert "not text" in by_file["binary.abc"]
    assert "none usable" in by_file["headless.abc"]
    assert len(c) == 1
    assert c.tunes_per_file == {str(folder / n): int(n == "good.abc")
                                for n in ("binary.abc", "good.abc", "headless.abc", "no_x.abc")}
    assert "good.abc: 1 tune(s) kept" in c.report()


def test_a_binary_abc_file_is_refused_as_not_text(tmp_path):
    from helpers.abc import corpus

    path = tmp_path / "x.abc"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(corpus.CorpusError, match="not text"):
        corpus.read_abc_text(path)
    with pytest.raises(errors.DataError, match="no such file"):
        corpus.read_abc_text(tmp_path / "missing.abc")
