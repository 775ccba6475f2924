"""A small ABC reader: header fields, notes with onsets and MIDI pitches, bars with their durations.

It covers what folk-tune corpora use (ABC 2.1 single voice: notes, rests, chords, tuplets, broken
rhythm, ties, grace notes, decorations, chord symbols, repeats and endings, inline fields) and
collects problems in :attr:`ParsedTune.errors` instead of raising, so it doubles as the
pure-Python syntax check when ``abc2midi`` is not installed. Durations are
:class:`fractions.Fraction` of a whole note (``1/4`` = a crotchet).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

from helpers.errors import DataError

#: Longest note, rest or multi-bar rest accepted (in unit lengths or bars): longer ones are errors
#: (a sampled "a99999" would otherwise render hours of audio).
MAX_LENGTH = 64
#: The header fields a complete tune has; ``K:`` must be the last header line.
REQUIRED_FIELDS = ("X", "T", "M", "L", "K")

# Number of sharps (negative: flats) of each major key, and the shift each mode applies.
_MAJOR_FIFTHS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F#": 6, "C#": 7,
                 "F": -1, "Bb": -2, "Eb": -3, "Ab": -4, "Db": -5, "Gb": -6, "Cb": -7}
_MODE_SHIFT = {"": 0, "maj": 0, "ion": 0, "m": -3, "min": -3, "aeo": -3, "dor": -2, "phr": -4,
               "lyd": 1, "mix": -1, "loc": -5}
_SHARP_ORDER = "FCGDAEB"
_LETTER_SEMITONE = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_DECORATION_LETTERS = set("HIJKLMNOPQRSTUVWhijklmnopqrstuvw~.")
_SKIP = set(" \t\r`\\$y)*")
#: A bar line: ``|``, ``||``, ``|]``, ``[|``, ``:|``, ``|:``, ``::`` and the like.
BAR_RE = re.compile(r":*\|[|\]]*:*|\[\|[|\]]*:*|::+")
_LENGTH_RE = re.compile(r"(\d*)(/*)(\d*)")
_NOTE_RE = re.compile(r"(\^\^|\^|__|_|=)?([A-Ga-g])([',]*)")
_TUPLET_RE = re.compile(r"\((\d)(?::(\d?)(?::(\d?))?)?")
#: A whole-line field such as ``M:6/8``: group 1 is the letter, group 2 the value.
FIELD_LINE_RE = re.compile(r"^([A-Za-z]):(.*)$")
_KEY_RE = re.compile(r"^\s*([A-G])([#b]?)\s*([A-Za-z]*)")


class AbcParseError(DataError):
    """A header value (key, meter, unit length) that cannot be read."""


@dataclass
class Note:
    """One sounding note: onset and duration in whole notes, MIDI pitch, and whether it fits the key."""

    start: Fraction
    duration: Fraction
    pitch: int
    in_key: bool


@dataclass
class Bar:
    """One bar: its duration (whole notes), the meter it should fill and the bar line that closes it."""

    index: int
    duration: Fraction
    expected: Fraction | None
    closing: str
    line: int

    @property
    def complete(self) -> bool:
        """True when the bar's duration equals the meter (or there is no meter)."""
        return self.expected is None or self.duration == self.expected


@dataclass
class ParsedTune:
    """What :func:`parse_tune` read from one tune."""

    header: dict[str, str] = field(default_factory=dict)
    header_order: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    meter: Fraction | None = None
    unit: Fraction = Fraction(1, 8)
    tempo_qpm: float = 120.0

    @property
    def header_complete(self) -> bool:
        """X first, T, M, L and K present, K the last header line."""
        order = self.header_order
        return bool(order) and order[0] == "X" and order[-1] == "K" and all(f in order for f in REQUIRED_FIELDS)

    @property
    def in_key_fraction(self) -> float:
        """Share of notes whose pitch class lies in the key signature's scale (1.0 when no notes)."""
        return sum(n.in_key for n in self.notes) / len(self.notes) if self.notes else 1.0


