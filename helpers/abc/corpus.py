"""The folk-tune corpus: find ``irish.abc``, split it into tunes, clean, de-duplicate, describe, split by tune.

The MIT lab splits the file with a regex that returns 817 "songs" for 804 tunes (duplicates with a
leading newline, header-less fragments, the last tune dropped); :func:`split_tunes` splits on ``X:``
header lines instead, which is what ABC itself defines as the start of a tune.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers.abc.parse import AbcParseError, parse_meter, parse_tune, split_header
from helpers.paths import data_dir

#: Header fields kept by :func:`clean_tune` (others, e.g. ``Z:`` transcriber ids, are noise to a model).
KEPT_FIELDS = ("X", "T", "M", "L", "Q", "K")
#: Where the course looks for your own ``.abc`` files.
USER_FOLDER = ("abc",)


class CorpusError(ValueError):
    """The corpus cannot be found or holds no usable tune."""


def irish_abc_path() -> Path:
    """Path of ``irish.abc`` inside the installed ``mitdeeplearning`` package, found without importing it.

    Importing ``mitdeeplearning`` pulls TensorFlow; ``importlib.util.find_spec`` only locates it.
    """
    spec = importlib.util.find_spec("mitdeeplearning")
    if spec is None or not spec.submodule_search_locations:
        raise CorpusError(
            "the Irish folk corpus ships with the mitdeeplearning package, which is not installed; run "
            "`pip install 'setuptools<81' wheel && pip install --no-deps --no-build-isolation mitdeeplearning==0.7.5`"
        )
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "data" / "irish.abc"
        if path.exists():
            return path
    raise CorpusError(f"mitdeeplearning is installed but has no data/irish.abc under {list(spec.submodule_search_locations)}")


def read_abc_text(path: str | os.PathLike[str]) -> str:
    """Text of an ``.abc`` file with Unix line endings (UTF-8, falling back to Latin-1 as old files use)."""
    p = Path(path)
    if not p.exists():
        raise CorpusError(f"{p}: no such file")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_tunes(text: str) -> list[str]:
    """Split ABC text into tunes: each starts at an ``X:`` line and runs to the next ``X:`` line.

    Text before the first ``X:`` (a file header) is dropped; blank lines and trailing spaces at a
    tune's end are stripped. Every tune of the file is returned exactly once, first and last included.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    starts = [m.start() for m in re.finditer(r"^X:", text, flags=re.MULTILINE)]
    tunes = []
    for begin, end in zip(starts, [*starts[1:], len(text)]):
        tune = text[begin:end].strip()
        # A blank line ends a tune in ABC: anything after one (free text) is not part of it.
        tune = re.split(r"\n[ \t]*\n", tune, maxsplit=1)[0]
        tunes.append(tune)
    return tunes


def lab_regex_split(text: str) -> list[str]:
    """The MIT lab's split (``(^|\\n\\n)(.*?)\\n\\n`` with overlapping matches), kept to compare against."""
    # A zero-width lookahead gives the overlapping matches the lab gets from the `regex` package.
    return [m.group(2) for m in re.finditer(r"(?=(^|\n\n)(.*?)\n\n)", text, flags=re.DOTALL)]


def clean_tune(tune: str, *, number: int | None = 1) -> str:
    """Normalise one tune for training: keep the fields in :data:`KEPT_FIELDS`, drop comments and blank
    lines, strip trailing spaces, and renumber ``X:`` to ``number`` (the model cannot guess a catalogue
    number; ``None`` keeps it)."""
    header, body = split_header(tune)
    lines = []
    for letter, value in header:
        if letter not in KEPT_FIELDS:
            continue
        if letter == "X" and number is not None:
            value = str(number)
        lines.append(f"{letter}:{value}")
    for _, line in body:
        line = line.split("%", 1)[0].rstrip() if not line.startswith("%%") else ""
        if line.strip():
            lines.append(line)
    return "\n".join(lines)


def music_key(tune: str) -> str:
    """The tune's music with spaces, line breaks and header removed: equal keys mean the same tune."""
    _, body = split_header(tune)
    return re.sub(r"[\s!]", "", "".join(line for _, line in body))


def dedupe(tunes: list[str]) -> list[str]:
    """Drop tunes whose music (see :func:`music_key`) already appeared; keeps the first, in order."""
    seen: set[str] = set()
    kept = []
    for tune in tunes:
        key = music_key(tune)
        if key and key not in seen:
            seen.add(key)
            kept.append(tune)
    return kept


def is_usable(tune: str) -> bool:
    """A tune worth training on: an X: first, a K: line, and some music after it."""
    header, body = split_header(tune)
    return bool(header) and header[0][0] == "X" and header[-1][0] == "K" and any(line.strip() for _, line in body)


