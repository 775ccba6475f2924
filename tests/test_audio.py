import warnings

import numpy as np
import pytest
import soundfile as sf

from helpers import audio


@pytest.mark.parametrize("subtype, tol", [("PCM_16", 1e-4), ("PCM_24", 1e-6), ("PCM_32", 1e-8), ("FLOAT", 0)])
def test_load_every_wav_subtype_as_float32_mono(tmp_path, sine, subtype, tol):
    path = tmp_path / f"{subtype}.wav"
    sf.write(path, sine, 48_000, subtype=subtype)
    x, sr = audio.load_wav(path)
    assert sr == 48_000 and x.dtype == np.float32 and x.shape == sine.shape
    assert np.max(np.abs(x - sine)) <= tol + 1e-9


def test_save_then_load_round_trip_is_exact_in_float(tmp_path, sine):
    path = audio.save_wav(tmp_path / "a.wav", sine, 48_000)
    x, _ = audio.load_wav(path)
    np.testing.assert_array_equal(x, sine)
    assert sf.info(path).subtype == "FLOAT"


def test_save_is_atomic_and_keeps_old_file_on_failure(tmp_path, sine):
    path = audio.save_wav(tmp_path / "a.wav", sine, 48_000)
    bad = sine.copy()
    bad[10] = np.nan
    with pytest.raises(audio.NonFiniteAudioError):
        audio.save_wav(path, bad, 48_000)
    with pytest.raises(ValueError, match="shape"):
        audio.save_wav(path, np.zeros((2, 2, 2)), 48_000)
    x, _ = audio.load_wav(path)
    np.testing.assert_array_equal(x, sine)
    assert [p.name for p in tmp_path.iterdir()] == ["a.wav"]  # no temporary files left behind


def test_missing_file(tmp_path):
    with pytest.raises(audio.AudioFileNotFoundError, match="no such file"):
        audio.load_wav(tmp_path / "nope.wav")


def test_not_audio(tmp_path):
    p = tmp_path / "notes.wav"
    p.write_text("this is not a wav file")
    with pytest.raises(audio.NotAudioError, match="not a readable audio file"):
        audio.load_wav(p)
    with pytest.raises(audio.NotAudioError, match="folder"):
        audio.load_wav(tmp_path)


def test_stereo_is_an_error_unless_downmix_asked(tmp_path, sine):
    p = tmp_path / "st.wav"
    sf.write(p, np.stack([sine, 0.5 * sine], axis=1), 48_000, subtype="FLOAT")
    with pytest.raises(audio.StereoAudioError, match="2 channels"):
        audio.load_wav(p)
    mixed, _ = audio.load_wav(p, mono="mix")
    np.testing.assert_allclose(mixed, 0.75 * sine, atol=1e-7)
    left, _ = audio.load_wav(p, mono="left")
    np.testing.assert_array_equal(left, sine)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_errors(tmp_path, sine, value):
    x = sine.copy()
    x[100] = value
    p = tmp_path / "bad.wav"
    sf.write(p, x, 48_000, subtype="FLOAT")
    with pytest.raises(audio.NonFiniteAudioError, match="first at index 100"):
        audio.load_wav(p)


def test_silence_is_an_error_unless_allowed(tmp_path):
    p = tmp_path / "silent.wav"
    sf.write(p, np.zeros(4800, dtype=np.float32), 48_000)
    with pytest.raises(audio.SilentAudioError, match="silent"):
        audio.load_wav(p)
    x, _ = audio.load_wav(p, allow_silent=True)
    assert audio.peak(x) == 0


def test_clipping_warns(tmp_path, sine):
    p = tmp_path / "clip.wav"
    sf.write(p, np.clip(sine * 4, -1, 1), 48_000, subtype="PCM_16")
    with pytest.warns(audio.ClippingWarning, match="clipped"):
        audio.load_wav(p)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        audio.load_wav(audio.save_wav(tmp_path / "ok.wav", sine, 48_000))  # no warning for a clean file


def test_wrong_rate_errors_or_resamples(tmp_path, sine):
    p = tmp_path / "44k.wav"
    t = np.arange(44_100) / 44_100
    sf.write(p, (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), 44_100, subtype="FLOAT")
    with pytest.raises(audio.SampleRateError, match="44100 Hz but 48000 Hz"):
        audio.load_wav(p, 48_000, resample_to_rate=False)
    with pytest.warns(audio.ResampleWarning):
        x, sr = audio.load_wav(p, 48_000)
    assert sr == 48_000 and abs(len(x) - 48_000) <= 1
    # A good resampler keeps the tone's frequency and level.
    spectrum = np.abs(np.fft.rfft(x[4000:44000] * np.hanning(40000)))
    assert abs(np.argmax(spectrum) * 48_000 / 40_000 - 1000) < 2
    assert abs(audio.rms_dbfs(x[1000:-1000]) - audio.rms_dbfs(0.5 * np.sin(2 * np.pi * 1000 * t))) < 0.05


def test_levels():
    x = np.full(100, 0.5, dtype=np.float32)
    assert audio.peak_dbfs(x) == pytest.approx(-6.0206, abs=1e-3)
    assert audio.rms_dbfs(x) == pytest.approx(-6.0206, abs=1e-3)
    s = np.sin(2 * np.pi * np.arange(48_000) / 48)
    assert audio.rms_dbfs(s) == pytest.approx(-3.0103, abs=1e-3)
    assert audio.peak_dbfs(np.zeros(3)) == float("-inf")
    assert audio.db_to_gain(audio.gain_to_db(0.3)) == pytest.approx(0.3)
    assert audio.peak_dbfs(audio.normalize_peak(s, -12.0)) == pytest.approx(-12.0)


def test_clipped_samples_counts_flat_runs_only():
    x = np.zeros(20)
    x[3] = 1.0  # a single full-scale peak is not clipping
    x[10:14] = 1.0  # a flat top of 4 samples is
    assert audio.clipped_samples(x) == 4
