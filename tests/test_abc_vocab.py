"""Vocabulary, vectorisation and batches: the lab's checks (shapes, types, next-step relation) as tests."""

import numpy as np
import pytest

from helpers.abc.vocab import TUNE_SEPARATOR, Vocab, VocabError, contiguous_streams, get_batch, join_tunes

TUNES = ["X:1\nT:a\nK:D\nABc|", "X:1\nT:b\nK:G\ndef|"]


def test_vocab_round_trip_and_order():
    text = join_tunes(TUNES)
    vocab = Vocab.from_text(text)
    assert list(vocab.chars) == sorted(set(text))
    ids = vocab.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert vocab.decode(ids) == text
    assert Vocab.from_json(vocab.to_json()) == vocab


def test_unknown_characters_are_named():
    vocab = Vocab.from_text("abc")
    with pytest.raises(VocabError, match="'z'"):
        vocab.encode("abz")


def test_join_ends_every_tune_with_a_blank_line():
    text = join_tunes(TUNES)
    assert text.count(TUNE_SEPARATOR) == 2 and text.endswith(TUNE_SEPARATOR)


def test_batches_are_next_step_pairs():
    ids = np.arange(1000, dtype=np.int64)
    x, y = get_batch(ids, seq_length=100, batch_size=8, rng=np.random.default_rng(0))
    assert isinstance(x, np.ndarray) and isinstance(y, np.ndarray)
    assert x.shape == y.shape == (8, 100) and x.dtype == y.dtype == np.int64
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    np.testing.assert_array_equal(y, x + 1)  # the stream counts up, so the target is the next id
    x2, _ = get_batch(ids, 100, 8, np.random.default_rng(0))
    np.testing.assert_array_equal(x, x2)
    with pytest.raises(ValueError, match="too few"):
        get_batch(ids[:50], 100, 8, np.random.default_rng(0))


def test_contiguous_streams_cover_the_stream_once():
    ids = np.arange(101, dtype=np.int64)
    x, y = contiguous_streams(ids, 4)
    assert x.shape == (4, 25)
    np.testing.assert_array_equal(x.reshape(-1), ids[:100])
    np.testing.assert_array_equal(y, x + 1)
