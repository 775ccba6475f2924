"""What every graded exercise shares: run the student's function against the reference on several cases, and
when it is wrong, say which typical mistake it matches.

The shape of the MIT deep-learning labs' ``mdl.lab1.test_*``: a check takes *your* function, runs it, and answers
``✓`` or ``✗`` with a hint. A mistake is recognised by behaving exactly like a known wrong version of the
reference (non-causal padding, a missing denominator, targets not shifted, …): the hint then names it. An
exception your code raises is shown as your error with the line of your code it came from, never as a
traceback from deep inside a library.
"""

from __future__ import annotations

import copy
import math
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

_LIBRARY_ROOTS = (str(Path(__file__).resolve().parents[1]), "site-packages", "dist-packages", "/lib/python")

#: ``compare(got, expected) -> None`` when they agree, else a short description of how they differ.
Compare = Callable[[Any, Any], "str | None"]


@dataclass(frozen=True)
class Case:
    """One input to try: positional ``args`` for the function, and a ``label`` for the messages."""

    label: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Mistake:
    """A typical wrong answer: ``wrong(*args)`` computes what that mistake gives; ``hint`` says how to fix it."""

    hint: str
    wrong: Callable[..., Any]


@dataclass
class CheckResult:
    """The verdict; shown in a notebook as one ``✓`` / ``✗`` line, and true when the check passed."""

    name: str
    passed: bool
    message: str
    cases: int = 0
    details: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return f"{'✓' if self.passed else '✗'} {self.name}: {self.message}"

    __repr__ = __str__


def close(rtol: float = 1e-4, atol: float = 1e-6) -> Compare:
    """A comparison of arrays, tensors or numbers (shapes first, then values to ``rtol``/``atol``)."""

    def compare(got: Any, expected: Any) -> str | None:
        try:
            g, e = as_array(got), as_array(expected)
        except (TypeError, ValueError) as exc:
            return f"returned {type(got).__name__}, which is not a number or an array ({exc})"
        if g.shape != e.shape:
            return f"shape {g.shape}, expected {e.shape}"
        if not np.all(np.isfinite(g)):
            return "contains NaN or infinity"
        if not np.allclose(g, e, rtol=rtol, atol=atol):
            worst = float(np.max(np.abs(g.astype(np.float64) - e.astype(np.float64))))
            return f"values differ from the expected ones (largest difference {worst:.3g})"
        return None

    return compare


def same_db(got: Any, expected: Any) -> str | None:
    """Levels in dB agree to 0.001 dB; an infinite one (silence: ``-inf``) must be the same infinity."""
    try:
        g, e = float(as_array(got)), float(as_array(expected))
    except (TypeError, ValueError) as exc:
        return f"returned {type(got).__name__}, which is not one number ({exc})"
    if math.isinf(e) or math.isinf(g) or math.isnan(g):
        return None if g == e else f"got {g}, expected {e}"
    return close(rtol=1e-6, atol=1e-3)(g, e)


def equal(got: Any, expected: Any) -> str | None:
    """Exact equality (integers, strings, lists, arrays of integers)."""
    try:
        g, e = as_array(got), as_array(expected)
    except (TypeError, ValueError):
        return None if got == expected else f"got {got!r}, expected {expected!r}"
    if g.shape != e.shape:
        return f"shape {g.shape}, expected {e.shape}"
    return None if np.array_equal(g, e) else f"got {_short(got)}, expected {_short(expected)}"


def as_array(x: Any) -> np.ndarray:
    """``x`` (a tensor, an array, a number, a list) as a NumPy array."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _short(x: Any) -> str:
    text = repr(as_array(x).tolist()) if not isinstance(x, (str, int, float)) else repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def your_error(exc: BaseException) -> str:
    """``ExcType: message (line N of your code: `source`)``: the innermost frame outside the course's package and
    the installed libraries, i.e. the student's own cell."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(_LIBRARY_ROOTS)
              and not any(root in f.filename for root in _LIBRARY_ROOTS[1:])]
    where = ""
    if frames:
        f = frames[-1]
        where = f" (line {f.lineno} of your code: `{(f.line or '').strip()}`)"
    return f"{type(exc).__name__}: {exc}{where}"


def run_check(name: str, student: Callable[..., Any], reference: Callable[..., Any], cases: Sequence[Case], *,
              compare: Compare | None = None, mistakes: Sequence[Mistake] = ()) -> CheckResult:
    """Run ``student`` and ``reference`` on every case; ✓ when all agree, else ✗ with the first disagreement and,
    when the student's answer matches a known mistake on that case, the mistake's hint."""
    compare = compare or close()
    if not callable(student):
        return CheckResult(name, False, f"expected a function, got {type(student).__name__}; pass the function "
                                        "itself (no parentheses)")
    for case in cases:
        expected = reference(*copy.deepcopy(case.args))
        try:
            got = student(*copy.deepcopy(case.args))
        except NotImplementedError:
            return CheckResult(name, False, "not written yet: replace `raise NotImplementedError()` with your code")
        except Exception as exc:  # the student's own error, shown as theirs
            return CheckResult(name, False, f"{case.label}: your code raised {your_error(exc)}")
        problem = compare(got, expected)
        if problem is None:
            continue
        for mistake in mistakes:
            try:
                wrong = mistake.wrong(*copy.deepcopy(case.args))
            except Exception:  # a mistake that cannot even run on this case is not the one
                continue
            if compare(got, wrong) is None:
                return CheckResult(name, False, f"{case.label}: {mistake.hint}", details=[problem])
        return CheckResult(name, False, f"{case.label}: {problem}")
    return CheckResult(name, True, f"all {len(cases)} cases agree with the reference", cases=len(cases))
