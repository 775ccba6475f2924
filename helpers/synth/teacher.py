"""The fixed audio model g ("teacher"): rendered audio → an embedding vector.

The default, :class:`MelStatsEmbedder`, is a perceptual feature embedding in the spirit of the paper's
baselines: statistics of the log-mel spectrogram and of MFCCs, plus a coarse loudness contour. Each clip is
scaled to a fixed RMS level first, so the embedding does not change with playback gain.

Any pretrained audio model you have on disk can be the teacher instead: save it with ``torch.export``
(``.pt2``) or as TorchScript, taking ``(B, n)`` float audio at its own sample rate and returning ``(B, D)``,
then wrap it with :class:`SavedModelEmbedder`. Nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from helpers.errors import ConfigError, ToolError

#: Clips are scaled to this RMS level (linear) before features are computed (gain invariance).
REFERENCE_RMS = 0.1


class TeacherError(ToolError):
    """The audio model cannot be loaded or gives outputs of the wrong shape."""


@runtime_checkable
class AudioEmbedder(Protocol):
    """A fixed audio model: ``(B, n)`` audio at ``sample_rate`` Hz → ``(B, dim)`` embedding."""

    name: str
    sample_rate: int
    dim: int

    def __call__(self, audio: torch.Tensor) -> torch.Tensor: ...


def normalize_rms(audio: torch.Tensor, target: float = REFERENCE_RMS, floor: float = 1e-8) -> torch.Tensor:
    """Scale each row of ``(B, n)`` audio to RMS ``target`` (silent rows stay near zero)."""
    rms = torch.sqrt(torch.mean(audio.double() ** 2, dim=1, keepdim=True)).clamp(min=floor)
    return (audio.double() * (target / rms)).float()


class MelStatsEmbedder:
    """Log-mel and MFCC statistics + loudness contour.

    Embedding (``dim = 2 * n_mels + 2 * n_mfcc + n_segments``): per-band mean and standard deviation over time
    of the log-mel spectrogram (dB) and of the MFCCs, then the frame energy (dB relative to the clip's mean)
    averaged over ``n_segments`` equal stretches of time, which captures the envelope (attack, decay, release).
    """

    def __init__(self, sample_rate: int = 16_000, n_fft: int = 512, hop: int = 256, n_mels: int = 40,
                 n_mfcc: int = 20, n_segments: int = 8, fmin: float = 30.0, fmax: float | None = None):
        import librosa
        import scipy.fft

        self.sample_rate, self.n_fft, self.hop = sample_rate, n_fft, hop
        self.n_mels, self.n_mfcc, self.n_segments = n_mels, n_mfcc, n_segments
        self.fmax = fmax or sample_rate / 2
        mel = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=self.fmax)
        self._mel = torch.from_numpy(mel).float()  # (n_mels, F)
        dct = scipy.fft.dct(np.eye(n_mels), type=2, norm="ortho", axis=0)[:n_mfcc]  # (n_mfcc, n_mels)
        self._dct = torch.from_numpy(dct).float()
        self._window = torch.hann_window(n_fft)
        self.dim = 2 * n_mels + 2 * n_mfcc + n_segments
        self.name = f"melstats-sr{sample_rate}-fft{n_fft}-hop{hop}-mel{n_mels}-mfcc{n_mfcc}-seg{n_segments}"

    def log_mel(self, audio: torch.Tensor) -> torch.Tensor:
        """``(B, n)`` audio → ``(B, n_mels, frames)`` log-mel power in dB (after RMS normalisation)."""
        x = normalize_rms(audio)
        spec = torch.stft(x, self.n_fft, self.hop, window=self._window.to(x.device), return_complex=True)
        power = spec.abs() ** 2
        mel = torch.matmul(self._mel.to(x.device), power)
        return 10 * torch.log10(mel + 1e-10)

    @torch.no_grad()
    def __call__(self, audio: torch.Tensor) -> torch.Tensor:
        """``(B, n)`` audio at ``sample_rate`` Hz → ``(B, dim)`` float32 embedding."""
        if audio.ndim != 2:
            raise ConfigError(f"audio must have shape (batch, samples), got {tuple(audio.shape)}; "
                              "add a batch dimension (audio[None]) for one clip")
        lm = self.log_mel(audio).clamp(min=-100.0)  # (B, M, T); floor keeps silent frames finite
        mfcc = torch.matmul(self._dct.to(lm.device), lm)  # (B, C, T)
        energy = 10 * torch.log10(torch.mean(10 ** (lm / 10), dim=1) + 1e-10)  # (B, T) dB
        energy = energy - energy.mean(dim=1, keepdim=True)
        segments = torch.stack([seg.mean(dim=1) for seg in torch.tensor_split(energy, self.n_segments, dim=1)], 1)
        feats = [lm.mean(2), lm.std(2), mfcc.mean(2), mfcc.std(2), segments]
        return torch.cat(feats, dim=1).float()


def load_audio_model(path: str | os.PathLike[str], device: str = "cpu") -> torch.nn.Module:
    """Load a model saved with ``torch.export.save`` (``.pt2``) or ``torch.jit.save`` (TorchScript, other suffixes)."""
    p = Path(path)
    if not p.exists():
        raise TeacherError(f"{p}: no such model file; save your model with torch.export.save(torch.export.export(model, "
                           "(example,)), path) as .pt2, or with torch.jit.script(model).save(path)")
    try:
        if p.suffix == ".pt2":
            return torch.export.load(str(p)).module().to(device)
        with warnings.catch_warnings():  # TorchScript is deprecated in recent torch but still loads fine
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.load(str(p), map_location=device).eval()
    except Exception as exc:  # torch raises RuntimeError, BadZipFile, pickle errors … depending on the damage
        kind = "exported program (.pt2)" if p.suffix == ".pt2" else "TorchScript model"
        raise TeacherError(f"{p}: not a {kind} ({exc}); save it with torch.export.save or torch.jit.save") from exc


class SavedModelEmbedder:
    """A pretrained audio model of your own, loaded from disk: ``(B, n)`` audio → ``(B, D)``.

    Save it with ``torch.export`` (``.pt2``; make the batch and time dimensions dynamic) or as TorchScript.
    Audio from the synth (``input_rate`` Hz) is resampled to the model's ``sample_rate`` and, with
    ``normalize=True``, scaled to a fixed RMS first (so the embedding ignores gain, like the default teacher).
    ``probe_samples`` is the length of the test clip used to find the embedding size (default: 1 s).
    """

    def __init__(self, path: str | os.PathLike[str], sample_rate: int, *, input_rate: int | None = None,
                 normalize: bool = True, device: str = "cpu", probe_samples: int | None = None):
        p = Path(path)
        self.model = load_audio_model(p, device)
        self.sample_rate = int(sample_rate)
        self.input_rate = int(input_rate or sample_rate)
        self.normalize, self.device = normalize, device
        digest = hashlib.sha1(p.read_bytes()).hexdigest()[:10]
        self.name = f"saved-{p.stem}-{digest}-sr{self.sample_rate}"
        probe = self(torch.randn(2, probe_samples or self.input_rate) * 0.1)
        self.dim = int(probe.shape[1])

    @torch.no_grad()
    def __call__(self, audio: torch.Tensor) -> torch.Tensor:
        """``(B, n)`` audio at ``input_rate`` Hz → ``(B, D)`` float32."""
        x = normalize_rms(audio) if self.normalize else audio.float()
        if self.input_rate != self.sample_rate:
            from helpers.audio import resample

            x = torch.from_numpy(np.stack([resample(r, self.input_rate, self.sample_rate) for r in x.numpy()]))
        out = self.model(x.to(self.device))
        if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != x.shape[0]:
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise TeacherError(f"{self.name}: expected a (batch, dim) tensor, got {shape}; pool over time in the model")
        return out.float().cpu()
