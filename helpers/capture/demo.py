"""The embedded default capture: the reamp signal through a virtual device, "recorded" with latency and noise.

``ensure_demo_capture("overdrive", quick=True)`` returns ``data/demo/overdrive/manifest.json``,
building it on first use and whenever its parameters change (device, knobs, quick, seed,
latency, noise, sample rate, guitar renderer). The simulated recording adds a known latency
(:data:`DEMO_LATENCY` samples) and a little noise; the latency estimator must find the same
value, otherwise building fails loudly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from helpers.audio import db_to_gain
from helpers.capture.dataset import alignment_region, build_capture
from helpers.capture.devices import get_device
from helpers.capture.guitar import Backend, choose_backend
from helpers.capture.latency import estimate_latency
from helpers.capture.manifest import ManifestError, load_manifest
from helpers.capture.reamp import ReampSignal, make_reamp_signal
from helpers.errors import ConfigError, LabError
from helpers.paths import data_dir

#: Simulated round-trip latency of the virtual recording (samples).
DEMO_LATENCY = 417
#: RMS level of the noise added to the virtual recording (dBFS).
DEMO_NOISE_DBFS = -80.0
DEMO_VERSION = 1


class DemoCaptureError(LabError, RuntimeError):
    """The demo capture could not be built consistently (a bug, not a user error)."""


def simulate_recording(dry: np.ndarray, device_name: str, sample_rate: int, *, knobs: dict | None = None,
                       latency: int = DEMO_LATENCY, noise_dbfs: float = DEMO_NOISE_DBFS, seed: int = 0) -> np.ndarray:
    """What an interface would record from the virtual device: output delayed by ``latency`` samples plus
    white noise at ``noise_dbfs`` RMS; same length as ``dry`` (shape ``(n,)`` float32)."""
    wet = get_device(device_name).process(dry, sample_rate, **(knobs or {}))
    rec = np.zeros_like(wet)
    if latency >= 0:
        rec[latency:] = wet[: len(wet) - latency]
    else:
        rec[:latency] = wet[-latency:]
    rng = np.random.default_rng(seed + 7919)
    rec += (rng.standard_normal(len(rec)) * db_to_gain(noise_dbfs)).astype(np.float32)
    return rec.astype(np.float32)


def demo_name(device_name: str, knobs: dict | None = None) -> str:
    """Folder name: the device name, plus the knob values that differ from the defaults."""
    dev = get_device(device_name)
    changed = {k: v for k, v in dev.settings(**(knobs or {})).items() if v != dev.knobs[k].default}
    return device_name + "".join(f"_{k}{v:g}" for k, v in sorted(changed.items()))


def ensure_demo_capture(device_name: str = "overdrive", quick: bool = True, seed: int = 0, *,
                        knobs: dict | None = None, latency: int = DEMO_LATENCY, noise_dbfs: float = DEMO_NOISE_DBFS,
                        sample_rate: int = 48_000, guitar_backend: Backend = "auto", force: bool = False,
                        signal: ReampSignal | None = None) -> Path:
    """Path to ``data_dir("demo", <name>, "manifest.json")``, (re)built when missing or its parameters differ.

    ``quick``: the ~19 s reamp signal, else the full ~2 min 50 s one. ``knobs`` (default: the
    device's defaults) also name the folder (see :func:`demo_name`). ``signal`` reuses an
    already generated reamp signal with the same ``quick``/``seed``/``sample_rate``.
    """
    dev = get_device(device_name)
    settings = dev.settings(**(knobs or {}))
    params = {
        "version": DEMO_VERSION, "device": device_name, "knobs": settings, "quick": bool(quick), "seed": int(seed),
        "latency": int(latency), "noise_dbfs": float(noise_dbfs), "sample_rate": int(sample_rate),
        "guitar_backend": choose_backend(guitar_backend),
    }
    name = demo_name(device_name, knobs)
    path = data_dir("demo", name, "manifest.json")
    if path.exists() and not force:
        try:
            if load_manifest(path).params == params:
                return path
        except ManifestError:
            pass  # rebuilt below
    if signal is None:
        signal = make_reamp_signal(sample_rate, quick=quick, seed=seed, guitar_backend=guitar_backend)
    elif (signal.layout.quick, signal.layout.seed, signal.sample_rate) != (quick, seed, sample_rate):
        raise ConfigError(f"the given signal was generated with quick/seed/sample_rate = {signal.layout.quick}/"
                          f"{signal.layout.seed}/{signal.sample_rate}, not {quick}/{seed}/{sample_rate}; pass "
                          "the same values or omit signal=")
    rec = simulate_recording(signal.audio, device_name, sample_rate, knobs=settings, latency=latency,
                             noise_dbfs=noise_dbfs, seed=seed)
    estimate = estimate_latency(signal.audio, rec, sample_rate, region=alignment_region(signal.layout))
    if not estimate.confident or estimate.lag != latency:
        raise DemoCaptureError(f"{device_name}: latency estimate {estimate.summary()} does not match the simulated "
                               f"{latency} samples")
    device = {"name": device_name, "knobs": settings, "description": dev.description, "tone_type": dev.tone_type,
              "virtual": True}
    build_capture(signal.audio, rec, sample_rate, path.parent, layout=signal.layout, device=device, seed=seed,
                  estimate=estimate, params=params, name=name)
    return path
