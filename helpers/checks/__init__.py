"""Graded exercises: ``check_<topic>(your_function)`` answers ✓, or ✗ with a hint naming the likely mistake.

One module per topic (``helpers.checks.capture``, ``.wavenet``, ``.evaluation``, ``.streaming``, ``.knobs``,
``.abc``, ``.synth``, ``.basics``); :mod:`helpers.checks.core` holds what they share.
"""

from helpers.checks.core import Case, CheckResult, Mistake, close, equal, run_check

__all__ = ["Case", "CheckResult", "Mistake", "close", "equal", "run_check"]
