"""Is a generated tune new? Share of its long character n-grams found in training tunes, and the
training tune it shares most with. Only the music (after ``K:``) is compared: headers repeat by design."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from helpers.abc.parse import split_header

#: n-gram length in characters (24 characters ≈ two bars of a reel).
DEFAULT_N = 24
#: A tune "copies" a training tune when at least this share of its n-grams occur in that one tune.
COPY_THRESHOLD = 0.5


def music_text(tune: str) -> str:
    """The tune's body with spaces and line-break marks removed (so layout does not hide a copy)."""
    _, body = split_header(tune)
    return re.sub(r"[\s!]", "", "".join(line for _, line in body))


def ngrams(text: str, n: int = DEFAULT_N) -> set[str]:
    """The set of length-``n`` substrings of ``text``."""
    return {text[i : i + n] for i in range(len(text) - n + 1)}


@dataclass
class Novelty:
    """How much of one tune comes from the training set."""

    copied_fraction: float
    nearest: int | None
    nearest_fraction: float
    n_ngrams: int

    @property
    def copies(self) -> bool:
        return self.nearest_fraction >= COPY_THRESHOLD


class NgramIndex:
    """Every length-``n`` n-gram of the training tunes' music, mapped to the tunes holding it."""

    def __init__(self, tunes: list[str], n: int = DEFAULT_N):
        self.n = n
        self.tunes = tunes
        self.where: dict[str, list[int]] = defaultdict(list)
        for i, tune in enumerate(tunes):
            for gram in ngrams(music_text(tune), n):
                self.where[gram].append(i)

    def novelty(self, tune: str) -> Novelty:
        """Share of ``tune``'s n-grams seen in training, and the training tune sharing the most of them."""
        grams = ngrams(music_text(tune), self.n)
        if not grams:
            return Novelty(0.0, None, 0.0, 0)
        hits: Counter[int] = Counter()
        seen = 0
        for gram in grams:
            owners = self.where.get(gram)
            if owners:
                seen += 1
                hits.update(owners)
        if not hits:
            return Novelty(0.0, None, 0.0, len(grams))
        nearest, shared = hits.most_common(1)[0]
        return Novelty(seen / len(grams), nearest, shared / len(grams), len(grams))

    def summary(self, tunes: list[str]) -> dict[str, float]:
        """Mean copied fraction and share of tunes that copy one training tune (see :data:`COPY_THRESHOLD`)."""
        results = [self.novelty(t) for t in tunes]
        if not results:
            return {"copied_fraction": 0.0, "copy_rate": 0.0}
        return {
            "copied_fraction": sum(r.copied_fraction for r in results) / len(results),
            "copy_rate": sum(r.copies for r in results) / len(results),
        }
