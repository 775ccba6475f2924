"""One source, two versions: the student notebooks are generated from the solution notebooks, kept up to date,
run up to their first graded exercise and say ✗ there, and give back the solutions when the answers are pasted in."""

from __future__ import annotations

import re

import nbformat
import pytest

from helpers import notebooks, student
from helpers.errors import DataError

BOOKS = notebooks.list_notebooks()
# The kernels run with the notebooks, on one worker (under pytest-xdist's --dist loadgroup).
pytestmark = pytest.mark.xdist_group("notebooks")
CHECK_CALL = re.compile(r"^check_\w+\(", re.M)


def test_committed_student_versions_are_up_to_date():
    stale = student.write_student_versions(check=True)
    assert not stale, f"out of date: {[p.name for p in stale]}; run `make student` and commit notebooks/student/"


@pytest.mark.parametrize("book", BOOKS, ids=[b.stem for b in BOOKS])
def test_every_notebook_has_graded_exercises_and_ends_with_summary_and_exercises(book):
    nb = nbformat.read(book, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    regions = sum(len(student.solution_regions(s)) for s in code)
    checks = sum(len(CHECK_CALL.findall(s)) for s in code)
    wanted = 1 if book.name.startswith("00") else 2
    assert regions >= wanted and checks >= wanted, f"{book.name}: {regions} solution regions, {checks} checks"
    headings = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown" and c.source]
    assert any(h.startswith("## Summary") for h in headings) and headings[-1].startswith("## Exercises"), headings[-3:]


@pytest.mark.parametrize("book", BOOKS, ids=[b.stem for b in BOOKS])
def test_pasting_the_solutions_back_gives_the_solution_notebook(book):
    source = nbformat.read(book, as_version=4)
    pupil = nbformat.read(student.student_path(book), as_version=4)
    assert "### BEGIN SOLUTION" not in nbformat.writes(pupil)
    filled = student.fill_solutions(pupil, source)
    assert [c.source for c in filled.cells] == [c.source for c in source.cells]


def test_markers_must_balance():
    with pytest.raises(DataError, match="unbalanced"):
        student.strip_cell("x = 1\n### BEGIN SOLUTION\ny = 2\n")
    assert student.strip_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n") == (
        "def f():\n    # YOUR CODE HERE\n    raise NotImplementedError()\n")
    assert student.strip_cell("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION", markdown=True) == (
        "Why?\nYOUR ANSWER HERE")


@pytest.mark.notebook
@pytest.mark.parametrize("book", BOOKS, ids=[b.stem for b in BOOKS])
def test_student_notebook_runs_to_its_first_exercise_and_says_what_to_write(book, tmp_path):
    """Cells run in a real kernel up to the first check: no error anywhere, and the check says ✗ with its hint."""
    from nbclient import NotebookClient

    nb = nbformat.read(student.student_path(book), as_version=4)
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and CHECK_CALL.search(c.source))
    nb.cells = nb.cells[: first + 1]
    client = NotebookClient(nb, kernel_name=notebooks.kernel_name(), timeout=600,
                            resources={"metadata": {"path": str(book.parent / "student")}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, f"{errors[0].ename}: {errors[0].evalue}"
    last = "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in nb.cells[first].outputs)
    assert "✗" in last and "not written yet" in last, last
