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


COLAB_SETUP = code(
    """
    # Colab setup: fetch the course and install it (does nothing outside Colab; Colab's CUDA torch is kept).
    import os
    import subprocess
    import sys
    if "google.colab" in sys.modules and not os.path.isdir("/content/neural-audio-lab"):
        REPO_URL = os.environ.get("NAL_REPO_URL", "https://github.com/neural-audio-lab/neural-audio-lab.git")
        subprocess.run(["git", "clone", "--depth", "1", REPO_URL, "/content/neural-audio-lab"], check=True)
        subprocess.run(["make", "-C", "/content/neural-audio-lab", "install-here"], check=True)
    if "google.colab" in sys.modules:
        os.chdir("/content/neural-audio-lab/notebooks")
        sys.path.insert(0, "/content/neural-audio-lab")
    """
)


def build(path: str, cells: list[nbformat.NotebookNode]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):  # stable ids keep diffs small
        cell["id"] = f"cell-{i:02d}"
    nbformat.validate(nb)
    nbformat.write(nb, path)