def key_signature(value: str) -> dict[str, int]:
    """Accidentals implied by a ``K:`` value: ``{"F": 1, "C": 1}`` for ``"D Major"`` (+1 sharp, -1 flat).

    Accepts ``"D"``, ``"Dmaj"``, ``"Em"``, ``"A Dorian"``, ``"D mix"``, ``"none"`` and ``"HP"``.
    """
    text = value.strip().split("%")[0].strip()
    if not text or text.lower() in ("none", "hp") or text.startswith("clef"):
        return {}
    m = _KEY_RE.match(text)
    if m is None:
        raise AbcParseError(f"K:{value!r} is not a key; write e.g. K:D, K:Em, K:A Dorian")
    tonic, acc, mode = m.group(1), m.group(2), m.group(3).lower()
    mode = "m" if mode == "m" else mode[:3]
    if mode not in _MODE_SHIFT or tonic + acc not in _MAJOR_FIFTHS:
        raise AbcParseError(f"K:{value!r}: unknown key or mode {tonic + acc} {m.group(3)!r}")
    fifths = _MAJOR_FIFTHS[tonic + acc] + _MODE_SHIFT[mode]
    if fifths >= 0:
        return {letter: 1 for letter in _SHARP_ORDER[:fifths]}
    return {letter: -1 for letter in _SHARP_ORDER[::-1][: -fifths]}


def parse_meter(value: str) -> Fraction | None:
    """Bar length in whole notes of an ``M:`` value (``C`` = 4/4, ``C|`` = 2/2, ``none`` = free)."""
    text = value.strip().split("%")[0].strip()
    if text in ("C", "C|"):
        return Fraction(1)
    if text.lower() == "none" or not text:
        return None
    m = re.fullmatch(r"\(?([\d+]+)\)?\s*/\s*(\d+)", text)
    if m is None:
        raise AbcParseError(f"M:{value!r} is not a meter; write e.g. M:6/8, M:C, M:3/4")
    num = sum(int(p) for p in m.group(1).split("+") if p)
    den = int(m.group(2))
    if num <= 0 or den <= 0:
        raise AbcParseError(f"M:{value!r}: numerator and denominator must be positive")
    return Fraction(num, den)


