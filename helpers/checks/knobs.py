"""Checks for notebook 05 (knob conditioning): how a knob setting becomes the vector the model reads.

* :func:`check_encode_values` — one value per knob, normalised to ``[0, 1]`` by its range, in the space's knob order
  (reference: :mod:`helpers.knobs.encoding`, encoding ``"values"``);
* :func:`check_encode_onehot` — which knob moved from its default (one-hot over the knobs) plus its normalised level
  (reference: :mod:`helpers.knobs.encoding`, encoding ``"onehot"``, the form of NAM's knob repository);
* :func:`check_decode_values` — the inverse of the values encoding: 0-1 values back to a setting in the knobs' units
  (reference: :meth:`helpers.knobs.space.KnobSpace.denormalize`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from helpers.capture.devices import get_device
from helpers.checks.core import Case, CheckResult, Mistake, as_array, close, run_check
from helpers.knobs.encoding import make_encoding
from helpers.knobs.space import KnobSpace

_VEC = close(rtol=1e-5, atol=1e-6)

#: The overdrive's three knobs: drive and tone 0-10 (default 5), level −24…+12 dB (default 0).
_OVERDRIVE = KnobSpace.from_device(get_device("overdrive"), ("drive", "tone", "level"))
#: A space in other units: a gain in dB and a frequency in Hz, neither starting at 0, defaults off-centre.
_EQ = KnobSpace.from_list([
    {"name": "gain", "minimum": -12.0, "maximum": 12.0, "default": 0.0, "unit": "dB"},
    {"name": "freq", "minimum": 100.0, "maximum": 5000.0, "default": 1000.0, "unit": "Hz"},
    {"name": "q", "minimum": 0.5, "maximum": 4.0, "default": 0.7},
])
_ONE = KnobSpace.from_list([{"name": "level", "minimum": -24.0, "maximum": 12.0, "default": 0.0, "unit": "dB"}])
_TWO = KnobSpace.from_device(get_device("overdrive"), ("drive", "tone"))


def encode_values_reference(setting: Mapping[str, float], space: KnobSpace) -> np.ndarray:
    """``(knobs,)`` float32: each knob's value mapped to ``[0, 1]`` (minimum → 0, maximum → 1), in ``space``'s
    knob order. The library's ``values`` encoding."""
    return make_encoding("values", space).encode(setting)


def encode_onehot_reference(setting: Mapping[str, float], space: KnobSpace) -> np.ndarray:
    """``(knobs + 1,)`` float32: a one-hot of the knob that differs from its default (in ``space``'s order), then
    that knob's level in ``[0, 1]``; all zeros when every knob is at its default. The library's ``onehot``
    encoding."""
    return make_encoding("onehot", space).encode(setting)


def _norm(space: KnobSpace, name: str, value: float) -> float:
    k = space[name]
    return (value - k.minimum) / (k.maximum - k.minimum)


# -------------------------------------------------------------------------------------- values
VALUES_CASES = [
    Case("overdrive drive=7.5 tone=2.5 level=−6 dB, the dict in another order than the knobs",
         ({"level": -6.0, "tone": 2.5, "drive": 7.5}, _OVERDRIVE)),
    Case("every knob at its minimum", ({"drive": 0.0, "tone": 0.0, "level": -24.0}, _OVERDRIVE)),
    Case("every knob at its maximum", ({"drive": 10.0, "tone": 10.0, "level": 12.0}, _OVERDRIVE)),
    Case("an EQ: gain −3 dB, 2550 Hz, q 1.2", ({"gain": -3.0, "freq": 2550.0, "q": 1.2}, _EQ)),
    Case("one knob", ({"level": 3.0}, _ONE)),
    Case("the notebook's two knobs (drive=7.5 tone=5)", ({"drive": 7.5, "tone": 5.0}, _TWO)),
]

