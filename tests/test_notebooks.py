"""Execute every course notebook top to bottom in quick mode (in order: later ones reuse earlier results); the
solution notebooks must pass every graded check they run."""

import nbformat
import pytest

from helpers import notebooks

BOOKS = notebooks.list_notebooks()
# One worker runs them all, in order (under pytest-xdist's --dist loadgroup).
pytestmark = pytest.mark.xdist_group("notebooks")


@pytest.mark.notebook
@pytest.mark.parametrize("book", BOOKS, ids=[b.stem for b in BOOKS])
def test_notebook_runs_in_quick_mode(book, tmp_path_factory):
    out = tmp_path_factory.mktemp("executed")
    result = notebooks.run_notebook(book, {"QUICK": True}, out, timeout=900)
    executed = nbformat.read(result.output_path, as_version=4)
    texts = [o.get("text", "") or o.get("data", {}).get("text/plain", "")
             for c in executed.cells if c.cell_type == "code" for o in c.outputs]
    failed = [t for t in texts if "✗" in t]
    assert not failed, f"a graded check failed in the solution notebook: {failed[0][:300]}"
