"""The folk-tune corpus: find ``irish.abc``, split it into tunes, clean, de-duplicate, describe, split by tune.

The MIT lab splits the file with a regex that returns 817 "songs" for 804 tunes (duplicates with a
leading newline, header-less fragments, the last tune dropped); :func:`split_tunes` splits on ``X:``
header lines instead, which is what ABC itself defines as the start of a tune.
"""

from __future__ import annotations

import codecs
import importlib.util
import logging
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from helpers.abc.parse import AbcParseError, parse_meter, parse_tune, split_header
from helpers.errors import ConfigError, DataError
from helpers.paths import data_dir

log = logging.getLogger(__name__)

#: Header fields kept by :func:`clean_tune` (others, e.g. ``Z:`` transcriber ids, are noise to a model).
KEPT_FIELDS = ("X", "T", "M", "L", "Q", "K")
#: Where the course looks for your own ``.abc`` files.
USER_FOLDER = ("abc",)


class CorpusError(DataError):
    """The corpus cannot be found or holds no usable tune."""


class CorpusWarning(UserWarning):
    """An ``.abc`` file gave no usable tune (not text, no ``X:`` line, or no tune with a header and music)."""


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


def _looks_binary(raw: bytes) -> bool:
    """True for bytes that are not text: a NUL byte, or many control characters, in the first 8 KiB."""
    head = raw[:8192]
    if b"\x00" in head:
        return True
    controls = sum(b < 32 and b not in b"\t\n\r\f" for b in head)
    return bool(head) and controls > 0.05 * len(head)