def parse_unit(value: str) -> Fraction:
    """Unit note length of an ``L:`` value, e.g. ``"1/8"`` → 1/8 of a whole note."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value.split("%")[0])
    if m is None or int(m.group(1)) == 0 or int(m.group(2)) == 0:
        raise AbcParseError(f"L:{value!r} is not a unit length; write e.g. L:1/8")
    return Fraction(int(m.group(1)), int(m.group(2)))


def split_header(tune: str) -> tuple[list[tuple[str, str]], list[tuple[int, str]]]:
    """Header fields ``[(letter, value), ...]`` up to and including the first ``K:``, and the body lines."""
    lines = tune.replace("\r\n", "\n").split("\n")
    header: list[tuple[str, str]] = []
    for i, line in enumerate(lines):
        if line.startswith("%"):
            continue
        m = FIELD_LINE_RE.match(line)
        if m is None:  # music before K: — the header ends here (incomplete)
            return header, list(enumerate(lines))[i:]
        header.append((m.group(1), m.group(2).strip()))
        if m.group(1) == "K":
            return header, list(enumerate(lines))[i + 1 :]
    return header, []


def _length(text: str, pos: int) -> tuple[Fraction, int, bool]:
    """Read a length multiplier (``2``, ``/``, ``3/2``, ``//``) at ``pos``; return (value, new pos, ok)."""
    m = _LENGTH_RE.match(text, pos)
    assert m is not None  # every part of the pattern is optional
    num_s, slashes, den_s = m.groups()
    num = int(num_s) if num_s else 1
    if not slashes:
        return Fraction(num), m.end(), num > 0 and not den_s
    den = int(den_s) if den_s else 2 ** len(slashes)
    if len(slashes) > 1 and den_s:
        return Fraction(num, den), m.end(), False
    if num == 0 or den == 0:
        return Fraction(1), m.end(), False
    return Fraction(num, den), m.end(), True


def _tuplet_q(p: int, meter: Fraction | None) -> int:
    if p in (3, 6):
        return 2
    if p in (2, 4, 8):
        return 3
    compound = meter is not None and meter.numerator % 3 == 0 and meter.numerator > 3
    return 3 if compound else 2


class Reader:
    """State of one pass over a tune body, read line by line with :meth:`read_line`.

    Notes, bars and errors go to ``tune`` (its ``meter`` and ``unit`` set the lengths). ``time`` is the
    onset reached (whole notes), ``bar_start`` where the open bar began; the tuplet and broken-rhythm
    fields carry over from one line to the next (:mod:`helpers.abc.metre` resumes a read from them).
    """

    def __init__(self, tune: ParsedTune, key: dict[str, int] | None = None, key_scale: set[int] | None = None):
        self.t = tune
        self.key = {} if key is None else key
        self.scale = key_scale
        self.time = Fraction(0)
        self.bar_start = Fraction(0)
        self.bar_accidentals: dict[tuple[str, int], int] = {}
        self.tuplet_left = 0
        self.tuplet_factor = Fraction(1)
        self.broken_next = Fraction(1)
        self.last_group: list[Note] = []
        self.last_advance = Fraction(0)
        self.tie_pending = False
        self.ties: dict[int, Note] = {}
        self.repeat_closed = False  # a ':|' was seen and no '|:' since

    def read_line(self, line: str, line_no: int) -> None:
        """Read one body line (music, a field line or a ``%`` comment); ``line_no`` (0-based) goes into errors."""
        _read_line(self, line, line_no)

    def bar_line(self, symbol: str) -> None:
        closes, opens = symbol.startswith(":"), symbol.endswith(":")
        if closes:
            self.repeat_closed = not opens
        elif opens or "]" in symbol or "||" in symbol:  # a double bar starts a new section
            self.repeat_closed = False

    def ending(self, numbers: str, line: int, col: int) -> None:
        if numbers.startswith("1") and self.repeat_closed:
            self.error(line, col, f"ending {numbers} after ':|' with no '|:' to open the repeat")

    def error(self, line: int, col: int, message: str) -> None:
        self.t.errors.append(f"line {line + 1} col {col + 1}: {message}")

    def set_key(self, value: str, line: int) -> None:
        try:
            self.key = key_signature(value)
            self.scale = _scale(value)
        except AbcParseError as exc:
            self.error(line, 0, str(exc))

    def close_bar(self, closing: str, line: int) -> None:
        duration = self.time - self.bar_start
        if duration > 0 or closing:
            self.t.bars.append(Bar(len(self.t.bars), duration, self.t.meter, closing, line + 1))
        self.bar_start = self.time
        self.bar_accidentals.clear()

    def pitch(self, acc: str, letter: str, octave: str) -> tuple[int, bool]:
        base = letter.upper()
        octave_shift = (1 if letter.islower() else 0) + octave.count("'") - octave.count(",")
        slot = (base, octave_shift)
        if acc:
            alter = {"^": 1, "^^": 2, "_": -1, "__": -2, "=": 0}[acc]
            self.bar_accidentals[slot] = alter
        else:
            alter = self.bar_accidentals.get(slot, self.key.get(base, 0))
        pitch = 60 + 12 * octave_shift + _LETTER_SEMITONE[base] + alter
        in_key = self.scale is None or pitch % 12 in self.scale
        return pitch, in_key

    def emit(self, notes: list[tuple[int, bool]], length: Fraction) -> None:
        """Place a note, rest (empty ``notes``) or chord lasting ``length`` units before tuplets/broken rhythm."""
        duration = length * self.t.unit * self.broken_next
        self.broken_next = Fraction(1)
        if self.tuplet_left > 0:
            duration *= self.tuplet_factor
            self.tuplet_left -= 1
        group = []
        tied = self.tie_pending
        self.tie_pending = False
        for pitch, in_key in notes:
            prev = self.ties.pop(pitch, None) if tied else None
            if prev is not None and prev.start + prev.duration == self.time:
                prev.duration += duration
                group.append(prev)
                continue
            note = Note(self.time, duration, pitch, in_key)
            self.t.notes.append(note)
            group.append(note)
        self.ties.clear()
        self.last_group = group
        self.last_advance = duration
        self.time += duration

    def broken(self, symbol: str) -> None:
        n = len(symbol)
        long, short = Fraction(2 ** (n + 1) - 1, 2**n), Fraction(1, 2**n)
        first, second = (long, short) if symbol[0] == ">" else (short, long)
        extra = self.last_advance * (first - 1)
        for note in self.last_group:
            note.duration *= first
        self.time += extra
        self.last_advance *= first
        self.broken_next = second


def _scale(value: str) -> set[int] | None:
    text = value.strip().split("%")[0].strip()
    if not text or text.lower() in ("none", "hp") or text.startswith("clef"):
        return None
    sig = key_signature(value)
    return {(_LETTER_SEMITONE[letter] + sig.get(letter, 0)) % 12 for letter in _LETTER_SEMITONE}


def parse_tune(tune: str) -> ParsedTune:
    """Read one tune (header + body); problems go to ``errors`` (empty list: no syntax problem found)."""
    parsed = ParsedTune()
    header, body = split_header(tune)
    for letter, value in header:
        parsed.header_order.append(letter)
        parsed.header.setdefault(letter, value)
    if not header or header[0][0] != "X":
        parsed.errors.append("header: the tune must start with an X: line")
    if "K" not in parsed.header:
        parsed.errors.append("header: no K: line (the key ends the header)")
    try:
        parsed.meter = parse_meter(parsed.header.get("M", "none"))
    except AbcParseError as exc:
        parsed.errors.append(str(exc))
    try:
        if "L" in parsed.header:
            parsed.unit = parse_unit(parsed.header["L"])
        elif parsed.meter is not None and parsed.meter < Fraction(3, 4):
            parsed.unit = Fraction(1, 16)
    except AbcParseError as exc:
        parsed.errors.append(str(exc))
    reader = Reader(parsed)
    reader.set_key(parsed.header.get("K", "C"), 0)
    if "Q" in parsed.header:
        m = re.search(r"(?:(\d+)/(\d+)\s*=\s*)?(\d+)\s*$", parsed.header["Q"])
        if m:
            beat = Fraction(int(m.group(1)), int(m.group(2))) if m.group(1) else Fraction(1, 4)
            parsed.tempo_qpm = float(int(m.group(3)) * beat / Fraction(1, 4))
    for line_no, line in body:
        reader.read_line(line, line_no)
    if reader.time > reader.bar_start:
        reader.close_bar("", body[-1][0] if body else 0)
    return parsed


def _read_line(r: Reader, line: str, line_no: int) -> None:
    if line.startswith("%"):
        return
    field_line = FIELD_LINE_RE.match(line)
    if field_line and not line.startswith("|"):
        _inline_field(r, field_line.group(1), field_line.group(2), line_no)
        return
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == "%":
            return
        note = _NOTE_RE.match(line, i)
        if note is not None:
            pitch = r.pitch(note.group(1) or "", note.group(2), note.group(3))
            length, i, ok = _length(line, note.end())
            if not ok or length > MAX_LENGTH:
                r.error(line_no, note.start(), f"bad note length after {note.group(0)!r}")
                length = min(length, Fraction(MAX_LENGTH))
            r.emit([pitch], length)
            continue
        if c in "zx":
            length, i, ok = _length(line, i + 1)
            if not ok or length > MAX_LENGTH:
                r.error(line_no, i, "bad rest length")
                length = min(length, Fraction(MAX_LENGTH))
            r.emit([], length)
            continue
        if c == "Z":
            count, i, ok = _length(line, i + 1)
            bar = r.t.meter or Fraction(1)
            if count > MAX_LENGTH:
                r.error(line_no, i, f"multi-bar rest Z{count} is longer than {MAX_LENGTH} bars")
                count = Fraction(1)
            for _ in range(max(int(count), 1)):
                r.time += bar
                r.close_bar("|", line_no)
            continue
        bar_match = BAR_RE.match(line, i)
        if bar_match is not None:
            r.close_bar(bar_match.group(0), line_no)
            r.bar_line(bar_match.group(0))
            i = bar_match.end()
            ending = re.match(r"\d+(?:[,-]\d+)*", line[i:])
            if ending:
                r.ending(ending.group(0), line_no, i)
                i += ending.end()
            continue
        if c == "[":
            i = _bracket(r, line, i, line_no)
            continue
        if c == "(":
            tup = _TUPLET_RE.match(line, i)
            if tup:
                p = int(tup.group(1))
                q = int(tup.group(2)) if tup.group(2) else _tuplet_q(p, r.t.meter)
                n_notes = int(tup.group(3)) if tup.group(3) else p
                if p < 2:
                    r.error(line_no, i, f"tuplet ({p} needs at least 2 notes")
                r.tuplet_left, r.tuplet_factor = n_notes, Fraction(q, p)
                i = tup.end()
            else:
                i += 1  # a slur
            continue
        if c in "<>":
            m = re.match(r"[<>]+", line[i:])
            symbol = m.group(0) if m else c
            if (not r.last_group and r.last_advance == 0) or len(set(symbol)) > 1 or len(symbol) > 3:
                r.error(line_no, i, f"broken rhythm {symbol!r} must sit between two notes")
            else:
                r.broken(symbol)
            i += len(symbol)
            continue
        if c == "-":
            r.tie_pending = True
            r.ties = {note.pitch: note for note in r.last_group}
            i += 1
            continue
        if c in "\"{!+":
            close = {"\"": "\"", "{": "}", "!": "!", "+": "+"}[c]
            end = line.find(close, i + 1)
            if c == "!" and (end < 0 or " " in line[i + 1 : end] or "|" in line[i + 1 : end]):
                i += 1  # a lone '!' is the old line-break mark
                continue
            if end < 0:
                r.error(line_no, i, f"{c!r} is not closed by {close!r} on the same line")
                return
            if c == "\"" and end > i + 1 and line[i + 1] not in "ABCDEFGabcdefg^_<>@(":
                r.error(line_no, i, f"chord symbol {line[i:end + 1]} does not start with A-G (annotations start ^_<>@)")
            if c == "{" and not _NOTE_RE.search(line, i + 1, end):
                r.error(line_no, i, "grace notes {} hold no note")
            i = end + 1
            continue
        if c in _DECORATION_LETTERS or c in _SKIP:
            i += 1
            continue
        if c == ":":  # a lone colon is part of a repeat only next to a bar line
            r.error(line_no, i, "stray ':' (repeats are written |: and :|)")
            i += 1
            continue
        r.error(line_no, i, f"unexpected character {c!r}")
        i += 1


def _bracket(r: Reader, line: str, i: int, line_no: int) -> int:
    """Handle ``[`` : inline field ``[K:G]``, ending ``[1``, or chord ``[ceg]2``."""
    field_m = re.match(r"\[([A-Za-z]):([^\]]*)\]", line[i:])
    if field_m:
        _inline_field(r, field_m.group(1), field_m.group(2), line_no)
        return i + field_m.end()
    ending = re.match(r"\[\d+(?:[,-]\d+)*", line[i:])
    if ending:
        r.ending(ending.group(0)[1:], line_no, i)
        return i + ending.end()
    end = line.find("]", i + 1)
    if end < 0:
        r.error(line_no, i, "chord '[' is not closed by ']'")
        return len(line)
    pitches: list[tuple[int, bool]] = []
    first_len: Fraction | None = None
    j = i + 1
    while j < end:
        note = _NOTE_RE.match(line, j)
        if note is None:
            if line[j] in " -":
                j += 1
                continue
            r.error(line_no, j, f"unexpected {line[j]!r} inside a chord")
            j += 1
            continue
        pitches.append(r.pitch(note.group(1) or "", note.group(2), note.group(3)))
        length, j, _ = _length(line, note.end())
        first_len = length if first_len is None else first_len
    if not pitches:
        r.error(line_no, i, "empty chord []")
    mult, k, ok = _length(line, end + 1)
    if not ok:
        r.error(line_no, end, "bad chord length")
    r.emit(pitches, (first_len or Fraction(1)) * mult)
    return k


def _inline_field(r: Reader, letter: str, value: str, line_no: int) -> None:
    try:
        if letter == "K":
            r.set_key(value, line_no)
        elif letter == "M":  # only the first word: some files put music after the meter
            r.t.meter = parse_meter(value.split()[0] if value.split() else value)
        elif letter == "L":
            r.t.unit = parse_unit(value)
    except AbcParseError as exc:
        r.error(line_no, 0, str(exc))

