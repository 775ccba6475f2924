"""The bar clock: where in the bar and in the section the text so far has got to, per character.

A character LSTM has to *count* to write bars of the right length: in 6/8 with ``L:1/8`` it must notice
that ``d2B AFD`` already fills a bar before it writes ``|``. The bar clock does the counting for it.
After each character it reads the text so far with the course's ABC reader (:mod:`helpers.abc.parse`)
and reports how much of the current bar is filled, as one of :data:`N_STATES` integer states that the
model takes as a second input next to the character (see ``CharLSTMConfig.clock_dim``). The state is a
function of the text up to and including that character only, so the model stays a next-character
predictor and sampling can feed it as it writes.

Each character gets three integers (sizes in :data:`SIZES`):

1. **filled**: ``HEADER`` (header lines and the blank line between tunes), ``FREE`` (no meter),
   ``BAR_START + floor(48 · filled / meter)`` while the bar is not yet full, ``FULL`` when it is exactly full
   and ``OVER`` past it. 48 steps resolve every unit length in 2/4 … 12/8 at ``L:1/8`` and ``L:1/16``.
2. **pick-up**: 0, or ``1 + floor(12 · length / meter)`` once the section (the music after a repeat or double
   bar line, or the tune's start) has opened with a short bar. A section that opens with a pick-up must end
   with a bar short by as much (abc2midi checks the pair at ``:|``); this lets the model know it.
3. **bars**: how many bars of the section are complete (at most 15): where an 8-bar part should end.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from helpers.abc.parse import (
    BAR_RE,
    FIELD_LINE_RE,
    AbcParseError,
    ParsedTune,
    Reader,
    parse_meter,
    parse_unit,
)

STEPS = 48
HEADER, FREE, BAR_START = 0, 1, 2
FULL = BAR_START + STEPS
OVER = FULL + 1
#: Number of "filled" states.
N_STATES = OVER + 1
PICKUP_STEPS = 12
MAX_SECTION_BARS = 15
#: Number of states of each of the three clock features (filled, pick-up, bars).
SIZES = (N_STATES, PICKUP_STEPS + 1, MAX_SECTION_BARS + 1)


def state_of(filled: Fraction, meter: Fraction | None) -> int:
    """The clock state for ``filled`` whole notes of a bar of ``meter`` whole notes (``None``: no meter)."""
    if meter is None:
        return FREE
    if filled == meter:
        return FULL
    if filled > meter:
        return OVER
    return BAR_START + int(filled * STEPS / meter)


@dataclass
class _LineStart:
    """What the reader carries from one music line into the next."""

    meter: Fraction | None
    unit: Fraction
    filled: Fraction = Fraction(0)
    tuplet_left: int = 0
    tuplet_factor: Fraction = Fraction(1)
    broken_next: Fraction = Fraction(1)
    last_advance: Fraction = Fraction(0)


class BarClock:
    """Feed characters one at a time; :meth:`feed` returns the clock state after each.

    After each character the reader reads again what follows the last bar line (or line start), carrying
    the meter, unit, filled time, tuplet and broken-rhythm state across; this keeps the cost per character
    at about one bar's length. :meth:`snapshot` copies a clock (sampling with bar retries rolls back to one).
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.bar_token = ""  # bar-line characters read since the last other character
        self.section_bars = 0
        self.pickup = 0
        self.in_header = True
        self.line = ""  # what has been read since the last bar line or line start
        self.blank = True  # the current line holds only spaces so far
        self.chars_in_line = 0
        self.field_line = False
        self.meter: Fraction | None = None
        self.unit: Fraction | None = None
        self.start: _LineStart | None = None
        self.filled = HEADER

    @property
    def state(self) -> tuple[int, int, int]:
        """The three clock features after the last character: (filled, pick-up, bars)."""
        return self.filled, self.pickup, min(self.section_bars, MAX_SECTION_BARS)

    def snapshot(self) -> BarClock:
        return copy.deepcopy(self)

    def feed(self, ch: str) -> tuple[int, int, int]:
        """Take one character; return the clock features after it: (filled, pick-up, bars)."""
        if ch == "\n":
            self._end_bar_token()
            self._end_line()
            return self.state
        self.line += ch
        self.blank = self.blank and ch.isspace()
        self.chars_in_line += 1
        if self.chars_in_line == 2 and FIELD_LINE_RE.match(self.line):
            self.field_line = True  # e.g. "M:3/4" in the body: the whole line is one field, read at its end
        if self.in_header or self.field_line:
            return self.state
        if ch in ":|]":
            self.bar_token += ch
        else:
            self._end_bar_token()
        self.filled, end, closed = self._read(self.line)
        if ch == "|":  # the bar is closed: later characters start reading from here
            self.start, self.line = end, ""
            if closed:
                if self.section_bars == 0 and end.meter is not None and closed < end.meter:
                    self.pickup = 1 + int(closed * PICKUP_STEPS / end.meter)
                self.section_bars += 1
        return self.state

    def _end_bar_token(self) -> None:
        """A bar line other than a plain ``|`` (``:|``, ``|:``, ``||``, ``|]``, ``::``) starts a new section."""
        token, self.bar_token = self.bar_token, ""
        if token and token != "|" and BAR_RE.fullmatch(token):
            self.section_bars, self.pickup = 0, 0

    def feed_text(self, text: str) -> np.ndarray:
        """Clock features after each character of ``text``, shape ``(len(text), 3)`` int64."""
        out = np.empty((len(text), len(SIZES)), dtype=np.int64)
        for i, ch in enumerate(text):
            out[i] = self.feed(ch)
        return out

    def _end_line(self) -> None:
        line, blank = self.line, self.blank
        self.line, self.blank, self.chars_in_line, self.field_line = "", True, 0, False
        if self.in_header:
            self._header_line(line)
        elif blank:  # a blank line ends the tune; the next one starts with its header
            self._reset()
        else:
            self.filled, self.start, _ = self._read(line)

    def _header_line(self, line: str) -> None:
        if line.startswith("%"):
            return
        m = FIELD_LINE_RE.match(line)
        try:
            if m and m.group(1) == "M":
                self.meter = parse_meter(m.group(2))
            elif m and m.group(1) == "L":
                self.unit = parse_unit(m.group(2))
        except AbcParseError:
            pass  # the validity checks report bad header values; the clock just keeps its default
        if m is not None and m.group(1) != "K":
            return
        if m is None and not line.strip():
            self._reset()
            return
        # K: ends the header (and music before any K: starts the body, as in parse.split_header)
        unit = self.unit or (Fraction(1, 16) if self.meter is not None and self.meter < Fraction(3, 4) else Fraction(1, 8))
        self.in_header = False
        self.start = _LineStart(self.meter, unit)
        self.filled = state_of(Fraction(0), self.meter)
        if m is None:
            self.filled, self.start, _ = self._read(line)

    def _read(self, line: str) -> tuple[int, _LineStart, Fraction | None]:
        """Read ``line`` from the current line start; return the filled state at its end, the next line start
        and the length of the last bar it closed (``None``: none, or an empty one)."""
        s = self.start
        assert s is not None
        tune = ParsedTune(meter=s.meter, unit=s.unit)
        r = Reader(tune)
        r.time, r.bar_start = s.filled, Fraction(0)
        r.tuplet_left, r.tuplet_factor, r.broken_next, r.last_advance = (
            s.tuplet_left, s.tuplet_factor, s.broken_next, s.last_advance)
        r.read_line(line, 0)
        filled = r.time - r.bar_start
        end = _LineStart(tune.meter, tune.unit, filled, r.tuplet_left, r.tuplet_factor, r.broken_next, r.last_advance)
        closed = tune.bars[-1].duration if tune.bars and tune.bars[-1].duration > 0 else None
        return state_of(filled, tune.meter), end, closed


def clock_states(text: str) -> np.ndarray:
    """Bar-clock features after each character of ``text`` (one tune or a stream of tunes separated by
    blank lines), shape ``(len(text), 3)`` int64: (filled, pick-up, bars), each below its :data:`SIZES` entry."""
    return BarClock().feed_text(text)
