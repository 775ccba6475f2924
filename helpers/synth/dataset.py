"""Datasets of (preset, teacher embedding) pairs: sample presets, render them in batches, drop the silent
ones, embed the audio with the teacher, and cache the result to ``data/synth_proxy/`` (atomic writes).

Only presets and embeddings are stored (audio is re-rendered on demand: the synth is deterministic), so a
10 000-preset dataset is a few MB. The cache file name holds a hash of everything that shapes its content
(synth, teacher, sampler, size, seed); change any of them and a new file is built.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
from tqdm.auto import tqdm

from helpers.atomic import torch_save
from helpers.paths import data_dir
from helpers.synth.presets import MIN_RMS_DBFS, degenerate_mask, sample_templates, sample_uniform
from helpers.synth.synth import Synthesizer
from helpers.synth.teacher import AudioEmbedder

Source = Literal["uniform", "templates"]


@dataclass
class PresetDataset:
    """``presets`` ``(N, P)``, teacher ``embeddings`` ``(N, D)``, optional template ``labels`` (N names)."""

    presets: torch.Tensor
    embeddings: torch.Tensor
    labels: list[str] | None = None
    meta: dict = field(default_factory=dict)
    path: Path | None = None

    def __len__(self) -> int:
        return int(self.presets.shape[0])

    def subset(self, index: slice | torch.Tensor) -> PresetDataset:
        """Rows ``index`` of this dataset (labels follow)."""
        idx = torch.arange(len(self))[index] if isinstance(index, slice) else index
        labels = [self.labels[int(i)] for i in idx] if self.labels is not None else None
        return PresetDataset(self.presets[idx], self.embeddings[idx], labels, dict(self.meta), None)

    def split(self, n_val: int) -> tuple[PresetDataset, PresetDataset]:
        """The first ``N - n_val`` rows and the last ``n_val`` (presets are already in random order)."""
        if not 0 < n_val < len(self):
            raise ValueError(f"n_val must be between 1 and {len(self) - 1}, got {n_val}")
        return self.subset(slice(0, len(self) - n_val)), self.subset(slice(len(self) - n_val, len(self)))


@dataclass
class EmbeddingNormalizer:
    """Per-dimension z-scoring of teacher embeddings, fitted on training data.

    The teacher's features live on very different scales (dB means vs. standard deviations); L1 training
    and nearest-neighbour ranking both happen in the normalised space.
    """

    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def fit(cls, embeddings: torch.Tensor, floor: float = 1e-3) -> EmbeddingNormalizer:
        """Fit on ``(N, D)`` embeddings; dimensions with std below ``floor`` are left unscaled."""
        std = embeddings.std(dim=0)
        return cls(embeddings.mean(dim=0), torch.where(std < floor, torch.ones_like(std), std))

    def __call__(self, embeddings: torch.Tensor) -> torch.Tensor:
        return (embeddings - self.mean.to(embeddings.device)) / self.std.to(embeddings.device)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"mean": self.mean, "std": self.std}

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> EmbeddingNormalizer:
        return cls(state["mean"], state["std"])


def embed_presets(synth: Synthesizer, teacher: AudioEmbedder, presets: torch.Tensor, *, batch_size: int = 64,
                  min_rms_dbfs: float = MIN_RMS_DBFS, progress: bool = True,
                  desc: str = "render + embed") -> tuple[torch.Tensor, torch.Tensor]:
    """Render ``(N, P)`` presets in batches and embed them.

    Returns:
        ``(embeddings (N, D), degenerate (N,) bool)``; degenerate rows (silent/NaN audio) get zero embeddings.
    """
    expected = getattr(teacher, "input_rate", teacher.sample_rate)  # SavedModelEmbedder resamples from input_rate
    if expected != synth.sample_rate:
        raise ValueError(f"the teacher expects {expected} Hz audio but the synth renders {synth.sample_rate} Hz; "
                         "build the teacher with the synth's sample rate (input_rate= for SavedModelEmbedder)")
    embs, bad = [], []
    for start in tqdm(range(0, len(presets), batch_size), desc=desc, disable=not progress, leave=False):
        audio = synth.render(presets[start:start + batch_size])
        mask = degenerate_mask(audio, min_rms_dbfs)
        emb = teacher(torch.where(mask[:, None], torch.zeros_like(audio), audio))
        embs.append(torch.where(mask[:, None], torch.zeros_like(emb), emb))
        bad.append(mask)
    return torch.cat(embs), torch.cat(bad)


def _sampler(source: Source, specs) -> Callable[[int, int], tuple[torch.Tensor, list[str] | None]]:
    if source == "uniform":
        return lambda n, seed: (sample_uniform(n, seed, specs), None)
    if source == "templates":
        return lambda n, seed: sample_templates(n, seed, specs)
    raise ValueError(f"source must be 'uniform' or 'templates', got {source!r}")


def dataset_key(synth: Synthesizer, teacher: AudioEmbedder, source: Source, n: int, seed: int,
                min_rms_dbfs: float) -> str:
    """Hash of everything that determines a dataset's content."""
    text = repr((synth.cache_id(), teacher.name, source, n, seed, min_rms_dbfs, _DATASET_VERSION))
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def build_dataset(synth: Synthesizer, teacher: AudioEmbedder, n: int, *, source: Source = "uniform", seed: int = 0,
                  batch_size: int = 64, min_rms_dbfs: float = MIN_RMS_DBFS, cache: bool = True,
                  name: str | None = None, progress: bool = True) -> PresetDataset:
    """``n`` non-degenerate presets from ``source`` with their teacher embeddings (cached on disk).

    Presets are drawn in rounds (seed, seed + 1, …) until ``n`` survive the silence filter, so the result
    depends only on the arguments. ``meta`` records how many presets were drawn and dropped.
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    key = dataset_key(synth, teacher, source, n, seed, min_rms_dbfs)
    path = data_dir("synth_proxy", f"{name or source}-{n}-{key}.pt")
    if cache and path.exists():
        try:  # tensors and plain data only: a cache file cannot run code when read
            blob = torch.load(path, weights_only=True)
            return PresetDataset(blob["presets"], blob["embeddings"], blob["labels"], blob["meta"], path)
        except Exception as exc:  # an older or foreign cache: rebuild it (it is derived data)
            warnings.warn(f"{path}: unreadable dataset cache ({type(exc).__name__}); rebuilding it", stacklevel=2)
    sampler = _sampler(source, synth.specs)
    kept_p: list[torch.Tensor] = []
    kept_e: list[torch.Tensor] = []
    kept_l: list[str] = []
    drawn = dropped = 0
    round_seed = seed
    with tqdm(total=n, desc=f"dataset {name or source}", disable=not progress) as bar:
        while sum(len(p) for p in kept_p) < n:
            want = n - sum(len(p) for p in kept_p)
            presets, labels = sampler(int(want * 1.05) + 8, round_seed)
            emb, bad = embed_presets(synth, teacher, presets, batch_size=batch_size, min_rms_dbfs=min_rms_dbfs,
                                     progress=False)
            good = torch.nonzero(~bad).squeeze(1)[:want]
            kept_p.append(presets[good])
            kept_e.append(emb[good])
            if labels is not None:
                kept_l.extend(labels[int(i)] for i in good)
            examined = len(presets) if len(good) < want else int(good[-1]) + 1  # presets after the last kept one are unused
            drawn += examined
            dropped += int(bad[:examined].sum())
            bar.update(len(good))
            round_seed += 1
    meta = {"source": source, "seed": seed, "n": n, "drawn": drawn, "dropped_silent": dropped,
            "synth": synth.cache_id(), "teacher": teacher.name, "sample_rate": synth.sample_rate,
            "param_names": [s.name for s in synth.specs], "min_rms_dbfs": min_rms_dbfs}
    ds = PresetDataset(torch.cat(kept_p), torch.cat(kept_e), kept_l or None, meta, path if cache else None)
    if cache:
        torch_save({"presets": ds.presets, "embeddings": ds.embeddings, "labels": ds.labels, "meta": meta}, path)
    return ds


#: Bump when the dataset format or sampling changes (invalidates cached files).
_DATASET_VERSION = 1
