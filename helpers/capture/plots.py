"""Capture plots: overview (waveform + spectrogram of dry and wet), alignment, level histogram."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from helpers.capture.latency import LatencyEstimate

_ROLE_COLORS = {"alignment": "tab:purple", "repeatability": "tab:orange", "train": "tab:green",
                "test": "tab:red", "validation": "tab:blue", "gap": "0.85"}


def plot_overview(x: np.ndarray, y: np.ndarray, sample_rate: int, sections: list[dict] | None = None,
                  *, max_points: int = 200_000):
    """Waveform and spectrogram of the dry input ``x`` and the aligned output ``y`` (shape ``(n,)``).

    ``sections`` (dicts with name/start/end/role, samples) are shaded on the waveforms by role.
    Returns the matplotlib Figure.
    """
    fig, axes = plt.subplots(4, 1, figsize=(12, 9), sharex=True, constrained_layout=True)
    step = max(1, len(x) // max_points)
    for row, (sig, label) in enumerate(((x, "dry input"), (y, "recorded output"))):
        ax = axes[2 * row]
        n_blocks = len(sig) // step
        blocks = np.asarray(sig[: n_blocks * step]).reshape(n_blocks, step)
        t = (np.arange(n_blocks) * step) / sample_rate
        # Min/max per block keeps short events (the single-sample blips) visible after decimation.
        ax.fill_between(t, blocks.min(axis=1), blocks.max(axis=1), color="k", lw=0.4)
        ax.set_ylabel(f"{label}\n(full scale)")
        for s in sections or []:
            ax.axvspan(s["start"] / sample_rate, s["end"] / sample_rate, color=_ROLE_COLORS.get(s.get("role", ""), "0.9"),
                       alpha=0.15, lw=0)
            if row == 0 and s.get("role") != "gap":
                ax.text(s["start"] / sample_rate, 1.02, s["name"], transform=ax.get_xaxis_transform(), fontsize=7,
                        rotation=30, ha="left", va="bottom")
        spec = axes[2 * row + 1]
        with np.errstate(divide="ignore"):  # digital silence has zero power
            spec.specgram(sig.astype(np.float64), NFFT=1024, Fs=sample_rate, noverlap=512, cmap="magma",
                          vmin=-140, vmax=-20)
        spec.set_ylabel("Hz")
        spec.set_ylim(0, min(20_000, sample_rate / 2))
    axes[-1].set_xlabel("time (s)")
    return fig


def plot_alignment(x: np.ndarray, y: np.ndarray, estimate: LatencyEstimate, *, span: int = 200):
    """Cross-correlation around the chosen lag, and the first blip of input and lag-compensated output."""
    fig, (ax_c, ax_w) = plt.subplots(1, 2, figsize=(12, 3.6), constrained_layout=True)
    lag = estimate.lag
    if estimate.corr.size:
        sel = np.abs(estimate.corr_lags - lag) <= span
        ax_c.plot(estimate.corr_lags[sel], estimate.corr[sel], color="k", lw=0.8)
        for cand, _ in estimate.candidates:
            if abs(cand - lag) <= span:
                ax_c.axvline(cand, color="0.6", ls=":", lw=1)
    ax_c.axvline(lag, color="tab:red", lw=1.2, label=f"chosen: {lag} samples ({estimate.confidence} confidence)")
    ax_c.set_xlabel("lag (samples; output later than input > 0)")
    ax_c.set_ylabel("cross-correlation (best peak = ±1)")
    ax_c.legend(fontsize=8)
    ax_c.set_title(f"peak ratio {estimate.peak_ratio:.2f}, {estimate.agreement:.0%} windows agree")
    if estimate.onsets:
        o = estimate.onsets[0]
        idx = np.arange(o - 20, o + 120)
        yy = np.asarray(y)
        shifted = np.array([yy[i + lag] if 0 <= i + lag < len(yy) else 0.0 for i in idx])
        ax_w.plot(idx - o, x[idx] / max(np.abs(x[idx]).max(), 1e-12), label="input blip (normalised)", lw=1)
        ax_w.plot(idx - o, shifted / max(np.abs(shifted).max(), 1e-12), label="output, lag removed (normalised)", lw=1)
        ax_w.axvline(0, color="0.5", lw=0.8)
        ax_w.set_xlabel("samples after the first blip")
        ax_w.legend(fontsize=8)
        ax_w.set_title("after alignment the response starts at the blip")
    return fig


def plot_level_histogram(x: np.ndarray, y: np.ndarray, *, bins: int = 120):
    """Histogram of sample levels (dBFS) of the input and output: shows headroom, clipping and noise floor."""
    fig, ax = plt.subplots(figsize=(8, 3.4), constrained_layout=True)
    for sig, label in ((x, "dry input"), (y, "recorded output")):
        a = np.abs(np.asarray(sig, dtype=np.float64))
        db = 20 * np.log10(np.maximum(a, 1e-7))
        ax.hist(db, bins=bins, range=(-140, 6), histtype="step", label=label, log=True)
    ax.axvline(0, color="tab:red", lw=1, ls="--", label="full scale")
    ax.set_xlabel("sample level (dBFS)")
    ax.set_ylabel("count")
    ax.legend(fontsize=8)
    return fig
