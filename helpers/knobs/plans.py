"""Recording plans: which knob settings to record, how many recordings each strategy needs, printable.

Four strategies (``k`` knobs):

* :func:`isolated_plan` — one knob at a time, the others at their defaults: ``1 + k·(levels - 1)``
  recordings when the default is one of the levels (the all-default recording is shared).
* :func:`combinatorial_plan` — every combination of ``levels`` positions: ``levels**k``.
* :func:`hybrid_plan` — every combination of the key positions 9, 12 and 3 o'clock (3**k), plus each
  knob alone at its extremes (7 and 5 o'clock) with the others at default: ``3**k + 2k``.
* :func:`latin_hypercube_plan` — ``samples`` Latin-hypercube settings (each knob's range cut into
  ``samples`` strata, one setting per stratum) plus the ``2**k`` corners.

Clock positions follow a pointer knob's travel: 7 o'clock = minimum, 12 = middle, 5 = maximum
(300° of travel, so 9 o'clock = 20 %, 3 o'clock = 80 %).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from helpers.knobs.space import KnobError, KnobSpace, Setting

#: Fraction of a knob's travel at each clock position (7 o'clock = 0, 5 o'clock = 1, 300° of travel).
CLOCK: dict[str, float] = {"7": 0.0, "8": 0.1, "9": 0.2, "10": 0.3, "11": 0.4, "12": 0.5,
                           "1": 0.6, "2": 0.7, "3": 0.8, "4": 0.9, "5": 1.0}


@dataclass
class RecordingPlan:
    """The settings to record, in recording order (each a full setting: every knob has a value)."""

    strategy: str
    space: KnobSpace
    settings: list[Setting]
    description: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Number of recordings the plan needs."""
        return len(self.settings)

    def format(self, seconds_per_recording: float | None = None) -> str:
        """A numbered table a user can follow at the device (values in the knobs' units and clock positions)."""
        names = self.space.names
        lines = [f"{self.strategy} plan: {self.count} recordings — {self.description}"]
        if seconds_per_recording:
            total = self.count * seconds_per_recording
            lines.append(f"recording time: {self.count} × {seconds_per_recording:.0f} s = {total / 60:.1f} min")
        width = max(10, *(len(n) + 2 for n in names))
        lines.append("  #  " + "".join(f"{n:>{width}}" for n in names))
        for i, s in enumerate(self.settings, 1):
            cells = []
            for n in names:
                knob = self.space[n]
                cells.append(f"{s[n]:g} ({clock_of(knob.minimum, knob.maximum, s[n])})".rjust(width))
            lines.append(f"{i:3d}  " + "".join(cells))
        lines.extend(self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def clock_of(minimum: float, maximum: float, value: float) -> str:
    """The nearest clock position of ``value`` on a knob from ``minimum`` to ``maximum`` (e.g. ``'9h'``)."""
    frac = (value - minimum) / (maximum - minimum)
    name = min(CLOCK, key=lambda c: abs(CLOCK[c] - frac))
    return f"{name}h" if abs(CLOCK[name] - frac) < 0.02 else f"~{name}h"


def _positions(space: KnobSpace, name: str, fractions: Iterable[float]) -> list[float]:
    k = space[name]
    return [round(k.minimum + f * (k.maximum - k.minimum), 6) for f in fractions]


def _levels(levels: int) -> np.ndarray:
    if levels < 2:
        raise KnobError(f"a plan needs at least 2 levels per knob, got {levels}")
    return np.linspace(0.0, 1.0, levels)


def _unique(settings: Iterable[Setting]) -> list[Setting]:
    seen, out = set(), []
    for s in settings:
        key = tuple(sorted(s.items()))
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def isolated_plan(space: KnobSpace, levels: int = 5) -> RecordingPlan:
    """All knobs at default once, then each knob alone at ``levels`` evenly spaced positions."""
    base = space.defaults()
    settings = [base]
    for name in space.names:
        settings += [{**base, name: v} for v in _positions(space, name, _levels(levels))]
    return RecordingPlan("isolated", space, _unique(settings),
                         f"one knob at a time at {levels} positions, the others at their defaults")


def combinatorial_plan(space: KnobSpace, levels: int = 3) -> RecordingPlan:
    """Every combination of ``levels`` evenly spaced positions of every knob (``levels**k`` recordings)."""
    grids = [_positions(space, n, _levels(levels)) for n in space.names]
    settings = [dict(zip(space.names, combo)) for combo in itertools.product(*grids)]
    return RecordingPlan("combinatorial", space, settings, f"every combination of {levels} positions per knob")


def hybrid_plan(space: KnobSpace, key_positions: Iterable[str] = ("9", "12", "3"),
                extremes: Iterable[str] = ("7", "5")) -> RecordingPlan:
    """Every combination of the ``key_positions`` (clock names) plus each knob alone at the ``extremes``."""
    key_positions, extremes = list(key_positions), list(extremes)
    bad = [c for c in key_positions + extremes if c not in CLOCK]
    if bad:
        raise KnobError(f"unknown clock position(s) {bad}; use {list(CLOCK)}")
    grids = [_positions(space, n, [CLOCK[c] for c in key_positions]) for n in space.names]
    settings = [dict(zip(space.names, combo)) for combo in itertools.product(*grids)]
    base = space.defaults()
    for name in space.names:
        settings += [{**base, name: v} for v in _positions(space, name, [CLOCK[c] for c in extremes])]
    return RecordingPlan("hybrid", space, _unique(settings),
                         f"every combination of {'/'.join(key_positions)} o'clock, plus each knob alone at "
                         f"{'/'.join(extremes)} o'clock")


def latin_hypercube_plan(space: KnobSpace, samples: int = 10, seed: int = 0, corners: bool = True) -> RecordingPlan:
    """``samples`` Latin-hypercube settings (scipy's ``qmc.LatinHypercube``, seeded) plus the ``2**k`` corners."""
    from scipy.stats import qmc

    if samples < 1:
        raise KnobError(f"samples must be at least 1, got {samples}")
    points = qmc.LatinHypercube(d=len(space), seed=seed).random(samples)
    settings = [dict(zip(space.names, (round(float(v), 3) for v in space.denormalize(p).values())))
                for p in points]
    if corners:
        grids = [_positions(space, n, (0.0, 1.0)) for n in space.names]
        settings += [dict(zip(space.names, combo)) for combo in itertools.product(*grids)]
    desc = f"{samples} Latin-hypercube settings" + (f" plus the {2 ** len(space)} corners" if corners else "")
    return RecordingPlan("latin_hypercube", space, _unique(settings), desc)


def expected_count(strategy: str, knobs: int, levels: int = 3, samples: int = 10) -> int:
    """Recordings a strategy needs for ``knobs`` knobs (isolated assumes the default is among the levels)."""
    if strategy == "isolated":
        return 1 + knobs * (levels - 1)
    if strategy == "combinatorial":
        return levels**knobs
    if strategy == "hybrid":
        return 3**knobs + 2 * knobs
    if strategy == "latin_hypercube":
        return samples + 2**knobs
    raise KnobError(f"unknown strategy {strategy!r}; choose isolated, combinatorial, hybrid or latin_hypercube")


def compare_plans(space: KnobSpace, levels: int = 5, samples: int = 10, seed: int = 0) -> list[dict]:
    """One row per strategy: its recording count for this space (for the notebook's table)."""
    plans = [isolated_plan(space, levels), combinatorial_plan(space, levels), hybrid_plan(space),
             latin_hypercube_plan(space, samples, seed)]
    return [{"strategy": p.strategy, "recordings": p.count, "description": p.description} for p in plans]
