"""The bar clock: states after each character, the header/tune boundaries, and agreement with the ABC reader."""

import re
from fractions import Fraction

import numpy as np
import pytest

from helpers.abc import corpus, metre
from helpers.abc.parse import parse_tune
from helpers.abc.vocab import join_tunes

H, S, FULL, OVER = metre.HEADER, metre.BAR_START, metre.FULL, metre.OVER
TUNE = "X:1\nT:t\nM:6/8\nL:1/8\nK:D\ndfa afd|g2 B3|c4 d3|\n"


def test_states_count_the_bar_character_by_character():
    states = metre.clock_states(TUNE)[:, 0]
    header = TUNE.index("K:D\n") + 4
    assert set(states[:header - 1]) == {H}  # every header character, the K: line's newline excluded
    assert states[header - 1] == S  # the music starts with an empty bar
    body = TUNE[header:]
    got = dict(zip(range(len(body)), states[header:]))
    eighth = metre.STEPS // 6  # 6/8 with L:1/8: one unit is 8 of the 48 steps
    assert [got[i] for i in range(7)] == [S + eighth, S + 2 * eighth, S + 3 * eighth, S + 3 * eighth,
                                          S + 4 * eighth, S + 5 * eighth, FULL]
    assert got[7] == S  # the bar line starts a new bar
    assert got[body.index("g2") + 1] == S + 2 * eighth  # the length digit counts as soon as it is read
    assert got[body.index("c4 d3") + 4] == OVER  # 4 + 3 units > 6
    assert states[-1] == S


def test_state_of_bins():
    assert metre.state_of(Fraction(0), None) == metre.FREE
    assert metre.state_of(Fraction(3, 4), Fraction(3, 4)) == FULL
    assert metre.state_of(Fraction(1), Fraction(3, 4)) == OVER
    assert metre.state_of(Fraction(3, 8), Fraction(3, 4)) == S + metre.STEPS // 2
    assert max(metre.state_of(Fraction(k, 97), Fraction(1)) for k in range(97)) < FULL


def test_blank_line_starts_the_next_tune_header_and_unit_defaults():
    other = "X:2\nT:u\nM:2/4\nK:G\nG2 A2|\n"  # no L: and M < 3/4: the unit is 1/16
    stream = join_tunes([TUNE, other])
    states = metre.clock_states(stream)[:, 0]
    start = stream.index("X:2")
    assert states[start - 1] == H and states[start] == H
    np.testing.assert_array_equal(states[start:start + len(other)], metre.clock_states(other)[:, 0])
    body = other.index("G2")
    assert states[start + body + 1] == S + metre.STEPS // 4  # 2 sixteenths of a 2/4 bar
    assert metre.clock_states("X:1\nT:f\nM:none\nL:1/8\nK:C\nCDE|\n")[-3, 0] == metre.FREE


def test_snapshots_roll_back_exactly():
    clock = metre.BarClock()
    clock.feed_text(TUNE[: TUNE.index("|") + 1])
    saved = clock.snapshot()
    clock.feed_text("abcdefg2|:")
    assert clock.state[0] == S and clock.state[2] == 2
    restored = saved.snapshot()
    rest = TUNE.index("|") + 1
    np.testing.assert_array_equal(restored.feed_text(TUNE[rest:]), metre.clock_states(TUNE)[rest:])


def test_sections_count_bars_and_remember_their_pickup():
    tune = "X:1\nT:p\nM:6/8\nL:1/8\nK:G\nA|BAG AGE|GED G2:|\n|:B2|c3 d3|e2 f|]\n"
    states = metre.clock_states(tune)
    at = lambda text: states[tune.index(text) + len(text) - 1]  # noqa: E731 - features after that text
    assert tuple(at("K:G\nA")) == (S + metre.STEPS // 6, 0, 0)  # the pick-up is not known until its bar ends
    assert tuple(at("A|")) == (S, 1 + metre.PICKUP_STEPS // 6, 1)  # one eighth of a 6/8 bar: pick-up state 3
    assert tuple(at("AGE|")) == (S, 1 + metre.PICKUP_STEPS // 6, 2)
    assert tuple(at("G2:|")) == (S, 1 + metre.PICKUP_STEPS // 6, 3)
    assert tuple(at(":|\n|:B")) == (S + metre.STEPS // 6, 0, 0)  # after :| and |: a new section starts
    assert tuple(at("B2|")) == (S, 1 + metre.PICKUP_STEPS // 3, 1)
    assert tuple(at("d3|")) == (S, 1 + metre.PICKUP_STEPS // 3, 2)
    assert tuple(at("c3 d3|e2 f")) == (S + metre.STEPS // 2, 1 + metre.PICKUP_STEPS // 3, 2)
    assert (states[:, 1] < metre.SIZES[1]).all() and (states[:, 2] < metre.SIZES[2]).all()
    long = "X:1\nT:l\nM:2/4\nL:1/8\nK:G\n" + "GABc|" * 40 + "\n"
    assert metre.clock_states(long)[-2, 2] == metre.MAX_SECTION_BARS


@pytest.mark.parametrize("first", [0, 100, 400])
def test_clock_agrees_with_the_reader_on_every_plain_bar_of_the_corpus(first):
    """At each plain ``|`` the state before it is the parsed bar's length (as abc2midi's checks read it)."""
    tunes = corpus.load_corpus(include_user_folder=False).tunes[first:first + 60]
    checked = 0
    for tune in tunes:
        states = metre.clock_states(tune)[:, 0]
        parsed = parse_tune(tune)
        body = tune.index("\nK:") + 1
        body = tune.index("\n", body) + 1
        field_lines = {i for m in re.finditer(r"(?m)^[A-Za-z]:.*$", tune) for i in range(m.start(), m.end())}
        plain = [i for i, ch in enumerate(tune) if i > body and ch == "|" and tune[i - 1] not in ":|]["
                 and tune[i + 1:i + 2] not in (":", "|", "]") and i not in field_lines]
        bars = [b for b in parsed.bars if b.closing == "|"]
        assert len(plain) == len(bars), tune
        for i, bar in zip(plain, bars):
            before = states[i - 1]
            assert before == metre.state_of(bar.duration, bar.expected), (tune, i)
            checked += 1
    assert checked > 500
