"""The knobs of a device as one ordered space: validation, defaults and the 0-1 normalised scale.

Every other module of :mod:`helpers.knobs` speaks in *settings*: a dict ``{knob name: value}`` in
the knob's own unit (a 0-10 dial, dB, …). :class:`KnobSpace` checks them (unknown names, missing
knobs, values out of range) with errors that say what is wrong and how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from helpers.capture.devices import Knob, VirtualDevice
from helpers.errors import DataError

Setting = dict[str, float]


class KnobError(DataError):
    """Bad knob data (base class of the specific errors below)."""


class KnobValueError(KnobError):
    """A knob value outside its range (or not a finite number)."""


class KnobNameError(KnobError):
    """An unknown knob name, or knob names that differ between recordings, datasets or models."""


class MissingKnobSettingsError(KnobError):
    """A recording (or setting) without a value for a knob the dataset needs."""


@dataclass(frozen=True)
class KnobSpace:
    """An ordered tuple of :class:`~helpers.capture.devices.Knob`; the order fixes the model's knob inputs."""

    knobs: tuple[Knob, ...]

    def __post_init__(self) -> None:
        names = [k.name for k in self.knobs]
        if not names:
            raise KnobNameError("a knob space needs at least one knob")
        if len(set(names)) != len(names):
            raise KnobNameError(f"knob names must be unique, got {names}")
        for k in self.knobs:
            if not (np.isfinite(k.minimum) and np.isfinite(k.maximum) and k.minimum < k.maximum):
                raise KnobValueError(f"knob {k.name!r}: minimum {k.minimum} must be below maximum {k.maximum}")
            if not k.minimum <= k.default <= k.maximum:
                raise KnobValueError(f"knob {k.name!r}: default {k.default} is outside {k.minimum}..{k.maximum}")

    # -- construction -------------------------------------------------------------------------------
    @classmethod
    def from_device(cls, device: VirtualDevice, names: Iterable[str] | None = None) -> KnobSpace:
        """The knobs ``names`` (default: all) of a virtual device, in the given order."""
        names = list(names) if names is not None else list(device.knobs)
        unknown = [n for n in names if n not in device.knobs]
        if unknown:
            raise KnobNameError(f"{device.name} has no knob(s) {unknown}; knobs: {', '.join(device.knobs)}")
        return cls(tuple(device.knobs[n] for n in names))

    @classmethod
    def from_list(cls, items: Iterable[Mapping[str, Any] | Knob]) -> KnobSpace:
        """From dicts with ``name, minimum, maximum, default`` (``unit``, ``description`` optional)."""
        knobs = []
        for item in items:
            if isinstance(item, Knob):
                knobs.append(item)
                continue
            missing = [f for f in ("name", "minimum", "maximum", "default") if f not in item]
            if missing:
                raise KnobError(f"knob description {dict(item)} lacks {missing}")
            knobs.append(Knob(str(item["name"]), float(item["minimum"]), float(item["maximum"]),
                              float(item["default"]), str(item.get("unit", "")), str(item.get("description", ""))))
        return cls(tuple(knobs))

    def to_list(self) -> list[dict[str, Any]]:
        return [asdict(k) for k in self.knobs]

    # -- queries ------------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [k.name for k in self.knobs]

    def __len__(self) -> int:
        return len(self.knobs)

    def __getitem__(self, name: str) -> Knob:
        for k in self.knobs:
            if k.name == name:
                return k
        raise KnobNameError(f"no knob {name!r}; knobs: {', '.join(self.names)}")

    def defaults(self) -> Setting:
        return {k.name: float(k.default) for k in self.knobs}

    def check(self, setting: Mapping[str, Any], *, fill_defaults: bool = False, where: str = "setting") -> Setting:
        """``setting`` with every knob, in knob order, as floats.

        Raises :class:`KnobNameError` for names the space lacks, :class:`MissingKnobSettingsError`
        for missing knobs (unless ``fill_defaults``) and :class:`KnobValueError` for values out of range.
        """
        if not isinstance(setting, Mapping):
            raise MissingKnobSettingsError(f"{where}: expected a dict of knob values, got {setting!r}")
        unknown = [n for n in setting if n not in self.names]
        if unknown:
            raise KnobNameError(f"{where}: unknown knob(s) {unknown}; this device's knobs are {self.names} "
                                "(check the spelling: every recording must use the same knob names)")
        missing = [n for n in self.names if n not in setting]
        if missing and not fill_defaults:
            raise MissingKnobSettingsError(f"{where}: no value for knob(s) {missing}; give every knob a value "
                                           "(or use the simple form knob_type/knob_level for one moved knob)")
        out = {}
        for k in self.knobs:
            raw = setting.get(k.name, k.default)
            try:
                v = float(raw)
            except (TypeError, ValueError):
                raise KnobValueError(f"{where}: {k.name} = {raw!r} is not a number") from None
            if not np.isfinite(v) or not k.minimum <= v <= k.maximum:
                raise KnobValueError(f"{where}: {k.name} = {raw} is out of range; use {k.minimum:g} to "
                                     f"{k.maximum:g} {k.unit}".rstrip())
            out[k.name] = v
        return out

    def normalize(self, setting: Mapping[str, float]) -> np.ndarray:
        """Checked setting → ``(knobs,)`` float32 in ``[0, 1]`` (minimum → 0, maximum → 1)."""
        s = self.check(setting)
        return np.array([(s[k.name] - k.minimum) / (k.maximum - k.minimum) for k in self.knobs], dtype=np.float32)

    def denormalize(self, values: np.ndarray) -> Setting:
        """``(knobs,)`` values in ``[0, 1]`` → a setting in the knobs' units."""
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        if v.shape[0] != len(self):
            raise KnobNameError(f"expected {len(self)} values ({self.names}), got {v.shape[0]}")
        return {k.name: float(k.minimum + x * (k.maximum - k.minimum)) for k, x in zip(self.knobs, v)}

    def label(self, setting: Mapping[str, float]) -> str:
        """Short text such as ``drive=7.5 tone=2``."""
        return " ".join(f"{n}={float(setting[n]):g}" for n in self.names if n in setting)
