"""Load and validate a user's capture pair (``input.wav`` played into the gear, ``output.wav`` recorded back).

Every problem that silently ruins a capture raises a specific :class:`CapturePairError` subclass
whose message says what is wrong and how to fix it: sample-rate mismatch (or pass ``resample=True``),
length mismatch (both lengths and the fix), stereo, silence, DC offset, clipping, NaN, and a pair
too short for the model's receptive field plus a validation segment.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from helpers.audio import (
    CLIP_LEVEL,
    AudioError,
    ClippingWarning,
    SampleRateError,
    StereoAudioError,
    check_signal,
    clipped_samples,
    load_wav,
    peak_dbfs,
    resample,
    rms_dbfs,
)
from helpers.errors import ConfigError

#: |mean| above this (linear full scale, about -46 dBFS) counts as a DC offset.
DC_LIMIT = 0.005
#: Default receptive field assumed when checking the length (NAM "standard" WaveNet, samples).
DEFAULT_RECEPTIVE_FIELD = 4_093


class CapturePairError(AudioError):
    """Base class of the problems found in an input/output pair."""


class PairSampleRateError(CapturePairError, SampleRateError):
    """Input and output were recorded at different rates."""


class PairLengthError(CapturePairError):
    """Input and output have different lengths."""


class DCOffsetError(CapturePairError):
    """A recording sits off zero (interface or pedal DC)."""


class ClippedRecordingError(CapturePairError):
    """Samples at full scale: the level was too hot somewhere in the chain."""


class TooShortError(CapturePairError):
    """Too little audio for the model's receptive field plus validation."""


@dataclass
class CapturePair:
    """A validated pair: ``x`` (dry input) and ``y`` (recorded output), shape ``(n,)`` float32, ``sample_rate`` Hz."""

    x: np.ndarray
    y: np.ndarray
    sample_rate: int
    notes: list[str] = field(default_factory=list)  # what was fixed or is worth knowing

    def report(self) -> dict[str, float | int | str]:
        """Levels and length, for a table."""
        return {
            "samples": len(self.x), "seconds": round(len(self.x) / self.sample_rate, 3),
            "sample_rate": self.sample_rate,
            "input peak dBFS": round(peak_dbfs(self.x), 2), "input RMS dBFS": round(rms_dbfs(self.x), 2),
            "output peak dBFS": round(peak_dbfs(self.y), 2), "output RMS dBFS": round(rms_dbfs(self.y), 2),
        }


