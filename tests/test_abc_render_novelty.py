"""Listening (ABC → MIDI → audio, with and without system tools), audio analysis, the browser widget, novelty."""

import numpy as np
import pytest

from helpers import runtime
from helpers.abc import novelty, render, widgets

TUNE = "X:1\nT:Test\nM:4/4\nL:1/8\nQ:1/4=120\nK:G\nGABc dBGB|cBcd e2dc|BGBd cAFA|G2B2 G4|]"
needs_abc2midi = pytest.mark.skipif(runtime.find_tool("abc2midi") is None, reason="abc2midi not installed")


def test_python_midi_has_the_written_notes(monkeypatch):
    monkeypatch.setenv(runtime.NO_TOOLS_ENV, "1")
    pm = render.tune_to_midi(TUNE)
    notes = pm.instruments[0].notes
    assert len(notes) == 26
    assert notes[0].pitch == 67 and notes[0].start == 0.0
    assert pm.get_end_time() == pytest.approx(8.0)  # 4 bars of 4/4 at 120 crotchets per minute
    assert pm.instruments[0].program == render.DEFAULT_PROGRAM


@needs_abc2midi
def test_abc2midi_midi_matches_the_python_reading():
    pm = render.tune_to_midi(TUNE, use_abc2midi=True)
    ours = render.tune_to_midi(TUNE, use_abc2midi=False)
    assert [n.pitch for n in pm.instruments[0].notes] == [n.pitch for n in ours.instruments[0].notes]


@pytest.mark.parametrize("renderer", ["sine", "tinysoundfont"])
def test_pure_python_renderers_give_mono_audio(monkeypatch, renderer):
    monkeypatch.setenv(runtime.NO_TOOLS_ENV, "1")
    if renderer not in render.available_renderers():
        pytest.skip(f"{renderer} unavailable")
    x, sr = render.tune_to_audio(TUNE, 16_000, renderer=renderer)
    assert sr == 16_000 and x.dtype == np.float32 and x.ndim == 1
    assert 7.5 * sr < len(x) < 10 * sr
    assert 0.5 < np.abs(x).max() <= 1.0
    assert render.available_renderers()[-1] == "sine" and "timidity" not in render.available_renderers()


@pytest.mark.parametrize("renderer", ["fluidsynth", "timidity"])
def test_system_renderers(renderer):
    if renderer not in render.available_renderers():
        pytest.skip(f"{renderer} not installed")
    x, sr = render.tune_to_audio(TUNE, 22_050, renderer=renderer)
    assert x.ndim == 1 and np.abs(x).max() > 0.5 and len(x) > 7 * sr


def test_unavailable_renderer_is_refused(monkeypatch):
    monkeypatch.setenv(runtime.NO_TOOLS_ENV, "1")
    with pytest.raises(render.RenderError, match="not available"):
        render.tune_to_audio(TUNE, renderer="timidity")
    with pytest.raises(ValueError):
        render.tune_to_audio(TUNE, renderer="piano-man")


def test_audio_analysis_finds_tempo_and_brightness(monkeypatch):
    monkeypatch.setenv(runtime.NO_TOOLS_ENV, "1")
    x, sr = render.tune_to_audio(TUNE, 22_050, renderer="sine")
    facts = render.analyse_audio(x, sr)
    assert facts["duration_s"] == pytest.approx(len(x) / sr)
    assert 100 < facts["tempo_bpm"] < 260 or 50 < facts["tempo_bpm"] < 70
    assert 200 < facts["spectral_centroid_hz"] < 2000  # a sine melody around G4..E5


def test_save_tune_writes_abc_midi_wav(tmp_path, monkeypatch):
    monkeypatch.setenv(runtime.NO_TOOLS_ENV, "1")
    paths = render.save_tune(TUNE, tmp_path / "tune", 16_000, renderer="sine")
    assert all(p.exists() and p.stat().st_size > 0 for p in paths.values())
    assert paths["abc"].read_text().startswith("X:1")


def test_tune_browser_shows_text_verdict_and_audio(monkeypatch):
    monkeypatch.setenv(runtime.NO_TOOLS_ENV, "1")
    broken = TUNE.replace("dBGB", "dB}B")
    box = widgets.tune_browser([TUNE, broken], renderer="sine", extra=[{"novelty": "new"}, {"novelty": "copy"}])
    picker, texts, roll, player = box.children
    assert roll.value[:4] == b"\x89PNG" and player.value[:4] == b"RIFF"
    assert "GABc" in texts.children[0].value and "novelty" in texts.children[1].value
    assert "✓</td></tr></table>" in texts.children[1].value or "clean</td><td>✓" in texts.children[1].value
    picker.value = 1
    assert "clean</td><td>✗" in texts.children[1].value
    fig = widgets.piano_roll(TUNE, title="t")
    assert fig.axes[0].get_xlabel() == "time (s)"


def test_novelty_spots_copies_and_new_tunes():
    train = [TUNE, TUNE.replace("GABc dBGB", "dedB AGFA").replace("Test", "Other")]
    index = novelty.NgramIndex(train, n=12)
    copy = index.novelty(TUNE.replace("T:Test", "T:Renamed"))
    assert copy.copies and copy.nearest == 0 and copy.copied_fraction == 1.0
    new = index.novelty("X:1\nT:New\nM:4/4\nL:1/8\nK:D\nfefd edcB|AFAd fafd|gfed cABc|d2f2 d4|]")
    assert not new.copies and new.copied_fraction == 0.0 and new.nearest is None
    half = TUNE.replace("cAFA|G2B2 G4", "fefd|edcB AFD2")
    mixed = index.novelty(half)
    assert 0 < mixed.copied_fraction < 1
    assert index.summary([TUNE, half])["copy_rate"] >= 0.5


def test_absurd_lengths_are_errors_and_audio_is_capped(monkeypatch):
    monkeypatch.setenv(runtime.NO_TOOLS_ENV, "1")
    crazy = "X:1\nT:c\nM:4/4\nL:1/8\nK:G\nA99999 Z99999999|]"
    from helpers.abc import parse

    assert len(parse.parse_tune(crazy).errors) == 2
    x, sr = render.tune_to_audio(crazy, 8_000, renderer="sine")
    assert len(x) <= (render.MAX_SECONDS + 2) * sr