@dataclass
class Corpus:
    """Cleaned, de-duplicated tunes and where they came from."""

    tunes: list[str]
    sources: list[str]
    dropped_unusable: int = 0
    dropped_duplicates: int = 0

    def __len__(self) -> int:
        return len(self.tunes)


def user_abc_files(folder: str | os.PathLike[str] | None = None) -> list[Path]:
    """Your own ``.abc`` files: every ``*.abc`` under ``data/abc/`` (or ``folder``), sorted."""
    base = Path(folder) if folder is not None else data_dir(*USER_FOLDER)
    return sorted(base.rglob("*.abc")) if base.exists() else []


def load_corpus(
    *,
    include_irish: bool = True,
    user_files: list[str | os.PathLike[str]] | None = None,
    include_user_folder: bool = True,
) -> Corpus:
    """Load, split, clean and de-duplicate the Irish corpus plus your own ``.abc`` files.

    Args:
        include_irish: the ~800 tunes of ``irish.abc`` (from mitdeeplearning).
        user_files: extra ``.abc`` files.
        include_user_folder: also every ``.abc`` under ``data/abc/``.
    """
    files: list[Path] = [irish_abc_path()] if include_irish else []
    files += [Path(f) for f in user_files or []]
    if include_user_folder:
        files += [p for p in user_abc_files() if p not in files]
    raw: list[tuple[str, str]] = []
    for f in files:
        raw += [(t, f.name) for t in split_tunes(read_abc_text(f))]
    usable = [(clean_tune(t), src) for t, src in raw if is_usable(t)]
    seen: set[str] = set()
    tunes, sources = [], []
    for tune, src in usable:
        key = music_key(tune)
        if key in seen:
            continue
        seen.add(key)
        tunes.append(tune)
        sources.append(src)
    if not tunes:
        raise CorpusError(f"no usable tune (X: ... K: header and music) in {[str(f) for f in files]}")
    return Corpus(tunes, sources, len(raw) - len(usable), len(usable) - len(tunes))


def tune_stats(tunes: list[str]):
    """One row per tune: characters, bars, notes, key, meter, header completeness, syntax problems.

    Returns a pandas DataFrame.
    """
    import pandas as pd

    rows = []
    for tune in tunes:
        parsed = parse_tune(tune)
        try:
            meter = parse_meter(parsed.header.get("M", "none"))
        except AbcParseError:
            meter = None
        rows.append({
            "title": parsed.header.get("T", ""),
            "chars": len(tune),
            "bars": len(parsed.bars),
            "notes": len(parsed.notes),
            "key": parsed.header.get("K", "?"),
            "meter": parsed.header.get("M", "?"),
            "bar_length": float(meter) if meter else float("nan"),
            "header_complete": parsed.header_complete,
            "parse_errors": len(parsed.errors),
        })
    return pd.DataFrame(rows)


def split_by_tune(tunes: list[str], val_fraction: float = 0.1, seed: int = 0) -> tuple[list[str], list[str]]:
    """Shuffle whole tunes with ``seed`` and hold out ``val_fraction`` of them (at least one) for validation.

    Splitting by tune (not by character position) keeps every validation tune unseen in training.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    if len(tunes) < 2:
        raise CorpusError("need at least two tunes to hold one out for validation")
    order = np.random.default_rng(seed).permutation(len(tunes))
    n_val = max(1, round(len(tunes) * val_fraction))
    val_idx = set(order[:n_val].tolist())
    train = [t for i, t in enumerate(tunes) if i not in val_idx]
    val = [t for i, t in enumerate(tunes) if i in val_idx]
    return train, val


SPLIT_FOLDER = ("abc_split",)


def save_split(train: list[str], val: list[str], folder: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """Write ``train.abc`` and ``val.abc`` (tunes separated by blank lines) under ``data/abc_split/``."""
    from helpers.atomic import write_text

    base = Path(folder) if folder is not None else data_dir(*SPLIT_FOLDER)
    return {name: write_text(base / f"{name}.abc", "\n\n".join(tunes) + "\n")
            for name, tunes in (("train", train), ("val", val))}


def load_split(folder: str | os.PathLike[str] | None = None) -> tuple[list[str], list[str]] | None:
    """The split saved by :func:`save_split` (notebook 06), or ``None`` when it is not there."""
    base = Path(folder) if folder is not None else data_dir(*SPLIT_FOLDER)
    if not (base / "train.abc").exists() or not (base / "val.abc").exists():
        return None
    return (split_tunes(read_abc_text(base / "train.abc")), split_tunes(read_abc_text(base / "val.abc")))
