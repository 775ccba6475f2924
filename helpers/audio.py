"""Audio file I/O and levels: load any WAV to float32 mono, save atomically, peak/RMS in dBFS.

Loading is strict by design: a stereo file, NaN samples or an all-silent recording raise a
specific :class:`AudioError` subclass with a message that says what to do, because each of
them silently ruins a capture or a training run later on.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf

from helpers.atomic import atomic_path
from helpers.errors import AudioError, ConfigError

#: Peaks at or above this magnitude (linear, full scale = 1.0) count as clipped.
CLIP_LEVEL = 0.999
#: A file whose peak is below this level (dBFS) is treated as silent.
SILENCE_DBFS = -90.0


class AudioFileNotFoundError(AudioError, FileNotFoundError):
    """The path does not exist."""


class NotAudioError(AudioError):
    """The file exists but is not a readable audio file."""


class StereoAudioError(AudioError):
    """More than one channel where mono is required."""


class NonFiniteAudioError(AudioError):
    """NaN or infinite samples."""


class SilentAudioError(AudioError):
    """The signal is (almost) all zeros."""


class SampleRateError(AudioError):
    """The file's sample rate differs from the one required."""


class ClippingWarning(UserWarning):
    """Samples sit at full scale: the recording was probably clipped."""


class ResampleWarning(UserWarning):
    """The file was resampled to the requested rate."""


def peak(x: np.ndarray) -> float:
    """Peak magnitude (linear)."""
    return float(np.max(np.abs(x))) if x.size else 0.0


def rms(x: np.ndarray) -> float:
    """Root-mean-square level (linear)."""
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def gain_to_db(gain: float) -> float:
    """Linear amplitude gain to decibels (``-inf`` for 0)."""
    return float(20.0 * np.log10(gain)) if gain > 0 else float("-inf")


def db_to_gain(db: float) -> float:
    """Decibels to linear amplitude gain."""
    return float(10.0 ** (db / 20.0))


def peak_dbfs(x: np.ndarray) -> float:
    """Peak level in dBFS (0 dBFS = full scale 1.0)."""
    return gain_to_db(peak(x))


def rms_dbfs(x: np.ndarray) -> float:
    """RMS level in dBFS."""
    return gain_to_db(rms(x))


def normalize_peak(x: np.ndarray, target_dbfs: float = -1.0) -> np.ndarray:
    """Scale ``x`` so its peak sits at ``target_dbfs``; silent input is returned unchanged."""
    p = peak(x)
    return x if p == 0 else (x * (db_to_gain(target_dbfs) / p)).astype(x.dtype, copy=False)


