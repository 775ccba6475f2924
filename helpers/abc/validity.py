"""Judge a tune: syntax (``abc2midi`` when installed, else the pure-Python reader), header completeness,
bar durations against ``M:``/``L:``, and notes inside the key signature.

``abc2midi`` exits 0 even on garbage: its verdict is in its output, where lines starting ``Error``
mean the tune is broken and ``Warning ... Bar N has x time units while the time signature has y``
lines mean a bar of the wrong length. "Assuming repeat" style warnings are pedantic and ignored.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from helpers.abc.parse import Bar, ParsedTune, parse_tune
from helpers.errors import ToolError
from helpers.runtime import find_tool

_BAR_WARNING = re.compile(r"Bar (\d+) has .* time units while the time signature has")


class CheckerMissingError(ToolError, FileNotFoundError):
    """abc2midi was asked for but is not installed (also a ``FileNotFoundError``, as before)."""


@dataclass
class Verdict:
    """Everything the course says about one tune.

    ``clean`` = no syntax error and no bar-length warning (the benchmark's clean rate).
    """

    checker: str
    errors: list[str] = field(default_factory=list)
    bar_warnings: list[str] = field(default_factory=list)
    header_complete: bool = False
    bars: int = 0
    bars_complete: float = 1.0
    notes: int = 0
    in_key: float = 1.0

    @property
    def syntax_ok(self) -> bool:
        return not self.errors

    @property
    def clean(self) -> bool:
        return not self.errors and not self.bar_warnings

    def as_row(self) -> dict:
        row = asdict(self)
        row["errors"], row["bar_warnings"] = len(self.errors), len(self.bar_warnings)
        row.update(syntax_ok=self.syntax_ok, clean=self.clean)
        return row


def abc2midi_messages(tune: str, abc2midi: str | None = None, timeout: float = 10.0) -> tuple[list[str], list[str]]:
    """Run ``abc2midi -c`` (check only) on one tune; return its ``Error`` lines and its bar-length warnings.

    Bar warnings repeated for a second pass through a repeat (``... in repeat``) are counted once.
    """
    exe = abc2midi or find_tool("abc2midi")
    if exe is None:
        raise CheckerMissingError("abc2midi is not installed (Debian: apt-get install abcmidi); use python_check")
    with tempfile.TemporaryDirectory(prefix="nal-abc-") as tmp:
        path = Path(tmp) / "tune.abc"
        path.write_text(tune.strip() + "\n\n", encoding="utf-8")
        try:
            proc = subprocess.run([exe, str(path), "-c"], capture_output=True, text=True, timeout=timeout, cwd=tmp,
                                  errors="replace")
        except subprocess.TimeoutExpired:
            return [f"Error: abc2midi took more than {timeout:.0f} s on this tune"], []
    lines = (proc.stdout + proc.stderr).splitlines()
    errors = [line for line in lines if line.startswith("Error")]
    bars = {m.group(1): line for line in lines if line.startswith("Warning") and (m := _BAR_WARNING.search(line))}
    return errors, list(bars.values())


def flagged_bars(parsed: ParsedTune) -> list[Bar]:
    """Bars whose length differs from the meter, as abc2midi would flag them (calibrated on irish.abc).

    Like abc2midi, the first bar (a pick-up), bars closed by anything but a plain ``|`` (repeats, double
    bars: sections may end short) and bars right after such a bar line (a section's pick-up) are not
    checked alone. At a repeat ``:|`` abc2midi plays the section again: a short last bar then joins the
    section's first bar (a pick-up), and the two must make one full bar. Such a failed pair is reported
    as a bar with the ``:|`` bar's index and their joint duration.
    """
    flagged, previous, section_start = [], "|", 0
    bars = parsed.bars
    for k, bar in enumerate(bars):
        exempt = bar.index == 0 or bar.closing != "|" or previous != "|" or bar.duration == 0
        previous = bar.closing
        if not exempt and not bar.complete:
            flagged.append(bar)
        if bar.closing.startswith(":") and bar.expected is not None and section_start < k:
            first = bars[section_start]
            carry = bar.duration if bar.duration < bar.expected else 0
            joint = carry + first.duration
            if joint != bar.expected and (carry or first.duration < bar.expected):
                flagged.append(Bar(bar.index, joint, bar.expected, bar.closing, bar.line))
        if bar.closing != "|":  # a repeat or double bar: the next section starts after it
            section_start = k + 1
    return flagged


def python_bar_warnings(parsed: ParsedTune) -> list[str]:
    """Messages for :func:`flagged_bars`."""
    return [f"Bar {bar.index} (line {bar.line}) lasts {bar.duration} of a whole note; the meter needs {bar.expected}"
            for bar in flagged_bars(parsed)]


def judge(tune: str, *, use_abc2midi: bool | None = None) -> Verdict:
    """Judge one tune. ``use_abc2midi``: ``None`` = when installed, ``False`` = pure-Python only."""
    parsed = parse_tune(tune)
    exe = find_tool("abc2midi") if use_abc2midi is not False else None
    if use_abc2midi and exe is None:
        raise CheckerMissingError("use_abc2midi=True but abc2midi is not installed (Debian: apt-get install abcmidi); "
                                  "or pass use_abc2midi=None to fall back to the pure-Python check")
    if exe is not None:
        errors, bar_warnings = abc2midi_messages(tune, exe)
        checker = "abc2midi"
    else:
        errors, bar_warnings, checker = list(parsed.errors), python_bar_warnings(parsed), "python"
    if not parsed.notes:  # a header without music would otherwise pass both checkers
        errors = [*errors, "the tune has no notes"]
    checked = [b for b in parsed.bars if b.duration > 0 and b.expected is not None]
    return Verdict(
        checker=checker,
        errors=errors,
        bar_warnings=bar_warnings,
        header_complete=parsed.header_complete,
        bars=len(parsed.bars),
        bars_complete=sum(b.complete for b in checked) / len(checked) if checked else 1.0,
        notes=len(parsed.notes),
        in_key=parsed.in_key_fraction,
    )


def judge_many(tunes: list[str], *, use_abc2midi: bool | None = None):
    """One :class:`Verdict` row per tune as a pandas DataFrame."""
    import pandas as pd

    return pd.DataFrame([judge(t, use_abc2midi=use_abc2midi).as_row() for t in tunes])


def summary(table) -> dict[str, float]:
    """Rates over a :func:`judge_many` table: clean, syntax ok, header complete, complete bars, in key."""
    if len(table) == 0:
        return {"tunes": 0}
    return {
        "tunes": len(table),
        "clean_rate": float(table["clean"].mean()),
        "syntax_ok_rate": float(table["syntax_ok"].mean()),
        "bar_warning_rate": float((table["bar_warnings"] > 0).mean()),
        "header_complete_rate": float(table["header_complete"].mean()),
        "bars_complete": float(table["bars_complete"].mean()),
        "in_key": float((table["in_key"] * table["notes"]).sum() / max(table["notes"].sum(), 1)),
        "mean_notes": float(table["notes"].mean()),
    }