VALUES_MISTAKES = [
    Mistake("these are the raw knob values. Normalise each to [0, 1] by its range: "
            "(value − minimum) / (maximum − minimum).",
            lambda s, sp: np.array([s[n] for n in sp.names], dtype=np.float64)),
    Mistake("you divided by the maximum only, which is right only when the minimum is 0 (a −24…+12 dB knob is "
            "not). Use (value − minimum) / (maximum − minimum).",
            lambda s, sp: np.array([s[k.name] / k.maximum for k in sp.knobs])),
    Mistake("you divided by the range but did not subtract the minimum first: (value − minimum) / "
            "(maximum − minimum).",
            lambda s, sp: np.array([s[k.name] / (k.maximum - k.minimum) for k in sp.knobs])),
    Mistake("the knobs are in the setting dict's order. The model's inputs follow the space's knob order: loop over "
            "space.knobs (or space.names), not over the setting.",
            lambda s, sp: np.array([_norm(sp, n, v) for n, v in s.items()])),
    Mistake("the scale is upside down (maximum → 0, minimum → 1): use (value − minimum) / (maximum − minimum).",
            lambda s, sp: np.array([(k.maximum - s[k.name]) / (k.maximum - k.minimum) for k in sp.knobs])),
]


def check_encode_values(fn: Callable[[Mapping[str, float], KnobSpace], Any]) -> CheckResult:
    """Check ``fn(setting, space) -> (knobs,) array``: every knob of ``space`` (in ``space.knobs`` order), its
    value in ``setting`` mapped to ``[0, 1]`` by its range. Reference: the ``values`` encoding of
    :mod:`helpers.knobs.encoding`."""
    return run_check("encode_values", fn, encode_values_reference, VALUES_CASES, compare=_VEC,
                     mistakes=VALUES_MISTAKES)


# -------------------------------------------------------------------------------------- one-hot + level
def _onehot_by(moved: Callable[[Any, float], bool], order: Callable[[Mapping[str, float], KnobSpace], list[str]],
               level: Callable[[Any, float], float], level_first: bool = False):
    """A wrong one-hot: ``moved(knob, value)`` picks the knob(s), ``order`` gives the positions, ``level(knob,
    value)`` the level (the last moved knob's)."""

    def wrong(s: Mapping[str, float], sp: KnobSpace) -> np.ndarray:
        names = order(s, sp)
        onehot, lev = np.zeros(len(names)), 0.0
        for i, name in enumerate(names):
            if moved(sp[name], s[name]):
                onehot[i], lev = 1.0, level(sp[name], s[name])
        return np.concatenate([[lev], onehot]) if level_first else np.concatenate([onehot, [lev]])

    return wrong


def _space_order(s: Mapping[str, float], sp: KnobSpace) -> list[str]:
    return sp.names


def _dict_order(s: Mapping[str, float], sp: KnobSpace) -> list[str]:
    return list(s)


def _from_default(k: Any, v: float) -> bool:
    return v != k.default


def _normalised(k: Any, v: float) -> float:
    return (v - k.minimum) / (k.maximum - k.minimum)


ONEHOT_CASES = [
    Case("overdrive level moved to −6 dB, the dict in another order than the knobs",
         ({"level": -6.0, "drive": 5.0, "tone": 5.0}, _OVERDRIVE)),
    Case("overdrive drive moved to 2.5", ({"drive": 2.5, "tone": 5.0, "level": 0.0}, _OVERDRIVE)),
    Case("every knob at its default (nothing moved)", ({"drive": 5.0, "tone": 5.0, "level": 0.0}, _OVERDRIVE)),
    Case("tone turned fully down (level 0, but it moved)", ({"drive": 5.0, "tone": 0.0, "level": 0.0}, _OVERDRIVE)),
    Case("an EQ with only the frequency moved, to 2550 Hz", ({"gain": 0.0, "freq": 2550.0, "q": 0.7}, _EQ)),
    Case("the notebook's two knobs, tone moved to 8", ({"drive": 5.0, "tone": 8.0}, _TWO)),
]

_MOVED_HINT = ("a knob 'moves' when it differs from its DEFAULT (knob.default), not from its minimum or from 0: knobs "
               "left at their defaults are not in the one-hot, and a knob turned down to 0 is.")

