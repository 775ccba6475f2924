"""Student versions of the course notebooks: one source, two versions (nbgrader's convention).

The notebooks in ``notebooks/`` hold the solutions. In a code cell, the lines between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` are the student's to write; in a markdown cell, the same markers wrap a model answer. The
student version replaces each code region with ``# YOUR CODE HERE`` + ``raise NotImplementedError()`` (indented
like the markers, as nbgrader's ``generate_assignment`` does) and each markdown region with ``YOUR ANSWER HERE``;
everything else (the signature and docstring above a region, the check cell after it) is kept. Written by hand
rather than with nbgrader itself: nbgrader's install brings a web server and database the course does not need,
and its stub is exactly this one.

    python -m helpers.student            # write notebooks/student/*.ipynb
    python -m helpers.student --check    # exit 1 when a committed student version is out of date
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

from helpers.errors import DataError, cli_entry
from helpers.paths import notebooks_dir

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
ANSWER_STUB = "YOUR ANSWER HERE"
_REGION = re.compile(rf"^([ \t]*){re.escape(BEGIN)}[^\n]*\n(.*?)^[ \t]*{re.escape(END)}[^\n]*(\n|$)", re.M | re.S)


def solution_regions(source: str) -> list[str]:
    """The solution regions of a cell's source, in order (each without its marker lines)."""
    _check_markers(source)
    return [m.group(2) for m in _REGION.finditer(source)]


def _check_markers(source: str) -> None:
    begins, ends = source.count(BEGIN), source.count(END)
    if begins != ends or len(list(_REGION.finditer(source))) != begins:
        raise DataError(f"unbalanced solution markers ({begins} {BEGIN!r}, {ends} {END!r}) in a cell starting "
                        f"{source[:60]!r}; every {BEGIN!r} needs its own {END!r} after it")


def strip_cell(source: str, markdown: bool = False) -> str:
    """``source`` with every solution region replaced by its stub."""
    _check_markers(source)

    def stub(m: re.Match[str]) -> str:
        indent = m.group(1)
        lines = [ANSWER_STUB] if markdown else CODE_STUB
        return "\n".join(indent + line for line in lines) + m.group(3)

    return _REGION.sub(stub, source)


def student_version(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of the solution notebook ``nb`` with its solution regions replaced by stubs and no outputs."""
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if BEGIN in cell.source:
            cell.source = strip_cell(cell.source, markdown=cell.cell_type == "markdown")
    return out


def fill_solutions(student: nbformat.NotebookNode, solutions: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``student`` with each stub replaced by the matching region of ``solutions`` (its solution notebook): the
    student version with the reference answers pasted back in."""
    if len(student.cells) != len(solutions.cells):
        raise DataError(f"the student notebook has {len(student.cells)} cells, its solution {len(solutions.cells)}")
    out = copy.deepcopy(student)
    for cell, sol in zip(out.cells, solutions.cells):
        _check_markers(sol.source)
        regions = [m.group(0) for m in _REGION.finditer(sol.source)]
        if not regions:
            continue
        lines = [ANSWER_STUB] if cell.cell_type == "markdown" else list(CODE_STUB)
        stub = re.compile(r"^([ \t]*)" + r"\n\1".join(map(re.escape, lines)) + r"(\n|$)", re.M)
        found = stub.findall(cell.source)
        if len(found) != len(regions):
            raise DataError(f"a cell has {len(found)} stubs but its solution {len(regions)} regions: {cell.source[:60]!r}")
        texts = stub.split(cell.source)[0::3]  # split gives text, indent, newline, text, …: keep the texts
        cell.source = texts[0] + "".join(region + text for region, text in zip(regions, texts[1:]))
    return out


def student_path(source: Path) -> Path:
    """Where the student version of ``source`` lives: ``notebooks/student/<same name>``."""
    return source.parent / "student" / source.name


def write_student_versions(folder: Path | None = None, check: bool = False) -> list[Path]:
    """Write (or with ``check``, compare) the student version of every notebook in ``folder``; returns the paths
    written, or with ``check`` the ones out of date."""
    folder = folder or notebooks_dir()
    changed = []
    for source in sorted(folder.glob("*.ipynb")):
        text = nbformat.writes(student_version(nbformat.read(source, as_version=4))) + "\n"
        target = student_path(source)
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        changed.append(target)
        if not check:
            target.parent.mkdir(exist_ok=True)
            target.write_text(text, encoding="utf-8")
    return changed


@cli_entry
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.student", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report student versions that are out of date")
    args = parser.parse_args(argv)
    changed = write_student_versions(check=args.check)
    for path in changed:
        print(f"{'out of date' if args.check else 'wrote'}: {path}")
    if args.check and changed:
        print("run `make student` and commit notebooks/student/", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
