import sys

import pytest

from helpers import notebooks
from tools.nbbuild import build, code, params


def _book(path, body):
    build(str(path), [params("QUICK = False\nVALUE = 1"), code(body)])
    return path


def test_parameters_are_injected_and_time_recorded(tmp_path):
    nb = _book(tmp_path / "10_ok.ipynb", "assert QUICK is True and VALUE == 5\nprint('done')")
    result = notebooks.run_notebook(nb, {"QUICK": True, "VALUE": 5}, tmp_path / "out")
    assert result.output_path.exists() and result.seconds > 0


def test_first_failing_cell_is_reported(tmp_path):
    nb = tmp_path / "11_bad.ipynb"
    build(str(nb), [params("QUICK = True"), code("x = 1"), code("raise ValueError('boom in cell three')"),
                    code("open('should-not-run', 'w')")])
    with pytest.raises(notebooks.NotebookError) as info:
        notebooks.run_notebook(nb, {}, tmp_path / "out")
    message = str(info.value)
    assert "raise ValueError('boom in cell three')" in message and "ValueError" in message
    assert not (tmp_path / "should-not-run").exists()


def test_notebook_without_parameters_cell_is_refused(tmp_path):
    nb = tmp_path / "12_np.ipynb"
    build(str(nb), [code("x = 1")])
    with pytest.raises(ValueError, match="tagged 'parameters'"):
        notebooks.run_notebook(nb, {}, tmp_path)


def test_every_course_notebook_is_clean_and_has_parameters():
    import json

    books = notebooks.list_notebooks()
    assert books, "no notebooks found"
    for book in books:
        notebooks.parameters_cell_index(book)
        nb = json.loads(book.read_text())
        assert not any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), f"{book.name} has outputs"


def test_papermill_reads_every_parameter_of_every_course_notebook():
    """papermill's parser skips a line it cannot read (e.g. an '=' inside the comment): then the parameter
    is missing from ``papermill --help-notebook`` and Colab's form."""
    import re

    import nbformat
    from papermill.translators import PythonTranslator

    for book in notebooks.list_notebooks():
        nb = nbformat.read(book, as_version=4)
        cell = nb.cells[notebooks.parameters_cell_index(book)]
        assigned = re.findall(r"(?m)^([A-Z_][A-Z0-9_]*)\s*=", cell.source)
        parsed = [p.name for p in PythonTranslator.inspect(cell)]
        assert parsed == assigned, f"{book.name}: papermill reads {parsed}, the cell assigns {assigned}"


def test_cli_selects_by_number_and_fails_with_exit_code(tmp_path, capsys, monkeypatch):
    _book(tmp_path / "20_a.ipynb", "print(1)")
    bad = tmp_path / "21_b.ipynb"
    build(str(bad), [params("QUICK = True"), code("1/0")])
    monkeypatch.setattr(notebooks, "notebooks_dir", lambda: tmp_path)
    assert notebooks.main(["20", "--output-dir", str(tmp_path / "o")]) == 0
    assert "20_a" in capsys.readouterr().out
    assert notebooks.main(["--output-dir", str(tmp_path / "o")]) == 1
    assert "ZeroDivisionError" in capsys.readouterr().err
    assert sys.executable  # the kernel runs in this interpreter's environment