ONEHOT_MISTAKES = [
    Mistake("the level is the raw knob value. Normalise it to [0, 1] by the moved knob's range: "
            "(value − minimum) / (maximum − minimum).",
            _onehot_by(_from_default, _space_order, lambda k, v: v)),
    Mistake("the level was divided by the maximum only, which ignores the minimum (a −24…+12 dB knob): use "
            "(value − minimum) / (maximum − minimum).",
            _onehot_by(_from_default, _space_order, lambda k, v: v / k.maximum)),
    Mistake("the one-hot marks the wrong knob: its positions follow the setting dict's order. Use the space's knob "
            "order (space.knobs): position i is space.knobs[i].",
            _onehot_by(_from_default, _dict_order, _normalised)),
    Mistake(_MOVED_HINT, _onehot_by(lambda k, v: v != k.minimum, _space_order, _normalised)),
    Mistake(_MOVED_HINT, _onehot_by(lambda k, v: v != 0.0, _space_order, _normalised)),
    Mistake("the level comes first. The vector is the one-hot (one entry per knob, in the space's order) and THEN "
            "the level: [one-hot…, level].",
            _onehot_by(_from_default, _space_order, _normalised, level_first=True)),
    Mistake("that is the 'values' encoding (every knob's level), with no one-hot. Return the one-hot of the knob "
            "that moved from its default, then its normalised level: knobs + 1 numbers.",
            encode_values_reference),
    Mistake("the one-hot is there but the level is missing: append the moved knob's level in [0, 1] (0 when "
            "nothing moved), knobs + 1 numbers in all.",
            lambda s, sp: encode_onehot_reference(s, sp)[:-1]),
]


def check_encode_onehot(fn: Callable[[Mapping[str, float], KnobSpace], Any]) -> CheckResult:
    """Check ``fn(setting, space) -> (knobs + 1,) array``: a one-hot over ``space``'s knobs (in ``space.knobs``
    order) of the knob whose value differs from its default, then that knob's level in ``[0, 1]``; all zeros when
    every knob is at its default. At most one knob differs from its default in every case. Reference: the
    ``onehot`` encoding of :mod:`helpers.knobs.encoding`."""
    return run_check("encode_onehot", fn, encode_onehot_reference, ONEHOT_CASES, compare=_VEC,
                     mistakes=ONEHOT_MISTAKES)


# -------------------------------------------------------------------------------------- decoding (an exercise)
def decode_values_reference(values: np.ndarray, space: KnobSpace) -> dict[str, float]:
    """``(knobs,)`` values in ``[0, 1]`` (``space``'s order) → ``{knob name: value in the knob's unit}``."""
    return space.denormalize(values)


def _same_setting(got: Any, expected: Any) -> str | None:
    """The same knob names, each value within 1e-4 of the expected one."""
    if not isinstance(got, Mapping):
        return f"returned {type(got).__name__}; return a dict {{knob name: value}}"
    if set(got) != set(expected):
        return f"knob names {sorted(got)}, expected {sorted(expected)}"
    for name, value in expected.items():
        try:
            g = float(as_array(got[name]))
        except (TypeError, ValueError):
            return f"{name} = {got[name]!r} is not a number"
        if not abs(g - value) <= 1e-4 * max(1.0, abs(value)):
            return f"{name} = {g:g}, expected {value:g}"
    return None


DECODE_CASES = [
    Case("overdrive [0.75, 0.25, 0.5] (level −24…+12 dB)", (np.array([0.75, 0.25, 0.5], dtype=np.float32), _OVERDRIVE)),
    Case("an EQ at [0.375, 0.5, 0.2]", (np.array([0.375, 0.5, 0.2], dtype=np.float32), _EQ)),
    Case("every knob at 0 (its minimum)", (np.zeros(3, dtype=np.float32), _OVERDRIVE)),
    Case("one knob at 1 (its maximum)", (np.ones(1, dtype=np.float32), _ONE)),
]

DECODE_MISTAKES = [
    Mistake("you scaled by the maximum only; add the minimum back: minimum + value · (maximum − minimum).",
            lambda v, sp: {k.name: float(x) * k.maximum for k, x in zip(sp.knobs, v)}),
    Mistake("the minimum is missing: minimum + value · (maximum − minimum).",
            lambda v, sp: {k.name: float(x) * (k.maximum - k.minimum) for k, x in zip(sp.knobs, v)}),
    Mistake("these are still the 0-1 values: turn each into the knob's unit, minimum + value · (maximum − minimum).",
            lambda v, sp: {k.name: float(x) for k, x in zip(sp.knobs, v)}),
]


def check_decode_values(fn: Callable[[np.ndarray, KnobSpace], Mapping[str, float]]) -> CheckResult:
    """Check ``fn(values, space) -> dict``: ``(knobs,)`` values in ``[0, 1]`` in ``space``'s knob order back to a
    setting ``{knob name: value in the knob's own unit}`` (0 → minimum, 1 → maximum). Reference:
    :meth:`helpers.knobs.space.KnobSpace.denormalize`."""
    return run_check("decode_values", fn, decode_values_reference, DECODE_CASES, compare=_same_setting,
                     mistakes=DECODE_MISTAKES)
