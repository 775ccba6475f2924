"""Characters ↔ integer ids, the training text stream, and batches of (input, target shifted by one)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers.errors import ConfigError, DataError

#: Tunes are separated by a blank line in the training stream, as in an ABC file: the model learns
#: to end a tune by writing ``"\n\n"``, which is where sampling stops.
TUNE_SEPARATOR = "\n\n"


class VocabError(DataError):
    """Text holds characters the vocabulary does not know."""


@dataclass(frozen=True)
class Vocab:
    """A sorted character vocabulary: ``encode`` maps text to ids, ``decode`` maps back."""

    chars: tuple[str, ...]

    @classmethod
    def from_text(cls, text: str) -> Vocab:
        """The sorted set of characters in ``text``."""
        if not text:
            raise VocabError("cannot build a vocabulary from empty text")
        return cls(tuple(sorted(set(text))))

    @property
    def char_to_id(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """Ids of ``text``, shape ``(len(text),)`` int64; unknown characters raise :class:`VocabError`."""
        table = self.char_to_id
        unknown = sorted(set(text) - table.keys())
        if unknown:
            raise VocabError(
                f"characters {unknown!r} are not in the vocabulary ({len(self)} characters); "
                "rebuild it with Vocab.from_text over all your tunes, or remove those characters"
            )
        return np.fromiter((table[c] for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids) -> str:
        """Text of a sequence of ids (list, NumPy array or torch tensor)."""
        return "".join(self.chars[int(i)] for i in np.asarray(ids).reshape(-1))

    def to_json(self) -> str:
        return json.dumps({"chars": list(self.chars)})

    @classmethod
    def from_json(cls, text: str) -> Vocab:
        return cls(tuple(json.loads(text)["chars"]))

    def save(self, path: str | os.PathLike[str]) -> Path:
        from helpers.atomic import write_text

        return write_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocab:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


def join_tunes(tunes: list[str]) -> str:
    """One training stream: every tune followed by :data:`TUNE_SEPARATOR`."""
    return "".join(t.strip() + TUNE_SEPARATOR for t in tunes)


def get_batch(ids: np.ndarray, seq_length: int, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random windows of a vectorised stream: inputs ``x`` and targets ``y = x`` shifted by one step.

    Returns two int64 arrays of shape ``(batch_size, seq_length)`` with ``y[:, t] == x[:, t + 1]``. A stream
    of shape ``(n, k)`` (per-character features, e.g. character and bar clock) gives ``x`` of shape
    ``(batch_size, seq_length, k)`` and ``y`` of its first column, the characters.
    """
    n = len(ids) - 1
    if n < seq_length:
        raise ConfigError(f"the stream has {len(ids)} characters, too few for windows of {seq_length} + 1; "
                          "use a shorter seq_length or more tunes")
    starts = rng.integers(0, n - seq_length + 1, size=batch_size)
    idx = starts[:, None] + np.arange(seq_length)[None, :]
    y = ids[idx + 1]
    return ids[idx], y[..., 0] if ids.ndim == 2 else y


def contiguous_streams(ids: np.ndarray, n_streams: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut a stream into ``n_streams`` equal contiguous rows for stateful evaluation.

    Returns ``(x, y)`` of shape ``(n_streams, length)`` with ``y`` the next character of ``x``;
    reading each row left to right while carrying the LSTM state scores every character once. A stream
    of shape ``(n, k)`` gives ``x`` of shape ``(n_streams, length, k)`` and ``y`` of characters only.
    """
    n_streams = max(1, min(n_streams, (len(ids) - 1) // 2))
    length = (len(ids) - 1) // n_streams
    x = ids[: n_streams * length].reshape(n_streams, length, *ids.shape[1:])
    y = ids[1 : n_streams * length + 1].reshape(n_streams, length, *ids.shape[1:])
    return x, y[..., 0] if ids.ndim == 2 else y
