"""Loading a user's pair: every bad input gets its own clear error."""

import numpy as np
import pytest

from helpers.audio import NonFiniteAudioError, SilentAudioError, StereoAudioError, save_wav
from helpers.capture import pair as cp

SR = 48_000


@pytest.fixture
def good(rng):
    n = 3 * SR
    x = (0.3 * rng.standard_normal(n)).clip(-0.9, 0.9).astype(np.float32)
    y = np.tanh(2 * x).astype(np.float32) * 0.5
    return x, y


def _write(tmp_path, x, y, sr_x=SR, sr_y=SR):
    return save_wav(tmp_path / "input.wav", x, sr_x), save_wav(tmp_path / "output.wav", y, sr_y)


def test_good_pair_loads(tmp_path, good):
    p = cp.load_pair(*_write(tmp_path, *good), receptive_field=1000)
    assert p.sample_rate == SR and p.x.shape == p.y.shape == (3 * SR,) and p.x.dtype == np.float32
    np.testing.assert_allclose(p.y, good[1], atol=1e-7)
    assert p.report()["samples"] == 3 * SR and not p.notes


def test_sample_rate_mismatch_offers_resampling(tmp_path, good):
    x, y = good
    files = _write(tmp_path, x, y[: int(len(y) * 44_100 / SR)], SR, 44_100)
    with pytest.raises(cp.PairSampleRateError, match=r"44100 Hz.*resample_output=True"):
        cp.load_pair(*files)
    p = cp.load_pair(*files, resample_output=True, on_length_mismatch="pad", receptive_field=1000)
    assert p.sample_rate == SR and len(p.y) == len(p.x)
    assert any("resampled" in n for n in p.notes)


def test_length_mismatch_says_both_lengths_and_the_fix(good):
    x, y = good
    with pytest.raises(cp.PairLengthError, match=rf"{len(x)} samples .* {len(x) - 500} samples.*on_length_mismatch"):
        cp.validate_pair(x, y[:-500], SR)
    trimmed = cp.validate_pair(x, y[:-500], SR, on_length_mismatch="trim", receptive_field=1000)
    assert len(trimmed.x) == len(trimmed.y) == len(x) - 500
    padded = cp.validate_pair(x, y[:-500], SR, on_length_mismatch="pad", receptive_field=1000)
    assert len(padded.y) == len(x) and np.all(padded.y[-500:] == 0)


def test_stereo_file_is_refused(tmp_path, good):
    x, y = good
    files = _write(tmp_path, x, np.stack([y, y], axis=1))
    with pytest.raises(StereoAudioError, match="mono"):
        cp.load_pair(*files)
    with pytest.raises(StereoAudioError):
        cp.validate_pair(x, np.stack([y, y], axis=1), SR)


def test_silent_output_is_refused(good):
    x, _ = good
    with pytest.raises(SilentAudioError, match="silent"):
        cp.validate_pair(x, np.zeros_like(x), SR)


def test_dc_offset_is_refused_or_removed(good):
    x, y = good
    with pytest.raises(cp.DCOffsetError, match=r"output: DC offset \+0\.0\d+.*remove_dc=True"):
        cp.validate_pair(x, y + 0.05, SR)
    fixed = cp.validate_pair(x, y + 0.05, SR, remove_dc=True, receptive_field=1000)
    assert abs(float(np.mean(fixed.y))) < 1e-4 and any("DC" in n for n in fixed.notes)


def test_clipping_is_refused_unless_allowed(good):
    x, y = good
    hot = np.clip(y * 10, -1, 1).astype(np.float32)
    with pytest.raises(cp.ClippedRecordingError, match="interface input gain"):
        cp.validate_pair(x, hot, SR)
    with pytest.warns(UserWarning, match="clipped"):
        cp.validate_pair(x, hot, SR, allow_clipping=True, receptive_field=1000)


def test_nan_is_refused(tmp_path, good):
    x, y = good
    bad = y.copy()
    bad[1234] = np.nan
    with pytest.raises(NonFiniteAudioError, match="index 1234"):
        cp.validate_pair(x, bad, SR)
    (tmp_path / "o.wav").write_bytes(b"")  # not audio at all
    with pytest.raises(Exception, match=r"not a readable audio file|holds no samples"):
        cp.load_pair(save_wav(tmp_path / "i.wav", x, SR), tmp_path / "o.wav")


def test_too_short_for_receptive_field_plus_validation(good):
    x, y = good
    n = 2 * 4093 + 2 * SR - 1
    with pytest.raises(cp.TooShortError, match=r"at least \d+ are needed.*receptive field 4093"):
        cp.validate_pair(x[:n], y[:n], SR)
    cp.validate_pair(x[: n + 1], y[: n + 1], SR)  # one more sample is enough