def _decode_abc(raw: bytes) -> str | None:
    """Text of an ``.abc`` file's bytes with Unix line endings, or ``None`` when they are not text.

    UTF-16 (with its byte-order mark) and UTF-8 are read as such; anything else as Latin-1, as old files use.
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            return None
    elif _looks_binary(raw):
        return None
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _abc_bytes(p: Path) -> bytes:
    if not p.exists():
        raise CorpusError(f"{p}: no such file; check the path (relative paths start at {Path.cwd()})")
    if p.is_dir():
        raise CorpusError(f"{p}: is a folder; pass the .abc files in it, or put them in {data_dir(*USER_FOLDER)}")
    return p.read_bytes()


def read_abc_text(path: str | os.PathLike[str]) -> str:
    """Text of an ``.abc`` file with Unix line endings (UTF-8, falling back to Latin-1 as old files use).

    :class:`CorpusError` when the file is missing or is not text (binary data).
    """
    p = Path(path)
    text = _decode_abc(_abc_bytes(p))
    if text is None:
        raise CorpusError(f"{p}: not text (binary data), so not an ABC file; save your tunes as plain text")
    return text


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


@dataclass(frozen=True)
class FileReport:
    """What one ``.abc`` file gave: tunes ``found`` (``X:`` lines), ``usable`` ones, ``kept`` after de-duplication;
    ``problem`` says why it gave nothing (``""`` when it gave tunes)."""

    path: str
    found: int
    usable: int
    kept: int
    problem: str = ""


@dataclass
class Corpus:
    """Cleaned, de-duplicated tunes and where they came from (``files``: one :class:`FileReport` per file read)."""

    tunes: list[str]
    sources: list[str]
    dropped_unusable: int = 0
    dropped_duplicates: int = 0
    files: list[FileReport] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.tunes)

    @property
    def tunes_per_file(self) -> dict[str, int]:
        """Tunes each file added to the corpus (after cleaning and de-duplication), by path."""
        return {f.path: f.kept for f in self.files}

    def report(self) -> str:
        """One line per file: tunes found, usable and kept, or why it gave none."""
        lines = []
        for f in self.files:
            line = f"{f.path}: {f.kept} tune(s) kept ({f.found} found, {f.usable} usable)"
            lines.append(f"{line}; {f.problem}" if f.problem else line)
        return "\n".join(lines)


def user_abc_files(folder: str | os.PathLike[str] | None = None) -> list[Path]:
    """Your own ``.abc`` files: every ``*.abc`` under ``data/abc/`` (or ``folder``), sorted."""
    base = Path(folder) if folder is not None else data_dir(*USER_FOLDER)
    return sorted(p for p in base.rglob("*.abc") if p.is_file()) if base.exists() else []


def _file_problem(text: str | None, found: int) -> str:
    """Why a file gave no usable tune (the warning's reason)."""
    if text is None:
        return "not text (binary data), so it holds no ABC tunes; save your tunes as a plain-text .abc file"
    if not found:
        return "no 'X:' line, so no tune starts in it; begin each tune with a line like 'X:1'"
    return (f"{found} tune(s) but none usable; each needs a header from 'X:' to 'K:' (e.g. X:1, T:Title, "
            "M:6/8, L:1/8, K:D) followed by music")


def load_corpus(
    *,
    include_irish: bool = True,
    user_files: list[str | os.PathLike[str]] | None = None,
    include_user_folder: bool = True,
) -> Corpus:
    """Load, split, clean and de-duplicate the Irish corpus plus your own ``.abc`` files.

    Args:
        include_irish: the ~800 tunes of ``irish.abc`` (from mitdeeplearning).
        user_files: extra ``.abc`` files, or folders (every ``*.abc`` under them).
        include_user_folder: also every ``.abc`` under ``data/abc/``.

    A file that gives no usable tune (not text, no ``X:`` line, no tune with a header and music) is skipped
    with a :class:`CorpusWarning` naming it and the reason; :attr:`Corpus.files` says what each file gave.
    A missing file raises :class:`CorpusError`.
    """
    files: list[Path] = [irish_abc_path()] if include_irish else []
    for entry in map(Path, user_files or []):
        if entry.is_dir():
            in_folder = user_abc_files(entry)
            if not in_folder:
                warnings.warn(f"{entry}: no .abc files in this folder; put your tunes in files ending in .abc",
                              CorpusWarning, stacklevel=2)
            files += [p for p in in_folder if p not in files]
        elif entry not in files:
            files.append(entry)
    if include_user_folder:
        files += [p for p in user_abc_files() if p not in files]
    raw: list[tuple[str, int]] = []  # (tune, index of its file)
    texts: list[str | None] = []
    for i, f in enumerate(files):
        text = _decode_abc(_abc_bytes(f))
        texts.append(text)
        raw += [(t, i) for t in split_tunes(text or "")]
    usable = [(clean_tune(t), i) for t, i in raw if is_usable(t)]
    seen: set[str] = set()
    tunes, sources, kept_from = [], [], [0] * len(files)
    for tune, i in usable:
        key = music_key(tune)
        if key in seen:
            continue
        seen.add(key)
        tunes.append(tune)
        sources.append(files[i].name)
        kept_from[i] += 1
    reports = []
    for i, (f, text) in enumerate(zip(files, texts)):
        found = sum(j == i for _, j in raw)
        n_usable = sum(j == i for _, j in usable)
        problem = "" if n_usable else _file_problem(text, found)
        if problem:
            warnings.warn(f"{f}: {problem}", CorpusWarning, stacklevel=2)
        reports.append(FileReport(str(f), found, n_usable, kept_from[i], problem))
        log.info("%s: %d tune(s) kept (%d found, %d usable)", f, kept_from[i], found, n_usable)
    if not tunes:
        raise CorpusError(f"no usable tune (X: ... K: header and music) in {[str(f) for f in files]}; "
                          "add .abc files with complete tunes, or keep include_irish=True")
    return Corpus(tunes, sources, len(raw) - len(usable), len(usable) - len(tunes), reports)


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
        raise ConfigError(f"val_fraction must be between 0 and 1, got {val_fraction}; e.g. 0.1 holds out a tenth")
    if len(tunes) < 2:
        raise CorpusError(f"need at least two tunes to hold one out for validation, got {len(tunes)}; add tunes")
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
