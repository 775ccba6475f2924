"""Write a course notebook from a list of cells (used by maintainers to author notebooks).

    from tools.nbbuild import build, md, code, params, COLAB_SETUP
    build("notebooks/00_start_here.ipynb", [md("# Title"), COLAB_SETUP, params("QUICK = True"), code("...")])

Notebooks are written without outputs, with the ``parameters`` tag on the parameters cell.
"""

from __future__ import annotations

import textwrap

import nbformat


def md(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip())


def code(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(textwrap.dedent(text).strip())


def params(text: str) -> nbformat.NotebookNode:
    cell = code(text)
    cell.metadata["tags"] = ["parameters"]
    return cell


#: The first code cell of every notebook (a test keeps them equal to this). Written by hand, not a helper call,
#: because it must run before the course (and its helpers) is on the machine.
COLAB_SETUP = code(
    r'''
    # Setup: run this cell first. In Colab (a fresh machine) it fetches the course and installs what the notebooks
    # use; in a clone that is already set up (make lab, make demo) it only checks and does nothing else.
    import importlib.util
    import os
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    NAL_REPO_URL = os.environ.get("NAL_REPO_URL") or "https://github.com/neural-audio-lab/neural-audio-lab.git"
    IN_COLAB = "google.colab" in sys.modules

    class SetupProblem(Exception):
        def _render_traceback_(self):  # IPython shows this plain message instead of a traceback
            return [str(self)]

    def course_root():
        for folder in (Path.cwd(), *Path.cwd().parents):
            if (folder / "helpers" / "__init__.py").is_file() and (folder / "Makefile").is_file():
                return folder
        return None

    ROOT = course_root()
    if ROOT is None:
        ROOT = Path(os.environ.get("NAL_HOME") or ("/content/neural-audio-lab" if IN_COLAB else "~/neural-audio-lab")).expanduser()
        uploads = sorted(Path.cwd().glob("neural-audio-lab*.zip")) + sorted(ROOT.parent.glob("neural-audio-lab*.zip"))
        if not (ROOT / "helpers").is_dir() and uploads:  # a zip of the repository uploaded by hand
            print(f"unpacking {uploads[0]} into {ROOT}")
            with zipfile.ZipFile(uploads[0]) as archive:
                archive.extractall(ROOT.parent / ".nal_unzip")
            inner = next(p.parent.parent for p in (ROOT.parent / ".nal_unzip").rglob("helpers/__init__.py"))
            inner.rename(ROOT)
        if not (ROOT / "helpers").is_dir():
            print(f"fetching the course from {NAL_REPO_URL} into {ROOT} ...")
            clone = subprocess.run(["git", "clone", "--depth", "1", NAL_REPO_URL, str(ROOT)], capture_output=True, text=True)
            if clone.returncode != 0:
                said = (clone.stderr.strip().splitlines() or ["no message"])[-1]
                raise SetupProblem(
                    f"Could not fetch the course from {NAL_REPO_URL}\n(git said: {said})\n\nTwo ways out:\n"
                    "  1. Use your fork's (or your teacher's) address: at the top of this cell, replace the\n"
                    "     address in the line NAL_REPO_URL = ... with it, e.g.\n"
                    "       \"https://github.com/<you>/neural-audio-lab.git\"\n"
                    "     (or set the environment variable NAL_REPO_URL), and run this cell again.\n"
                    "  2. Upload the repository as a zip (on GitHub: Code > Download ZIP) into the folder\n"
                    f"     {ROOT.parent}/ under a name starting with neural-audio-lab, and run this cell again:\n"
                    "     it is unpacked for you.")
    sys.path.insert(0, str(ROOT))
    if any(importlib.util.find_spec(m) is None for m in ("soundfile", "comet_ml", "nam", "pretty_midi", "ipywidgets")):
        print("installing the course's packages (a few minutes; your PyTorch and widgets are kept) ...")
        install = subprocess.run(["make", "-C", str(ROOT), "install-here", f"PY={sys.executable}"],
                                 capture_output=True, text=True)
        if install.returncode != 0:
            raise SetupProblem("Installing the course's packages failed; the end of the log:\n"
                               + "\n".join((install.stdout + install.stderr).strip().splitlines()[-15:]))
    if IN_COLAB:
        if subprocess.run(["which", "abc2midi"], capture_output=True).returncode != 0:
            print("installing the optional system tools (abcmidi, timidity, fluidsynth; about a minute) ...")
            subprocess.run(["make", "-C", str(ROOT), "system-deps"], capture_output=True)
        import ipywidgets
        if int(ipywidgets.__version__.split(".")[0]) >= 8:  # Colab renders ipywidgets 8 only through this
            from google.colab import output
            output.enable_custom_widget_manager()
    if course_root() is None:  # started outside the course: work from its notebooks folder
        os.chdir(ROOT / "notebooks")
    print(f"course ready: {ROOT}")
    '''
)

#: The badge line under each notebook's title: open the student or the solution version in Colab.
BADGE_URL = "https://colab.research.google.com/github/neural-audio-lab/neural-audio-lab/blob/main/notebooks/"
BADGE_IMG = "https://colab.research.google.com/assets/colab-badge.svg"


def badges(stem: str) -> str:
    """The markdown line of Colab badges for notebook ``stem`` (e.g. ``"02_train_wavenet"``)."""
    return (f"[![Open In Colab]({BADGE_IMG})]({BADGE_URL}student/{stem}.ipynb) the exercises · "
            f"[![Open In Colab]({BADGE_IMG})]({BADGE_URL}{stem}.ipynb) with solutions")


def build(path: str, cells: list[nbformat.NotebookNode]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):  # stable ids keep diffs small
        cell["id"] = f"cell-{i:02d}"
    nbformat.validate(nb)
    nbformat.write(nb, path)
