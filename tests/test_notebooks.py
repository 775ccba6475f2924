"""Execute every course notebook top to bottom in quick mode (in order: later ones reuse earlier results)."""

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
    assert result.output_path.exists()
