"""Plots for amp captures: learning curve, waveform overlay, error over time, spectrograms, spectra."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from scipy.signal import welch


def learning_curve(history: list[dict]) -> Figure:
    """Training loss and validation ESR per epoch (log scale)."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    epochs = [h["epoch"] for h in history]
    ax.semilogy(epochs, [h["train_loss"] for h in history], label="training loss")
    ax.semilogy(epochs, [h["val_esr"] for h in history], label="validation ESR (plain)")
    for bound, style in ((0.01, ":"), (0.035, "--")):
        ax.axhline(bound, color="grey", ls=style, lw=0.8)
    ax.set_xlabel("epoch")
    ax.legend()
    ax.set_title("Learning curve (dotted: ESR 0.01 'great', dashed: 0.035 'not bad')")
    fig.tight_layout()
    return fig


def waveform_overlay(target: np.ndarray, prediction: np.ndarray, sample_rate: int, *, start_s: float = 0.0,
                     seconds: float = 0.05, dry: np.ndarray | None = None) -> Figure:
    """Target and prediction (and optionally the dry input) over a short window starting at ``start_s``."""
    a = int(start_s * sample_rate)
    b = min(len(target), a + int(seconds * sample_rate))
    t = np.arange(a, b) / sample_rate * 1000
    fig, ax = plt.subplots(figsize=(9, 3.2))
    if dry is not None:
        ax.plot(t, dry[a:b], color="0.7", lw=0.8, label="dry input")
    ax.plot(t, target[a:b], lw=1.2, label="target (device)")
    ax.plot(t, prediction[a:b], lw=1.0, ls="--", label="prediction (model)")
    ax.set_xlabel("time (ms)")
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def error_over_time(target: np.ndarray, prediction: np.ndarray, sample_rate: int, *, window_s: float = 0.1,
                    sections: list[dict] | None = None, skip_roles: tuple[str, ...] = ("gap", "alignment"),
                    silence_db: float = -40.0) -> Figure:
    """Windowed ESR in dB (10·log10) along the signal, with section boundaries marked.

    Windows inside sections whose ``role`` is in ``skip_roles`` (gaps, the alignment blips) and windows whose
    target is ``silence_db`` dB or more below the whole target's mean power are left out: their ESR divides by
    almost nothing and would set the plot's scale. ``window_s`` in seconds, ``sample_rate`` in Hz.
    """
    n = max(1, int(window_s * sample_rate))
    m = len(target) // n
    err = ((target[: m * n] - prediction[: m * n]).astype(np.float64) ** 2).reshape(m, n).sum(1)
    sig = (target[: m * n].astype(np.float64) ** 2).reshape(m, n).sum(1)
    floor = float(np.mean(sig)) * 10 ** (silence_db / 10) if m else 0.0
    ok = sig > max(floor, 1e-12)
    for sec in sections or []:
        if sec.get("role") in skip_roles:
            ok[sec["start"] // n : -(-sec["end"] // n)] = False
    fig, ax = plt.subplots(figsize=(9, 3))
    times = (np.arange(m) + 0.5) * window_s
    shown = np.where(ok, 10 * np.log10(err / np.where(ok, sig, 1.0) + 1e-12), np.nan)  # NaN breaks the line
    ax.plot(times, shown, lw=1)
    for sec in sections or []:
        ax.axvline(sec["start"] / sample_rate, color="0.8", lw=0.7)
        if sec.get("role") not in skip_roles:
            ax.text(sec["start"] / sample_rate, ax.get_ylim()[1], sec["name"], fontsize=7, rotation=90, va="top")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("ESR (dB)")
    ax.set_title(f"Error over time ({window_s * 1000:.0f} ms windows; gaps, blips and silence left out; "
                 "-20 dB = ESR 0.01)", fontsize=9)
    fig.tight_layout()
    return fig


def spectrograms(target: np.ndarray, prediction: np.ndarray, sample_rate: int) -> Figure:
    """Log-magnitude spectrograms of target, prediction and residual on one colour scale."""
    import librosa
    import librosa.display

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), sharey=True)
    specs = [np.abs(librosa.stft(s.astype(np.float32), n_fft=2048, hop_length=512))
             for s in (target, prediction, target - prediction)]
    ref = max(float(s.max()) for s in specs) or 1.0
    for ax, spec, title in zip(axes, specs, ("target", "prediction", "residual (target − prediction)")):
        db = librosa.amplitude_to_db(spec, ref=ref, top_db=90)
        img = librosa.display.specshow(db, sr=sample_rate, hop_length=512, x_axis="time", y_axis="log", ax=ax,
                                       vmin=-90, vmax=0)
        ax.set_title(title)
    fig.colorbar(img, ax=axes, format="%+2.0f dB")
    return fig


def average_spectra(target: np.ndarray, prediction: np.ndarray, sample_rate: int,
                    dry: np.ndarray | None = None) -> Figure:
    """Welch average spectra (dB) of target and prediction (and dry input)."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for sig, label in ((dry, "dry input"), (target, "target"), (prediction, "prediction")):
        if sig is None:
            continue
        f, p = welch(sig, fs=sample_rate, nperseg=4096)
        ax.semilogx(f[1:], 10 * np.log10(p[1:] + 1e-20), label=label, lw=1)
    ax.set_xlim(20, sample_rate / 2)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("power (dB)")
    ax.legend()
    fig.tight_layout()
    return fig
