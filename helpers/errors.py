"""The course's one error family: every error a user can cause is a :class:`LabError` that says how to fix it.

Each domain base also inherits the builtin it stands for (as the NAM trainer's ``DataError`` family does), so
``except ValueError`` keeps working. The command-line entry points catch :class:`LabError` and print
``error: <message>`` with exit status 2 instead of a traceback (:func:`cli_entry`).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TypeVar


class LabError(Exception):
    """Root of every error the course raises for something a user can fix."""


class ConfigError(LabError, ValueError):
    """A setting or argument is out of range, unknown or inconsistent with another."""


class DataError(LabError, ValueError):
    """A dataset, manifest, corpus or file's contents cannot be used as given."""


class AudioError(DataError):
    """Audio cannot be used as given (missing, unreadable, stereo, silent, non-finite, wrong rate)."""


class CheckpointError(LabError, ValueError):
    """A checkpoint is missing, unreadable, unsafe, of another kind, or from another run."""


class ExportError(LabError, ValueError):
    """A model cannot be written to, or read back from, a plugin file format."""


class ToolError(LabError, RuntimeError):
    """An external tool or optional package failed or is missing."""


F = TypeVar("F", bound=Callable[..., int])


def cli_entry(main: F) -> F:
    """Wrap a command-line ``main``: a :class:`LabError` becomes ``error: <message>`` on stderr and exit status 2."""

    @functools.wraps(main)
    def wrapper(*args: object, **kwargs: object) -> int:
        try:
            return main(*args, **kwargs)
        except LabError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    return wrapper  # type: ignore[return-value]
