"""The ABC reader, the pure-Python checker, abc2midi's verdicts and the header/bar/key checks."""

from fractions import Fraction

import pytest

from helpers import runtime
from helpers.abc import corpus, parse, validity

HAS_ABC2MIDI = runtime.find_tool("abc2midi") is not None
needs_abc2midi = pytest.mark.skipif(not HAS_ABC2MIDI, reason="abc2midi not installed (apt-get install abcmidi)")

GOOD = "X:1\nT:Good\nM:6/8\nL:1/8\nK:D\nA|dfa afd|gbg fed|(3cde c BAG|[1 F3 D2:|[2 F3 D3|]"
SHORT_BAR = "X:1\nT:Short\nM:6/8\nL:1/8\nK:D\ndfa afd|gbg fe|fed cBA|d3 d3|]"
BROKEN = "X:1\nT:Broken\nM:6/8\nL:1/8\nK:D\ndfa a}d|gbg fed|d3 d3|]"


@pytest.fixture(scope="module")
def human_tunes():
    return corpus.load_corpus(include_user_folder=False).tunes[::20]


def test_key_signatures_and_meters():
    assert parse.key_signature("D Major") == {"F": 1, "C": 1}
    assert parse.key_signature("E Minor") == {"F": 1}
    assert parse.key_signature("Dm") == {"B": -1}
    assert parse.key_signature("D Mixolydian") == {"F": 1}
    assert parse.key_signature("none") == {}
    assert parse.parse_meter("C|") == 1 and parse.parse_meter("6/8") == Fraction(3, 4)
    with pytest.raises(parse.AbcParseError):
        parse.key_signature("Q major")
    with pytest.raises(parse.AbcParseError):
        parse.parse_meter("six-eight")


def test_modes_share_the_signature_of_their_relative_major():
    assert parse.key_signature("A Dorian") == parse.key_signature("G") == {"F": 1}
    assert parse.key_signature("Ador") == parse.key_signature("E Minor")


def test_durations_tuplets_broken_rhythm_chords_and_pitches():
    p = parse.parse_tune("X:1\nT:t\nM:2/4\nL:1/8\nK:G\n(3ABc d2|A>B [ce]2|F/G/ =F2 z|")
    assert [b.duration for b in p.bars] == [Fraction(1, 2)] * 3
    assert all(b.complete for b in p.bars)
    a, b = p.notes[4], p.notes[5]
    assert (a.duration, b.duration) == (Fraction(3, 16), Fraction(1, 16))
    assert [n.pitch for n in p.notes[:4]] == [69, 71, 72, 74]  # C = middle C (60), c an octave up
    chord = [n for n in p.notes if n.start == p.notes[6].start]
    assert sorted(n.pitch for n in chord) == [72, 76]
    f_sharp, natural_f = p.notes[8], p.notes[10]
    assert f_sharp.pitch == 66 and f_sharp.in_key
    assert natural_f.pitch == 65 and not natural_f.in_key


def test_ties_merge_notes_and_grace_notes_take_no_time():
    p = parse.parse_tune("X:1\nT:t\nM:2/4\nL:1/8\nK:C\nc2-c2|{g}A4|")
    assert [(n.pitch, n.duration) for n in p.notes] == [(72, Fraction(1, 2)), (69, Fraction(1, 2))]


def test_python_checker_finds_errors_and_short_bars(monkeypatch):
    monkeypatch.setenv(runtime.NO_TOOLS_ENV, "1")
    good, short, broken = (validity.judge(t) for t in (GOOD, SHORT_BAR, BROKEN))
    assert good.checker == "python" and good.clean and good.header_complete and good.in_key == 1.0
    assert short.syntax_ok and not short.clean and len(short.bar_warnings) == 1
    assert not broken.syntax_ok and "'}'" in broken.errors[0]
    assert not validity.judge("X:1\nT:empty\nM:2/4\nL:1/8\nK:D\n").clean


def test_header_completeness():
    assert parse.parse_tune(GOOD).header_complete
    assert not parse.parse_tune("X:1\nT:t\nK:D\nM:6/8\nL:1/8\nABc|").header_complete  # K: not last
    no_meter = parse.parse_tune("X:1\nT:t\nL:1/8\nK:D\nABc|")
    assert not no_meter.header_complete


def test_repeat_endings_after_a_closed_repeat_are_errors():
    bad = "X:1\nT:t\nM:2/4\nL:1/8\nK:D\nABcd|ABcd:|\nfefe|[1 dddd:|[2 dddd|]"
    fixed = bad.replace("\nfefe", "\n|:fefe")
    assert any("ending 1" in e for e in parse.parse_tune(bad).errors)
    assert not parse.parse_tune(fixed).errors


@needs_abc2midi
def test_abc2midi_verdicts_read_from_its_output():
    assert validity.judge(GOOD).checker == "abc2midi"
    errors, bars = validity.abc2midi_messages(SHORT_BAR)
    assert errors == [] and len(bars) == 1 and "time units" in bars[0]
    errors, _ = validity.abc2midi_messages(BROKEN)
    assert errors and errors[0].startswith("Error")
    assert not validity.judge(BROKEN).clean


@needs_abc2midi
def test_python_checker_agrees_with_abc2midi_on_human_tunes(human_tunes):
    with_tool = [validity.judge(t, use_abc2midi=True).clean for t in human_tunes]
    python = [validity.judge(t, use_abc2midi=False).clean for t in human_tunes]
    agreement = sum(a == b for a, b in zip(with_tool, python)) / len(human_tunes)
    assert agreement >= 0.95


@pytest.mark.parametrize("tools", ["0", "1"])
def test_human_tunes_are_mostly_clean_and_in_key(human_tunes, monkeypatch, tools):
    monkeypatch.setenv(runtime.NO_TOOLS_ENV, tools)
    if tools == "0" and not HAS_ABC2MIDI:
        pytest.skip("abc2midi not installed")
    summary = validity.summary(validity.judge_many(human_tunes))
    assert summary["tunes"] == len(human_tunes)
    assert summary["clean_rate"] > 0.8 and summary["in_key"] > 0.97 and summary["header_complete_rate"] == 1.0


def test_a_repeat_joins_the_last_bar_with_the_pick_up(monkeypatch):
    monkeypatch.setenv(runtime.NO_TOOLS_ENV, "1")
    head = "X:1\nT:t\nM:6/8\nL:1/8\nK:G\n"
    complemented = head + "D|GAB cdB|AGF G2:|"  # pick-up 1 + last bar 5 = one 6/8 bar
    full_last_bar = head + "D|GAB cdB|AGF G3:|"  # the pick-up is played alone on the repeat
    assert validity.judge(complemented).clean
    assert not validity.judge(full_last_bar).clean
    assert len(validity.judge(full_last_bar).bar_warnings) == 1


@needs_abc2midi
def test_abc2midi_also_flags_a_pick_up_left_alone_on_the_repeat():
    head = "X:1\nT:t\nM:6/8\nL:1/8\nK:G\n"
    assert validity.judge(head + "D|GAB cdB|AGF G2:|", use_abc2midi=True).clean
    assert not validity.judge(head + "D|GAB cdB|AGF G3:|", use_abc2midi=True).clean
