"""The graded checks of notebooks 06 and 07: the references pass, the stub says "not written yet", a student's
error shows its line, and each typical mistake (written here by hand, as a student would) gets its own hint."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from torch import nn

from helpers.abc import sampling, vocab
from helpers.checks import abc as checks


@pytest.fixture(scope="module", autouse=True)
def warm_torch():
    """The first optimiser step imports torch._dynamo (seconds); pay it once, before the timed tests."""
    model = nn.Linear(2, 1)
    torch.optim.SGD(model.parameters(), lr=0.1).step()


def stub(*args):
    raise NotImplementedError()


def assert_hint(result, text):
    assert not result, result
    assert text in result.message, result.message


# ------------------------------------------------------------------------------------------------- vectorize
def good_vectorize(text, chars):
    table = {c: i for i, c in enumerate(chars)}
    return np.array([table[c] for c in text], dtype=np.int64)


def test_vectorize_reference_and_stub():
    assert checks.check_vectorize(good_vectorize)
    assert checks.check_vectorize(lambda text, chars: vocab.Vocab(tuple(chars)).encode(text))
    assert "not written yet" in checks.check_vectorize(stub).message


def test_vectorize_error_shows_the_line():
    def broken(text, chars):
        table = {c: i for i, c in enumerate(chars)}
        return np.array([table[c + "!"] for c in text], dtype=np.int64)

    result = checks.check_vectorize(broken)
    assert not result and "KeyError" in result.message and "line" in result.message


def test_vectorize_float_ids():
    def wrong(text, chars):
        ids = np.zeros(len(text))
        for i, c in enumerate(text):
            ids[i] = chars.index(c)
        return ids

    assert_hint(checks.check_vectorize(wrong), "the ids are floats")


def test_vectorize_empty_text_gives_floats():
    def wrong(text, chars):
        table = {c: i for i, c in enumerate(chars)}
        return np.array([table[c] for c in text])

    assert_hint(checks.check_vectorize(wrong), "np.array([]) is float64")


def test_vectorize_returns_a_list():
    assert_hint(checks.check_vectorize(lambda text, chars: [chars.index(c) for c in text]), "returned a Python list")


def test_vectorize_own_vocabulary():
    def wrong(text, chars):
        table = {c: i for i, c in enumerate(sorted(set(text)))}
        return np.array([table[c] for c in text], dtype=np.int64)

    assert_hint(checks.check_vectorize(wrong), "this text's own characters")


def test_vectorize_one_based():
    def wrong(text, chars):
        return np.array([chars.index(c) + 1 for c in text], dtype=np.int64)

    assert_hint(checks.check_vectorize(wrong), "the ids start at 1")


def test_vectorize_character_codes():
    assert_hint(checks.check_vectorize(lambda text, chars: np.array([ord(c) for c in text], dtype=np.int64)),
                "character codes (ord)")


# ------------------------------------------------------------------------------------------------- to_text
def test_to_text_reference_and_stub():
    assert checks.check_to_text(lambda ids, chars: "".join(chars[i] for i in ids))
    assert "not written yet" in checks.check_to_text(stub).message


def test_to_text_spaces():
    assert_hint(checks.check_to_text(lambda ids, chars: " ".join(chars[i] for i in ids)), "joined with spaces")


def test_to_text_list():
    assert_hint(checks.check_to_text(lambda ids, chars: [chars[i] for i in ids]), "returned a list of characters")


def test_to_text_off_by_one():
    assert_hint(checks.check_to_text(lambda ids, chars: "".join(chars[i - 1] for i in ids)), "one place off")


def test_to_text_chr():
    assert_hint(checks.check_to_text(lambda ids, chars: "".join(chr(i) for i in ids)), "chr(i)")


# ------------------------------------------------------------------------------------------------- get_batch
def good_get_batch(ids, seq_length, batch_size, rng):
    starts = rng.integers(0, len(ids) - seq_length, size=batch_size)
    x = np.stack([ids[s: s + seq_length] for s in starts])
    y = np.stack([ids[s + 1: s + seq_length + 1] for s in starts])
    return x, y


def test_get_batch_reference_student_and_lab_solution_pass():
    result = checks.check_get_batch(vocab.get_batch)
    assert result and "MIT lab" in result.message and "[PASS]" in result.message
    assert checks.check_get_batch(good_get_batch)

    def lab_solution(ids, seq_length, batch_size, rng):  # the MIT lab's solution, with np.random
        n = ids.shape[0] - 1
        idx = np.random.choice(n - seq_length, batch_size)
        x = [ids[i: i + seq_length] for i in idx]
        y = [ids[i + 1: i + seq_length + 1] for i in idx]
        return np.reshape(x, [batch_size, seq_length]), np.reshape(y, [batch_size, seq_length])

    assert checks.check_get_batch(lab_solution)


def test_get_batch_stub_and_error():
    assert "not written yet" in checks.check_get_batch(stub).message

    def broken(ids, seq_length, batch_size, rng):
        return ids[seq_length:batch_size] / undefined_name  # noqa: F821

    result = checks.check_get_batch(broken)
    assert not result and "NameError" in result.message and "line" in result.message


def test_mit_checks_are_the_labs_own_and_do_not_import_tensorflow():
    tests, source = checks.mit_batch_tests()
    assert source == "mitdeeplearning/lab1.py"
    assert tests["test_batch_func_types"].__code__.co_filename.endswith("mitdeeplearning/lab1.py")
    assert "tensorflow" not in sys.modules and "mitdeeplearning" not in sys.modules
    ok, lines, _ = checks._run_mit_batch_tests(lambda ids, n, b, rng: (ids[:b * n].reshape(b, n),) * 2)
    assert not ok and lines[2].startswith("[FAIL] test_batch_func_next_step")


def test_get_batch_targets_not_shifted():
    def wrong(ids, seq_length, batch_size, rng):
        starts = rng.integers(0, len(ids) - seq_length, size=batch_size)
        x = np.stack([ids[s: s + seq_length] for s in starts])
        return x, x

    result = checks.check_get_batch(wrong)
    assert_hint(result, "the targets are the inputs")
    assert "test_batch_func_next_step fails too" in result.message


def test_get_batch_shifted_the_wrong_way():
    def wrong(ids, seq_length, batch_size, rng):
        starts = rng.integers(1, len(ids) - seq_length, size=batch_size)
        x = np.stack([ids[s: s + seq_length] for s in starts])
        y = np.stack([ids[s - 1: s + seq_length - 1] for s in starts])
        return x, y

    assert_hint(checks.check_get_batch(wrong), "the shift goes the wrong way")


def test_get_batch_past_the_end():
    def wrong(ids, seq_length, batch_size, rng):
        starts = rng.integers(0, len(ids) - seq_length + 1, size=batch_size)
        idx = starts[:, None] + np.arange(seq_length)
        return ids[idx], ids[idx + 1]

    assert_hint(checks.check_get_batch(wrong), "windows run past the end")


def test_get_batch_past_the_end_with_slices():
    def wrong(ids, seq_length, batch_size, rng):
        starts = rng.integers(0, len(ids) - seq_length + 1, size=batch_size)
        return (np.array([ids[s: s + seq_length] for s in starts]),
                np.array([ids[s + 1: s + seq_length + 1] for s in starts]))

    assert_hint(checks.check_get_batch(wrong), "windows run past the end")


def test_get_batch_float_ids():
    def wrong(ids, seq_length, batch_size, rng):
        x, y = np.zeros((batch_size, seq_length)), np.zeros((batch_size, seq_length))
        for b, s in enumerate(rng.integers(0, len(ids) - seq_length, size=batch_size)):
            x[b] = ids[s: s + seq_length]
            y[b] = ids[s + 1: s + seq_length + 1]
        return x, y

    assert_hint(checks.check_get_batch(wrong), "the ids became floats")


def test_get_batch_axes_swapped():
    def wrong(ids, seq_length, batch_size, rng):
        starts = rng.integers(0, len(ids) - seq_length, size=batch_size)
        idx = np.arange(seq_length)[:, None] + starts[None, :]  # (seq_length, batch_size)
        return ids[idx], ids[idx + 1]

    assert_hint(checks.check_get_batch(wrong), "batch and sequence axes are swapped")


def test_get_batch_tensors():
    def wrong(ids, seq_length, batch_size, rng):
        x, y = good_get_batch(ids, seq_length, batch_size, rng)
        return torch.tensor(x), torch.tensor(y)

    assert_hint(checks.check_get_batch(wrong), "returned torch tensors")


# ------------------------------------------------------------------------------------------------- contiguous_streams
def test_contiguous_streams_reference_stub_and_mistakes():
    def good(ids, n):
        length = (len(ids) - 1) // n
        return ids[: n * length].reshape(n, length), ids[1: n * length + 1].reshape(n, length)

    assert checks.check_contiguous_streams(good)
    assert "not written yet" in checks.check_contiguous_streams(stub).message

    def same(ids, n):
        length = (len(ids) - 1) // n
        x = ids[: n * length].reshape(n, length)
        return x, x

    assert_hint(checks.check_contiguous_streams(same), "y is x")

    def interleaved(ids, n):
        length = (len(ids) - 1) // n
        return ids[: n * length].reshape(length, n).T, ids[1: n * length + 1].reshape(length, n).T

    assert_hint(checks.check_contiguous_streams(interleaved), "interleave")


# ------------------------------------------------------------------------------------------------- CharRNN
class GoodRNN(nn.Module):
    def __init__(self, vocab_size, embedding_dim=32, hidden_size=128):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, state=None):
        out, state = self.lstm(self.embedding(x), state)
        return self.head(out), state


def test_char_lstm_reference_stub_and_error():
    assert checks.check_char_lstm(GoodRNN)

    class Stub(nn.Module):
        def __init__(self, vocab_size, embedding_dim=32, hidden_size=128):
            super().__init__()
            raise NotImplementedError()

    assert "not written yet" in checks.check_char_lstm(Stub).message

    class Broken(GoodRNN):
        def forward(self, x, state=None):
            out, state = self.lstm(self.embedding(x), state)
            return self.head(out.reshape(-1)), state

    result = checks.check_char_lstm(Broken)
    assert not result and "RuntimeError" in result.message and "line" in result.message


def test_char_lstm_wrong_layer_names():
    class Renamed(GoodRNN):
        def __init__(self, vocab_size, embedding_dim=32, hidden_size=128):
            nn.Module.__init__(self)
            self.embedding = nn.Embedding(vocab_size, embedding_dim)
            self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True)
            self.dense = nn.Linear(hidden_size, vocab_size)
            self.head = self.dense

    result = checks.check_char_lstm(Renamed)
    assert_hint(result, "self.embedding, self.lstm and self.head")


def test_char_lstm_hidden_instead_of_logits():
    class Wrong(GoodRNN):
        def forward(self, x, state=None):
            return self.lstm(self.embedding(x), state)

    assert_hint(checks.check_char_lstm(Wrong), "hidden outputs, not logits")


def test_char_lstm_state_not_passed():
    class Wrong(GoodRNN):
        def forward(self, x, state=None):
            out, new_state = self.lstm(self.embedding(x))
            return self.head(out), new_state

    result = checks.check_char_lstm(Wrong)
    assert_hint(result, "the state is not passed on")
    assert "two calls" in result.message


def test_char_lstm_batch_first_missing():
    class Wrong(GoodRNN):
        def __init__(self, vocab_size, embedding_dim=32, hidden_size=128):
            super().__init__(vocab_size, embedding_dim, hidden_size)
            self.lstm = nn.LSTM(embedding_dim, hidden_size)

    assert_hint(checks.check_char_lstm(Wrong), "batch_first=True")


def test_char_lstm_softmax():
    class Wrong(GoodRNN):
        def forward(self, x, state=None):
            out, state = self.lstm(self.embedding(x), state)
            return torch.softmax(self.head(out), dim=-1), state

    assert_hint(checks.check_char_lstm(Wrong), "returned probabilities")


def test_char_lstm_last_step_only():
    class Wrong(GoodRNN):
        def forward(self, x, state=None):
            out, state = self.lstm(self.embedding(x), state)
            return self.head(out[:, -1]), state

    assert_hint(checks.check_char_lstm(Wrong), "last step only")


# ------------------------------------------------------------------------------------------------- train_step
def flat_loss(model, x, y, **kw):
    logits, _ = model(x)
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), **kw)


def test_train_step_reference_stub_and_error():
    def good(model, optimizer, x, y, clip):
        loss = flat_loss(model, x, y)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        return loss.item()

    assert checks.check_train_step(good)
    assert checks.check_train_step(checks.reference_train_step)
    assert "not written yet" in checks.check_train_step(stub).message

    def broken(model, optimizer, x, y, clip):
        logits, _ = model(x)
        return nn.functional.cross_entropy(logits, y).item()  # (batch, seq, vocab) read as (N, C, d)

    result = checks.check_train_step(broken)
    assert not result and "line" in result.message


def test_train_step_no_zero_grad():
    def wrong(model, optimizer, x, y, clip):
        loss = flat_loss(model, x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        return loss.item()

    assert_hint(checks.check_train_step(wrong), "no zero_grad")


def test_train_step_no_clipping():
    def wrong(model, optimizer, x, y, clip):
        loss = flat_loss(model, x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    assert_hint(checks.check_train_step(wrong), "not clipped")


def test_train_step_step_before_backward():
    def wrong(model, optimizer, x, y, clip):
        optimizer.zero_grad()
        loss = flat_loss(model, x, y)
        optimizer.step()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        return loss.item()

    assert_hint(checks.check_train_step(wrong), "zero_grad → loss.backward() → clip → optimizer.step()")


def test_train_step_last_position_only():
    def wrong(model, optimizer, x, y, clip):
        logits, _ = model(x)
        loss = nn.functional.cross_entropy(logits[:, -1, :], y[:, -1])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        return loss.item()

    assert_hint(checks.check_train_step(wrong), "last position only")


def test_train_step_summed_loss():
    def wrong(model, optimizer, x, y, clip):
        loss = flat_loss(model, x, y, reduction="sum")
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        return loss.item()

    assert_hint(checks.check_train_step(wrong), "summed over positions")


# ------------------------------------------------------------------------------------------------- top_p_filter
def good_top_p(probs, p):
    sorted_p, order = torch.sort(probs, dim=-1, descending=True)
    before = torch.cumsum(sorted_p, dim=-1) - sorted_p
    keep = torch.zeros_like(probs, dtype=torch.bool).scatter(-1, order, before < p)
    kept = probs * keep
    return kept / kept.sum(-1, keepdim=True)


def test_top_p_reference_stub_and_error():
    assert checks.check_top_p_filter(good_top_p)
    assert checks.check_top_p_filter(lambda probs, p: sampling.filter_logits(torch.log(probs), top_p=p))
    assert "not written yet" in checks.check_top_p_filter(stub).message

    def broken(probs, p):
        return torch.sort(probs, dim=2)

    result = checks.check_top_p_filter(broken)
    assert not result and "IndexError" in result.message and "line" in result.message


def test_top_p_one_too_few():
    def wrong(probs, p):
        sorted_p, order = torch.sort(probs, dim=-1, descending=True)
        keep_sorted = torch.cumsum(sorted_p, dim=-1) < p  # stops before reaching p
        kept = probs * torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
        return kept / kept.sum(-1, keepdim=True)

    assert_hint(checks.check_top_p_filter(wrong), "one token too few")


def test_top_p_one_too_many():
    def wrong(probs, p):
        sorted_p, order = torch.sort(probs, dim=-1, descending=True)
        n = ((torch.cumsum(sorted_p, -1) - sorted_p) < p).sum(-1, keepdim=True) + 1
        keep_sorted = torch.arange(probs.shape[-1]) < n
        kept = probs * torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
        return kept / kept.sum(-1, keepdim=True)

    assert_hint(checks.check_top_p_filter(wrong), "one token too many")


def test_top_p_not_renormalised():
    def wrong(probs, p):
        sorted_p, order = torch.sort(probs, dim=-1, descending=True)
        before = torch.cumsum(sorted_p, dim=-1) - sorted_p
        return probs * torch.zeros_like(probs, dtype=torch.bool).scatter(-1, order, before < p)

    assert_hint(checks.check_top_p_filter(wrong), "not renormalised")


def test_top_p_sorted_ascending():
    def wrong(probs, p):
        sorted_p, order = torch.sort(probs, dim=-1)
        before = torch.cumsum(sorted_p, dim=-1) - sorted_p
        kept = probs * torch.zeros_like(probs, dtype=torch.bool).scatter(-1, order, before < p)
        return kept / kept.sum(-1, keepdim=True)

    assert_hint(checks.check_top_p_filter(wrong), "sorted ascending")


def test_top_p_sorted_order_returned():
    def wrong(probs, p):
        sorted_p, _ = torch.sort(probs, dim=-1, descending=True)
        kept = sorted_p * ((torch.cumsum(sorted_p, dim=-1) - sorted_p) < p)
        return kept / kept.sum(-1, keepdim=True)

    assert_hint(checks.check_top_p_filter(wrong), "in sorted order")


def test_top_p_threshold():
    def wrong(probs, p):
        kept = torch.where(probs >= p, probs, torch.zeros_like(probs))
        return kept / kept.sum(-1, keepdim=True)

    assert_hint(checks.check_top_p_filter(wrong), "used as a threshold")


# ------------------------------------------------------------------------------------------------- top_k_filter
def test_top_k_reference_stub_and_mistakes():
    def good(probs, k):
        kth = torch.topk(probs, k, dim=-1).values[..., -1:]
        kept = torch.where(probs >= kth, probs, torch.zeros_like(probs))
        return kept / kept.sum(-1, keepdim=True)

    assert checks.check_top_k_filter(good)
    assert "not written yet" in checks.check_top_k_filter(stub).message

    def unnormalised(probs, k):
        kth = torch.topk(probs, k, dim=-1).values[..., -1:]
        return torch.where(probs >= kth, probs, torch.zeros_like(probs))

    assert_hint(checks.check_top_k_filter(unnormalised), "not renormalised")

    def smallest(probs, k):
        kth = torch.topk(probs, k, dim=-1, largest=False).values[..., -1:]
        kept = torch.where(probs <= kth, probs, torch.zeros_like(probs))
        return kept / kept.sum(-1, keepdim=True)

    assert_hint(checks.check_top_k_filter(smallest), "LEAST likely")

    def one_more(probs, k):
        kth = torch.topk(probs, min(k + 1, probs.shape[-1]), dim=-1).values[..., -1:]
        kept = torch.where(probs >= kth, probs, torch.zeros_like(probs))
        return kept / kept.sum(-1, keepdim=True)

    assert_hint(checks.check_top_k_filter(one_more), "one token too many")


# ------------------------------------------------------------------------------------------------- the sampler hook
def test_sample_tunes_uses_the_students_top_p_filter():
    from helpers.abc.model import CharLSTM, CharLSTMConfig

    voc = vocab.Vocab.from_text("X:1\nT:ab\nK:D\nABcd|defg|\n\n")
    torch.manual_seed(0)
    net = CharLSTM(CharLSTMConfig(vocab_size=len(voc), embedding_dim=4, hidden_size=8))
    settings = sampling.SampleSettings(temperature=0.8, top_p=0.9, max_chars=40, seed=3)
    seen = []

    def spy(probs, p):
        seen.append(p)
        return good_top_p(probs, p)

    mine = sampling.sample_tunes(net, voc, 2, settings=settings, top_p_fn=spy)
    assert seen and set(seen) == {0.9}
    assert mine == sampling.sample_tunes(net, voc, 2, settings=settings)  # the same filter, the same tunes
    greedy = sampling.sample_tunes(net, voc, 2, settings=settings,
                                   top_p_fn=lambda probs, p: torch.nn.functional.one_hot(
                                       probs.argmax(-1), probs.shape[-1]).float())
    assert greedy[0] == greedy[1]  # the hook decides what is drawn


def test_get_batch_without_the_mit_package_runs_the_faithful_copy(monkeypatch):
    monkeypatch.setattr(checks.importlib.util, "find_spec", lambda name: None)
    tests, source = checks.mit_batch_tests()
    assert "copy" in source and set(tests) == set(checks.MIT_BATCH_TEST_NAMES)
    result = checks.check_get_batch(vocab.get_batch)
    assert result and "course's copy" in result.message
    assert_hint(checks.check_get_batch(lambda ids, n, b, rng: (ids[:b * n].reshape(b, n),) * 2),
                "the targets are the inputs")


def test_get_batch_one_wrong_row_is_enough_to_fail():
    def wrong(ids, seq_length, batch_size, rng):
        x, y = good_get_batch(ids, seq_length, batch_size, rng)
        y[-1] = x[-1]  # the last row is not shifted
        return x, y

    assert_hint(checks.check_get_batch(wrong), "the targets are the inputs")