def validate_pair(
    x: np.ndarray,
    y: np.ndarray,
    sample_rate: int,
    *,
    receptive_field: int = DEFAULT_RECEPTIVE_FIELD,
    min_validation_s: float = 2.0,
    on_length_mismatch: Literal["error", "trim", "pad"] = "error",
    remove_dc: bool = False,
    allow_clipping: bool = False,
    names: tuple[str, str] = ("input", "output"),
) -> CapturePair:
    """Check an in-memory pair (shape ``(n,)`` each) and return it as a :class:`CapturePair`.

    Args:
        receptive_field: the model's receptive field in samples; the pair must hold at least
            ``2 * receptive_field + min_validation_s * sample_rate`` samples (one training crop
            plus a validation segment).
        on_length_mismatch: ``"error"`` (default), ``"trim"`` both to the shorter, or ``"pad"`` the
            output with zeros (or trim it) to the input's length.
        remove_dc: subtract each signal's mean instead of raising :class:`DCOffsetError`.
        allow_clipping: warn instead of raising :class:`ClippedRecordingError`.
    """
    notes: list[str] = []
    arrays = []
    for arr, name in zip((x, y), names):
        a = np.asarray(arr, dtype=np.float32)
        if a.ndim == 2 and a.shape[1] > 1:
            raise StereoAudioError(f"{name}: {a.shape[1]} channels, but mono is required; export a mono file "
                                   "(or load with mono='mix' / 'left')")
        arrays.append(a.reshape(-1))
    x, y = arrays
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClippingWarning)  # clipping is judged below, with a clearer message
        for arr, name in zip((x, y), names):
            check_signal(arr, name)  # NaN/Inf and silence raise
    if len(x) != len(y):
        fix = (f"re-export the output so it starts with the input and has exactly {len(x)} samples, or pass "
               "on_length_mismatch='trim' (both cut to the shorter) or 'pad' (output padded/cut to the input's length)")
        if on_length_mismatch == "error":
            raise PairLengthError(
                f"{names[0]} has {len(x)} samples ({len(x) / sample_rate:.3f} s) but {names[1]} has {len(y)} samples "
                f"({len(y) / sample_rate:.3f} s); {fix}"
            )
        if on_length_mismatch == "trim":
            n = min(len(x), len(y))
            notes.append(f"lengths differed ({len(x)} vs {len(y)}); both trimmed to {n}")
            x, y = x[:n], y[:n]
        elif on_length_mismatch == "pad":
            notes.append(f"lengths differed ({len(x)} vs {len(y)}); output padded/trimmed to {len(x)}")
            y = np.concatenate([y, np.zeros(max(0, len(x) - len(y)), np.float32)])[: len(x)]
        else:
            raise ConfigError(f"on_length_mismatch must be 'error', 'trim' or 'pad', not {on_length_mismatch!r}")
    out = []
    for arr, name in zip((x, y), names):
        n_clip = clipped_samples(arr)
        if n_clip:
            msg = (f"{name}: {n_clip} samples at full scale (|x| ≥ {CLIP_LEVEL}) look clipped; lower the "
                   + ("reamp file's level" if name == names[0] else "interface input gain or the gear's output level")
                   + " and record again (or pass allow_clipping=True)")
            if not allow_clipping:
                raise ClippedRecordingError(msg)
            warnings.warn(msg, ClippingWarning, stacklevel=2)
            notes.append(msg)
        dc = float(np.mean(arr, dtype=np.float64))
        if abs(dc) > DC_LIMIT:
            if not remove_dc:
                raise DCOffsetError(
                    f"{name}: DC offset {dc:+.4f} (|mean| > {DC_LIMIT}); your interface or pedal adds DC. Fix the "
                    "recording chain, or pass remove_dc=True to subtract the mean"
                )
            arr = (arr - dc).astype(np.float32)
            notes.append(f"{name}: removed DC offset {dc:+.4f}")
        out.append(arr)
    needed = 2 * int(receptive_field) + int(min_validation_s * sample_rate)
    if len(out[0]) < needed:
        raise TooShortError(
            f"the pair holds {len(out[0])} samples ({len(out[0]) / sample_rate:.2f} s) but at least {needed} are "
            f"needed (2 × receptive field {receptive_field} + {min_validation_s} s of validation at {sample_rate} Hz); "
            "record the whole reamp file"
        )
    return CapturePair(out[0], out[1], int(sample_rate), notes)


def load_pair(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    sample_rate: int | None = None,
    resample_output: bool = False,
    **checks,
) -> CapturePair:
    """Load ``input_path`` and ``output_path`` as mono float32 and validate them (see :func:`validate_pair`).

    Args:
        sample_rate: rate both must have (Hz); default: the input file's rate.
        resample_output: resample a mismatched file to that rate instead of raising
            :class:`PairSampleRateError`.
        checks: passed to :func:`validate_pair` (``receptive_field``, ``on_length_mismatch``, ``remove_dc``…).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClippingWarning)  # judged by validate_pair with a clearer message
        x, sr_x = load_wav(input_path)
        y, sr_y = load_wav(output_path)
    target = sample_rate or sr_x
    fixed = []
    for name, sr in (("input", sr_x), ("output", sr_y)):
        if sr != target and not resample_output:
            raise PairSampleRateError(
                f"{name} is at {sr} Hz but {target} Hz is needed (input {sr_x} Hz, output {sr_y} Hz); record both at "
                f"the same rate, or pass resample_output=True to resample to {target} Hz"
            )
    if sr_x != target:
        x = resample(x, sr_x, target)
        fixed.append(f"input resampled {sr_x} → {target} Hz")
    if sr_y != target:
        y = resample(y, sr_y, target)
        fixed.append(f"output resampled {sr_y} → {target} Hz")
    pair = validate_pair(x, y, target, names=(str(input_path), str(output_path)), **checks)
    pair.notes[:0] = fixed
    return pair
