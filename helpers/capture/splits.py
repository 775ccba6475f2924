"""Train/validation/test splits by time ranges, and random training crops that respect them.

All ranges are half-open ``[start, end)`` sample ranges in aligned coordinates (the input's).

With the course's reamp signal (:func:`splits_from_sections`):

* ``validation`` = the ``validation_b`` take at the end (what NAM validates on);
* ``test`` = the ``test_phrases`` section: different guitar phrases, never trained on;
* ``train`` = the preamble, sweeps, noise bursts and guitar phrases.

``validation_a`` (the first take of the validation segment) is in *no* split: it is the same
input as ``validation_b``, so training on it would leak the validation data; it only serves
the repeatability check. The alignment blips and the silence gaps are left out too.

For a pair recorded from any other signal, :func:`splits_by_fraction` cuts the end into test
and validation blocks, separated from training by a guard of one receptive field.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from helpers.errors import ConfigError, DataError

SPLIT_NAMES = ("train", "validation", "test")
Ranges = list[tuple[int, int]]


class SplitOverlapError(DataError):
    """Two split ranges overlap, or a range is empty or outside the signal."""


class CropError(ConfigError):
    """No training range can hold a crop of the requested size."""


def _merge(ranges: Iterable[tuple[int, int]]) -> Ranges:
    """Sort ranges and merge touching/overlapping ones."""
    merged: Ranges = []
    for a, b in sorted((int(a), int(b)) for a, b in ranges):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def splits_from_sections(sections: Iterable[Mapping | object]) -> dict[str, Ranges]:
    """Splits from a reamp layout's sections (dicts or :class:`~helpers.capture.reamp.Section`) by their role."""
    by_role: dict[str, Ranges] = {"train": [], "validation": [], "test": []}
    for s in sections:
        get: Callable[[str], Any] = s.get if isinstance(s, Mapping) else functools.partial(getattr, s)
        role = get("role")
        if role in by_role:
            by_role[role].append((int(get("start")), int(get("end"))))
    splits = {k: _merge(v) for k, v in by_role.items()}
    for name, ranges in splits.items():
        if not ranges:
            raise SplitOverlapError(f"the layout has no section with role {name!r}")
    return splits


def splits_by_fraction(length: int, *, validation: float = 0.1, test: float = 0.1, guard: int = 0) -> dict[str, Ranges]:
    """Time-ordered splits of ``length`` samples: train first, then test, then validation at the end.

    ``guard`` samples (use the receptive field) are left unused before each held-out block, so no
    training crop's context reaches into it.
    """
    if not (0 < validation < 1 and 0 < test < 1 and validation + test < 1):
        raise ConfigError(f"validation ({validation}) and test ({test}) must be fractions with a sum below 1, "
                          "e.g. validation=0.1, test=0.1")
    v0 = round(length * (1 - validation))
    t0 = round(length * (1 - validation - test))
    train_end = t0 - guard
    if train_end <= 0 or v0 - guard <= t0:
        raise ConfigError(f"{length} samples are too few for these fractions with a guard of {guard} samples; "
                          "record a longer capture or use a smaller guard")
    return {"train": [(0, train_end)], "test": [(t0, v0 - guard)], "validation": [(v0, length)]}


def check_splits(splits: Mapping[str, Ranges], length: int | None = None) -> None:
    """Raise :class:`SplitOverlapError` when ranges overlap (within or across splits), are empty or out of bounds."""
    missing = [k for k in SPLIT_NAMES if k not in splits]
    if missing:
        raise SplitOverlapError(f"splits lack {missing}; expected keys {SPLIT_NAMES}")
    tagged = sorted((int(a), int(b), name) for name, ranges in splits.items() for a, b in ranges)
    for a, b, name in tagged:
        if not 0 <= a < b:
            raise SplitOverlapError(f"{name} range [{a}, {b}) is empty or negative")
        if length is not None and b > length:
            raise SplitOverlapError(f"{name} range [{a}, {b}) ends after the signal ({length} samples)")
    for (a1, b1, n1), (a2, b2, n2) in itertools.pairwise(tagged):
        if a2 < b1:
            raise SplitOverlapError(f"{n1} [{a1}, {b1}) overlaps {n2} [{a2}, {b2})")


def random_crops(
    ranges: Ranges,
    crop_length: int,
    receptive_field: int,
    count: int,
    rng: np.random.Generator | int,
) -> np.ndarray:
    """``count`` random crop starts (int64 array) inside ``ranges`` (usually ``splits["train"]``).

    A crop starting at ``s`` produces outputs for samples ``[s, s + crop_length)`` and reads the
    inputs ``[s - receptive_field + 1, s + crop_length)``; that whole span lies inside ONE range,
    so no crop sees validation or test samples. Ranges are chosen in proportion to how many valid
    starts they hold, starts uniformly within them. The same ``rng`` seed gives the same starts.
    """
    if crop_length <= 0 or receptive_field <= 0 or count < 0:
        raise ConfigError(f"crop_length ({crop_length}) and receptive_field ({receptive_field}) must be positive and "
                          f"count ({count}) non-negative")
    gen = np.random.default_rng(rng) if isinstance(rng, (int, np.integer)) else rng
    lows = np.array([a + receptive_field - 1 for a, _ in ranges], dtype=np.int64)
    n_valid = np.array([max(0, b - crop_length - (a + receptive_field - 1) + 1) for a, b in ranges], dtype=np.int64)
    if n_valid.sum() == 0:
        longest = max((b - a for a, b in ranges), default=0)
        raise CropError(f"no training range holds crop_length + receptive_field - 1 = "
                        f"{crop_length + receptive_field - 1} samples (longest range: {longest}); use shorter crops")
    which = gen.choice(len(ranges), size=count, p=n_valid / n_valid.sum())
    offsets = (gen.random(count) * n_valid[which]).astype(np.int64)
    return lows[which] + offsets