def clipped_samples(x: np.ndarray, level: float = CLIP_LEVEL, min_run: int = 3) -> int:
    """Number of samples in runs of at least ``min_run`` consecutive samples at ``|x| >= level``."""
    hot = np.abs(x) >= level
    if not hot.any():
        return 0
    # Run lengths of True stretches, from the edges of the boolean mask.
    padded = np.concatenate(([False], hot, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    runs = edges[1::2] - edges[0::2]
    return int(runs[runs >= min_run].sum())


def check_signal(x: np.ndarray, name: str = "signal", *, allow_silent: bool = False) -> None:
    """Raise :class:`NonFiniteAudioError` or :class:`SilentAudioError`; warn on clipping."""
    bad = ~np.isfinite(x)
    if bad.any():
        first = int(np.flatnonzero(bad.reshape(-1))[0])
        raise NonFiniteAudioError(
            f"{name}: {int(bad.sum())} NaN/Inf samples (first at index {first}); "
            "re-export the file from your DAW as 24-bit or 32-bit float without processing"
        )
    if not allow_silent and peak_dbfs(x) < SILENCE_DBFS:
        raise SilentAudioError(
            f"{name}: the audio is silent (peak {peak_dbfs(x):.1f} dBFS); check that the right input was recorded"
        )
    n = clipped_samples(x)
    if n:
        warnings.warn(
            f"{name}: {n} samples at full scale look clipped; lower the recording level and record again",
            ClippingWarning,
            stacklevel=3,
        )


def _to_mono(data: np.ndarray, path: Path, mono: str) -> np.ndarray:
    if data.shape[1] == 1:
        return data[:, 0]
    if mono == "mix":
        return data.mean(axis=1)
    if mono == "left":
        return data[:, 0]
    raise StereoAudioError(
        f"{path}: {data.shape[1]} channels, but mono is required; export a mono file, or load it with "
        "mono='mix' (average the channels) or mono='left'"
    )


def resample(x: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited resampling (soxr, very high quality) of a 1-D float signal."""
    if orig_sr == target_sr:
        return x
    import soxr

    return soxr.resample(x, orig_sr, target_sr, quality="VHQ").astype(np.float32)


def load_wav(
    path: str | os.PathLike[str],
    sample_rate: int | None = None,
    *,
    resample_to_rate: bool = True,
    mono: Literal["error", "mix", "left"] = "error",
    allow_silent: bool = False,
) -> tuple[np.ndarray, int]:
    """Load a WAV/FLAC/AIFF file (16/24/32-bit int or float) as float32 mono.

    Args:
        path: the file.
        sample_rate: the rate the caller needs (Hz); ``None`` keeps the file's rate.
        resample_to_rate: when the file's rate differs, resample (with a :class:`ResampleWarning`)
            if True, else raise :class:`SampleRateError`.
        mono: ``"error"`` refuses multichannel files; ``"mix"`` averages channels; ``"left"`` keeps channel 0.
        allow_silent: accept an all-silent file instead of raising :class:`SilentAudioError`.

    Returns:
        ``(samples, rate)``: shape ``(n,)`` float32 in [-1, 1] full scale, and the rate in Hz.
    """
    p = Path(path)
    if not p.exists():
        raise AudioFileNotFoundError(f"{p}: no such file; check the path (relative paths start at {Path.cwd()})")
    if p.is_dir():
        raise NotAudioError(f"{p}: is a folder, not an audio file")
    try:
        data, sr = sf.read(str(p), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise NotAudioError(f"{p}: not a readable audio file ({exc}); export it as WAV") from exc
    if data.shape[0] == 0:
        raise NotAudioError(f"{p}: the file holds no samples")
    x = _to_mono(data, p, mono)
    check_signal(x, str(p), allow_silent=allow_silent)
    if sample_rate is not None and sr != sample_rate:
        if not resample_to_rate:
            raise SampleRateError(
                f"{p}: recorded at {sr} Hz but {sample_rate} Hz is required; re-export at {sample_rate} Hz "
                "or load it with resample_to_rate=True"
            )
        warnings.warn(f"{p}: resampled from {sr} Hz to {sample_rate} Hz", ResampleWarning, stacklevel=2)
        x = resample(x, sr, sample_rate)
        sr = sample_rate
    return np.ascontiguousarray(x, dtype=np.float32), int(sr)


def save_wav(
    path: str | os.PathLike[str],
    x: np.ndarray,
    sample_rate: int,
    *,
    subtype: Literal["FLOAT", "PCM_24", "PCM_16"] = "FLOAT",
) -> Path:
    """Write ``x`` (shape ``(n,)`` or ``(n, channels)``) atomically as a WAV file.

    32-bit float (the default) keeps levels above 0 dBFS; PCM subtypes clip at full scale.
    """
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim not in (1, 2):
        raise AudioError(f"{path}: expected audio of shape (n,) or (n, channels), got {arr.shape}; "
                         "pass a 1-D (mono) or 2-D (samples, channels) array")
    if not np.isfinite(arr).all():
        raise NonFiniteAudioError(f"{path}: refusing to save NaN/Inf samples")
    if sample_rate <= 0:
        raise ConfigError(f"sample_rate must be positive, got {sample_rate}; pass the rate in Hz, e.g. 48000")
    target = Path(path)
    with atomic_path(target) as tmp:
        sf.write(str(tmp), arr, int(sample_rate), subtype=subtype, format="WAV")
    return target
