"""Reamp signal, layout and demo DI guitar (both renderers)."""

import itertools
import json

import numpy as np
import pytest

from helpers.audio import load_wav, peak_dbfs
from helpers.capture import guitar, reamp


@pytest.fixture(scope="module")
def quick_signal():
    return reamp.make_reamp_signal(quick=True, seed=0)


def test_layout_is_contiguous_and_covers_the_signal(quick_signal):
    sections = quick_signal.layout.sections
    assert sections[0].start == 0 and sections[-1].end == len(quick_signal.audio) == quick_signal.layout.length
    for a, b in itertools.pairwise(sections):
        assert a.end == b.start and a.length > 0
    names = [s.name for s in sections]
    for required in ("blips", "validation_a", "preamble", "sweeps", "noise_bursts", "guitar", "test_phrases",
                     "validation_b"):
        assert required in names
    assert {s.role for s in sections} <= set(reamp.ROLES)
    assert 12 <= len(quick_signal.audio) / 48_000 <= 22  # quick: about 15-20 s


def test_signal_levels_and_dtype(quick_signal):
    x = quick_signal.audio
    assert x.dtype == np.float32 and x.ndim == 1 and np.isfinite(x).all()
    assert peak_dbfs(x) <= -0.9  # headroom: nothing at full scale
    gap = quick_signal.layout.section("gap_1")
    assert np.all(x[gap.start:gap.end] == 0)


def test_validation_segment_is_repeated_exactly(quick_signal):
    a = quick_signal.layout.section("validation_a")
    b = quick_signal.layout.section("validation_b")
    assert a.length == b.length
    np.testing.assert_array_equal(quick_signal.audio[a.start:a.end], quick_signal.audio[b.start:b.end])
    test = quick_signal.layout.section("test_phrases")
    assert not np.allclose(quick_signal.audio[test.start:test.start + a.length][:1000], quick_signal.audio[a.start:a.start + 1000])


def test_blips_are_isolated_impulses_at_the_written_positions(quick_signal):
    x = quick_signal.audio
    blips = quick_signal.layout.blips
    section = quick_signal.layout.section("blips")
    assert len(blips) >= 4
    nz = np.flatnonzero(x[section.start:section.end]) + section.start
    assert list(nz) == blips
    assert len(set(np.diff(blips))) == len(blips) - 1  # irregular spacing


def test_same_seed_same_signal_other_seed_differs():
    a = reamp.make_reamp_signal(quick=True, seed=3)
    b = reamp.make_reamp_signal(quick=True, seed=3)
    c = reamp.make_reamp_signal(quick=True, seed=4)
    np.testing.assert_array_equal(a.audio, b.audio)
    assert a.layout.to_dict() == b.layout.to_dict()
    assert len(c.audio) != len(a.audio) or not np.array_equal(a.audio, c.audio)


def test_44k1_on_request_and_bad_rate():
    s = reamp.make_reamp_signal(44_100, quick=True)
    assert s.sample_rate == 44_100
    assert abs(len(s.audio) / 44_100 - reamp.make_reamp_signal(quick=True).audio.size / 48_000) < 0.2
    with pytest.raises(ValueError, match="44100"):
        reamp.make_reamp_signal(22_050, quick=True)


def test_save_reamp_writes_wav_and_layout(tmp_path, quick_signal):
    wav, layout_path = reamp.save_reamp(quick_signal, tmp_path)
    x, sr = load_wav(wav)
    np.testing.assert_array_equal(x, quick_signal.audio)
    assert sr == 48_000
    layout = reamp.load_layout(layout_path)
    assert layout.to_dict() == quick_signal.layout.to_dict()
    assert json.loads(layout_path.read_text())["sections"][0]["name"] == "blips"


def _fundamental(y, sr):
    seg = y[int(0.1 * sr):int(0.1 * sr) + 16384] * np.hanning(16384)
    spec = np.abs(np.fft.rfft(seg, 8 * 16384))
    freqs = np.fft.rfftfreq(8 * 16384, 1 / sr)
    return spec, freqs


@pytest.mark.parametrize("backend", ["soundfont", "karplus_strong"])
def test_renderers_play_the_right_pitch(backend):
    if backend == "soundfont" and not guitar.soundfont_available():
        pytest.skip("tinysoundfont or the SoundFont is not installed")
    y, used = guitar.render([guitar.Note(57, 0.0, 0.8, 100)], 1.0, 48_000, backend=backend)
    assert used == backend and y.dtype == np.float32 and peak_dbfs(y) == pytest.approx(-6.0, abs=0.01)
    spec, freqs = _fundamental(y, 48_000)
    band = (freqs > 180) & (freqs < 260)
    assert abs(freqs[band][np.argmax(spec[band])] - 220.0) < 2.0


def test_no_system_tools_forces_the_karplus_strong_fallback(monkeypatch):
    monkeypatch.setenv("NAL_NO_SYSTEM_TOOLS", "1")
    assert guitar.choose_backend("auto") == "karplus_strong"
    take = guitar.demo_guitar(3.0, 48_000, seed=1)
    assert take.backend == "karplus_strong" and np.isfinite(take.audio).all() and take.audio.any()
    s = reamp.make_reamp_signal(quick=True, seed=0)
    assert s.layout.backend == "karplus_strong"


def test_demo_guitar_covers_every_phrase_kind_with_varied_velocities():
    notes, phrases = guitar.compose(30.0, seed=0)
    assert {k for k, _, _ in phrases} == set(guitar.PHRASE_KINDS)
    assert len({n.velocity for n in notes}) > 20 and any(n.muted for n in notes)
    pitches = [n.pitch for n in notes]
    assert min(pitches) <= 45 and max(pitches) >= 70  # several registers
    assert all(0 <= n.start < n.end <= 30.0 for n in notes)
    take = guitar.demo_guitar(4.0, 48_000, seed=0, backend="karplus_strong")
    again = guitar.demo_guitar(4.0, 48_000, seed=0, backend="karplus_strong")
    np.testing.assert_array_equal(take.audio, again.audio)
    with pytest.raises(ValueError, match="backend"):
        guitar.demo_guitar(1.0, backend="fluid")
