"""Turn a recorded pair into a capture dataset: validate, align, check repeatability, split, normalise, save."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from helpers.audio import save_wav
from helpers.capture.latency import LatencyEstimate, apply_latency, estimate_latency, resolve_latency
from helpers.capture.manifest import CaptureManifest, save_manifest
from helpers.capture.normalization import choose_normalization
from helpers.capture.pair import DEFAULT_RECEPTIVE_FIELD, validate_pair
from helpers.capture.reamp import ReampLayout
from helpers.capture.repeatability import check_repeatability
from helpers.capture.splits import check_splits, splits_by_fraction, splits_from_sections
from helpers.errors import DataError


def alignment_region(layout: ReampLayout | None) -> tuple[int, int] | None:
    """The blips section as ``(start, end)`` samples, or ``None`` without a layout."""
    if layout is None:
        return None
    b = layout.section("blips")
    return b.start, b.end


def build_capture(
    x: np.ndarray,
    y: np.ndarray,
    sample_rate: int,
    out_dir: str | os.PathLike[str],
    *,
    layout: ReampLayout | None = None,
    device: dict | None = None,
    seed: int = 0,
    manual_latency: int | None = None,
    estimate: LatencyEstimate | None = None,
    normalization: str = "output_peak",
    receptive_field: int = DEFAULT_RECEPTIVE_FIELD,
    params: dict[str, Any] | None = None,
    name: str = "",
    **pair_checks: Any,
) -> CaptureManifest:
    """Validate ``x`` (played input) and ``y`` (raw recorded output), align and write a dataset.

    Writes ``input.wav``, ``output.wav`` (the raw recording; the manifest's latency aligns it) and
    ``manifest.json`` into ``out_dir``. ``layout`` (the reamp layout, when the course's reamp signal
    was played) gives the alignment region, the sections and the splits; without it the whole
    signal is one section and :func:`~helpers.capture.splits.splits_by_fraction` splits it.
    Raises :class:`~helpers.capture.latency.LowConfidenceError` when the latency is uncertain and no
    ``manual_latency`` is given; any :class:`~helpers.capture.pair.CapturePairError` for bad input.
    """
    pair = validate_pair(x, y, sample_rate, receptive_field=receptive_field, **pair_checks)
    x, y = pair.x, pair.y
    if estimate is None and manual_latency is None:
        estimate = estimate_latency(x, y, sample_rate, region=alignment_region(layout))
    latency = resolve_latency(estimate, manual_latency)
    y_aligned = apply_latency(y, latency, len(x))
    if layout is not None:
        if layout.length != len(x):
            raise DataError(f"the layout describes {layout.length} samples but the input has {len(x)}; "
                            "play the reamp file exactly as generated")
        sections = [dict(name=s.name, start=s.start, end=s.end, role=s.role) for s in layout.sections]
        splits = splits_from_sections(layout.sections)
        reps = layout.by_role("repeatability") + layout.by_role("validation")
        repeat = (check_repeatability(y_aligned, (reps[0].start, reps[0].end), (reps[1].start, reps[1].end)).as_dict()
                  if len(reps) == 2 and reps[0].length == reps[1].length else None)
    else:
        sections = [dict(name="all", start=0, end=len(x), role="train")]
        splits = splits_by_fraction(len(x), guard=receptive_field)
        repeat = None
    check_splits(splits, len(x))
    norm = choose_normalization(y_aligned, normalization)
    folder = Path(out_dir)
    save_wav(folder / "input.wav", x, sample_rate)
    save_wav(folder / "output.wav", y, sample_rate)
    latency_info = (estimate.as_dict() if estimate is not None else {}) | {
        "method": "manual" if manual_latency is not None else "estimated"}
    manifest = CaptureManifest(
        path=(folder / "manifest.json").resolve(), sample_rate=int(sample_rate), input_file="input.wav",
        output_file="output.wav", latency_samples=int(latency), splits=splits, sections=sections,
        device=device or {"name": "unknown", "knobs": {}}, seed=int(seed), length=len(x),
        normalization=norm.as_dict(), latency=latency_info, repeatability=repeat,
        blips=list(layout.blips) if layout is not None else [], quick=bool(layout.quick) if layout else False,
        name=name or folder.name, params=params or {}, notes=pair.notes,
    )
    save_manifest(manifest)
    return manifest
