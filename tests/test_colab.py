"""The notebooks' setup cell, as a student meets it in Colab: a fresh machine, the course fetched and installed.

Every notebook opens with the same setup cell and its Colab badges; a wrong repository address ends in a plain
message with the two ways out (and an uploaded zip is then unpacked); and a Colab-like run (a fresh environment
that has PyTorch and Colab's widgets but not the course) clones, installs, and runs notebooks 00, 02 and 03 from
another folder, keeping PyTorch and the widgets as they were.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers.notebooks import kernel_name, list_notebooks
from helpers.paths import notebooks_dir, repo_root
from tools.nbbuild import COLAB_SETUP, badges

STUDENT = notebooks_dir() / "student"
ALL = list_notebooks() + list_notebooks(folder=STUDENT)
COURSE_DIRS = ("NAL_DATA", "NAL_CHECKPOINTS", "NAL_OUTPUTS")


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_notebook_opens_with_its_badges_and_the_setup_cell(path: Path):
    nb = nbformat.read(path, as_version=4)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert first_code.source == COLAB_SETUP.source, f"{path.name}: the first code cell is not the setup cell"
    title = next(c for c in nb.cells if c.cell_type == "markdown")
    assert badges(path.stem) in title.source, f"{path.name}: no Colab badge pair under the title"


def _setup_only_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(COLAB_SETUP.source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "setup_only.ipynb"
    nbformat.write(nb, path)
    return path


def _papermill(src: Path, out: Path, cwd: Path, kernel: str, env: dict[str, str], *args: str,
               timeout: int = 1200) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "papermill", str(src), str(out), "-k", kernel, "--cwd", str(cwd),
                           "--no-progress-bar", *args], env=env, capture_output=True, text=True, timeout=timeout)


def _outputs_text(path: Path) -> str:
    """Everything the cells of an executed notebook printed (streams, results and error tracebacks)."""
    nb = json.loads(path.read_text())
    parts: list[str] = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            if out["output_type"] == "stream":
                parts.append("".join(out["text"]) if isinstance(out["text"], list) else out["text"])
            elif out["output_type"] == "error":
                parts.append(f"[{out['ename']}]\n" + "\n".join(out["traceback"]))
            elif "text/plain" in out.get("data", {}):
                text = out["data"]["text/plain"]
                parts.append("".join(text) if isinstance(text, list) else text)
    return "\n".join(parts)


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in COURSE_DIRS}
    env["NAL_HOME"] = str(home)
    return env


@pytest.mark.xdist_group("colab")
def test_a_wrong_address_gives_the_two_ways_out_and_an_uploaded_zip_is_unpacked(tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    src = _setup_only_notebook(tmp_path)
    home = tmp_path / "home" / "neural-audio-lab"
    env = _clean_env(home)
    env["NAL_REPO_URL"] = str(tmp_path / "no-such-repository")

    run = _papermill(src, tmp_path / "wrong.ipynb", work, kernel_name(), env, timeout=300)
    assert run.returncode != 0
    said = _outputs_text(tmp_path / "wrong.ipynb")
    assert "[SetupProblem]" in said
    assert "Could not fetch the course from" in said and "no-such-repository" in said
    assert "Two ways out" in said and "NAL_REPO_URL" in said and "zip" in said
    assert "Traceback" not in said and 'File "' not in said, f"a traceback instead of the plain message:\n{said}"
    assert not (home / "helpers").exists()

    if not (repo_root() / ".git").exists():
        pytest.skip("the zip branch needs the repository's git history (git archive)")
    archive = work / "neural-audio-lab-main.zip"
    subprocess.run(["git", "-C", str(repo_root()), "archive", "--format=zip", "--prefix=neural-audio-lab-main/",
                    "-o", str(archive), "HEAD"], check=True)
    run = _papermill(src, tmp_path / "zip.ipynb", work, kernel_name(), env, timeout=300)
    said = _outputs_text(tmp_path / "zip.ipynb")
    assert run.returncode == 0, said + run.stderr[-2000:]
    assert f"unpacking {archive}" in said and f"course ready: {home}" in said
    assert (home / "helpers" / "__init__.py").is_file() and (home / "notebooks").is_dir()


def _package_version(python: Path, module: str) -> str:
    return subprocess.run([str(python), "-c", f"import {module}; print({module}.__version__)"],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.xdist_group("colab")
def test_colab_like_fresh_machine_fetches_installs_and_runs_00_02_03(tmp_path: Path):
    """A fresh environment with PyTorch and ipywidgets 7.7 (as Colab has), the course fetched from NAL_REPO_URL."""
    if not (repo_root() / ".git").exists():
        pytest.skip("the clone branch needs the repository's git history")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    fresh = tmp_path / "colab-env"
    subprocess.run([sys.executable, "-m", "venv", str(fresh)], check=True)
    py = fresh / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "torch==2.13.0", "ipykernel", "ipywidgets==7.7.1"],
                   check=True, capture_output=True, timeout=900)
    jupyter = tmp_path / "jupyter"
    subprocess.run([str(py), "-m", "ipykernel", "install", "--prefix", str(jupyter), "--name", "nal-colab-like"],
                   check=True, capture_output=True)
    torch_before, widgets_before = _package_version(py, "torch"), _package_version(py, "ipywidgets")

    work = tmp_path / "work"  # the notebook's folder in Colab (/content), not the course
    work.mkdir()
    home = tmp_path / "home" / "neural-audio-lab"
    env = _clean_env(home)
    env["NAL_REPO_URL"] = f"file://{repo_root()}"
    env["JUPYTER_PATH"] = str(jupyter / "share" / "jupyter")
    said: dict[str, str] = {}
    for stem in ("00_start_here", "02_train_wavenet", "03_evaluate_and_listen"):
        out = tmp_path / f"{stem}.out.ipynb"
        run = _papermill(notebooks_dir() / f"{stem}.ipynb", out, work, "nal-colab-like", env, "-p", "QUICK", "True")
        said[stem] = _outputs_text(out) if out.exists() else ""
        assert run.returncode == 0, f"{stem} failed in the Colab-like run:\n{said[stem][-3000:]}\n{run.stderr[-3000:]}"

    first = said["00_start_here"]
    assert "fetching the course from file://" in first
    assert "installing the course's packages" in first
    assert f"course ready: {home}" in first
    for stem in ("02_train_wavenet", "03_evaluate_and_listen"):  # already fetched and installed: no second round
        assert "fetching the course" not in said[stem] and "installing the course's packages" not in said[stem]
    assert "from notebook 02" in said["03_evaluate_and_listen"]
    assert (home / "outputs" / "course.json").is_file()
    assert torch_before.startswith("2.13.0")
    assert _package_version(py, "torch") == torch_before, "the setup cell replaced the machine's PyTorch"
    assert _package_version(py, "ipywidgets") == widgets_before == "7.7.1"
