"""Run the course notebooks top to bottom with injected parameters (papermill convention).

    python -m helpers.notebooks                # every notebook, quick mode
    python -m helpers.notebooks 02 03 --full   # chosen notebooks (by number or name), full mode
    python -m helpers.notebooks 01 -p SEED 7   # extra parameters

Each notebook has one cell tagged ``parameters``; papermill injects the values after it. The
run stops at the first failing cell and prints that cell and its traceback. Executed copies go
to ``outputs/notebooks/``; the files each notebook wrote are listed afterwards.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.errors import ConfigError, DataError, LabError, cli_entry
from helpers.paths import checkpoints_dir, data_dir, notebooks_dir, outputs_dir

KERNEL_NAME = "neural-audio-lab"


class NotebookError(LabError, RuntimeError):
    """A notebook failed; the message holds the failing cell and its traceback."""


@dataclass
class NotebookResult:
    """Outcome of one notebook run."""

    name: str
    seconds: float
    output_path: Path
    written: dict[str, list[Path]] = field(default_factory=dict)


def list_notebooks(selection: list[str] | None = None, folder: Path | None = None) -> list[Path]:
    """The course notebooks in order; ``selection`` filters by number prefix or (part of) the name."""
    folder = folder or notebooks_dir()
    books = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    if not selection:
        return books
    chosen: list[Path] = []
    for key in selection:
        matches = [b for b in books if b.stem.startswith(key) or key in b.stem]
        if not matches:
            raise ConfigError(f"no notebook matches {key!r}; give a number or part of a name of: "
                              f"{', '.join(b.stem for b in books) or f'(none in {folder})'}")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def parameters_cell_index(path: Path) -> int:
    """Index of the cell tagged ``parameters``; :class:`DataError` (a ValueError) when there is none."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such notebook; check the path")
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = nb["cells"]
    except (ValueError, KeyError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise DataError(f"{path.name}: not a readable notebook ({exc}); restore it from git") from exc
    for i, cell in enumerate(cells):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return i
    raise DataError(f"{path.name}: no cell tagged 'parameters' (needed to switch quick/full mode); tag the cell "
                    "that sets QUICK with 'parameters' (Jupyter: View → Cell Toolbar → Tags)")


def kernel_name() -> str:
    """The course kernel (`make` installs it) when present, else the default `python3`."""
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    return KERNEL_NAME if KERNEL_NAME in specs else "python3"


def _snapshot() -> dict[Path, float]:
    stamps: dict[Path, float] = {}
    for root in (outputs_dir(), checkpoints_dir(), data_dir()):
        for p in root.rglob("*"):
            if p.is_file() and "notebooks" not in p.relative_to(root).parts[:1]:
                stamps[p] = p.stat().st_mtime
    return stamps


_KINDS = {
    "audio": (".wav", ".flac", ".mid", ".midi"),
    "plots": (".png", ".svg", ".pdf"),
    "models": (".nam", ".pt", ".ckpt", ".json"),
    "comet archives": (".zip",),
}


def _classify(paths: list[Path]) -> dict[str, list[Path]]:
    groups: dict[str, list[Path]] = {}
    for p in sorted(paths):
        kind = next((k for k, exts in _KINDS.items() if p.suffix.lower() in exts), "other")
        if kind == "models" and p.suffix == ".json" and "manifest" in p.name:
            kind = "datasets"
        groups.setdefault(kind, []).append(p)
    return groups


def _failure_message(path: Path, exc: Exception) -> str:
    """The failing cell's source, its traceback (colours stripped) and the error, from papermill's
    ``PapermillExecutionError`` (which carries them); any other failure (a dead kernel, a timeout) gives
    its type and message."""
    import re

    from papermill.exceptions import PapermillExecutionError

    lines = [f"{path.name} failed"]
    if isinstance(exc, PapermillExecutionError):
        if exc.source:
            lines += ["--- failing cell " + "-" * 50, exc.source, "-" * 67]
        trace = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(exc.traceback or []))
        lines += [trace] if trace else []
        last = f"{exc.ename}: {exc.evalue}"
        if not trace.rstrip().endswith(last):
            lines.append(last)
    else:
        lines.append(f"{type(exc).__name__}: {exc}")
    return "\n".join(lines)


def run_notebook(
    path: str | os.PathLike[str],
    params: dict[str, Any] | None = None,
    output_dir: str | os.PathLike[str] | None = None,
    *,
    timeout: int = 3600,
) -> NotebookResult:
    """Execute one notebook with ``params`` injected; raise :class:`NotebookError` on a failing cell."""
    import papermill as pm

    src = Path(path).resolve()
    parameters_cell_index(src)
    out_dir = Path(output_dir) if output_dir else outputs_dir("notebooks")
    out_dir.mkdir(parents=True, exist_ok=True)
    out_path = out_dir / src.name
    before = _snapshot()
    start = time.perf_counter()
    try:
        pm.execute_notebook(
            str(src), str(out_path), parameters=params or {}, cwd=str(src.parent), kernel_name=kernel_name(),
            progress_bar=False, execution_timeout=timeout, log_output=False,
        )
    except Exception as exc:  # a failing cell (PapermillExecutionError), a dead kernel, a timeout, …
        raise NotebookError(f"{_failure_message(src, exc)}\npartly executed copy: {out_path}") from exc
    seconds = time.perf_counter() - start
    after = _snapshot()
    changed = [p for p, t in after.items() if before.get(p) != t]
    return NotebookResult(src.stem, seconds, out_path, _classify(changed))


def _parse_value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


@cli_entry
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.notebooks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="numbers or names (default: all)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="quick", action="store_true", default=True, help="quick mode (default)")
    mode.add_argument("--full", dest="quick", action="store_false", help="full mode (long training)")
    parser.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    parser.add_argument("--output-dir", default=None, help="where executed copies go (default outputs/notebooks)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell")
    args = parser.parse_args(argv)

    params: dict[str, Any] = {"QUICK": args.quick}
    params.update({k: _parse_value(v) for k, v in args.param})
    books = list_notebooks(args.notebooks)
    results: list[NotebookResult] = []
    root = outputs_dir().parent
    for book in books:
        print(f"▶ {book.stem} ({'quick' if args.quick else 'full'} mode) …", flush=True)
        try:
            result = run_notebook(book, params, args.output_dir, timeout=args.timeout)
        except NotebookError as exc:
            print(str(exc), file=sys.stderr)
            print(f"✗ stopped at {book.stem}; the partly executed copy is in {args.output_dir or outputs_dir('notebooks')}",
                  file=sys.stderr)
            return 1
        results.append(result)
        print(f"  ✓ {result.seconds:.1f} s → {_rel(result.output_path, root)}")
        for kind, paths in result.written.items():
            shown = ", ".join(_rel(p, root) for p in paths[:6]) + (f" (+{len(paths) - 6} more)" if len(paths) > 6 else "")
            print(f"    {kind}: {shown}")
    total = sum(r.seconds for r in results)
    print(f"\n{len(results)} notebook(s) ran in {total:.1f} s:")
    for r in results:
        print(f"  {r.name:<32} {r.seconds:7.1f} s")
    return 0


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    raise SystemExit(main())
