"""Graded exercises of notebooks 06 (the ABC dataset) and 07 (an LSTM writes tunes): the MIT lab's own steps.

Notebook 06: ``vectorize`` (text → int64 ids), ``to_text`` (ids → text), ``get_batch`` (random windows and
their targets, one character later) and, at the end, ``contiguous_streams``. Notebook 07: the LSTM's
``forward``, one ``train_step``, the nucleus filter ``top_p_filter`` and, at the end, ``top_k_filter``.

The references are the course library's: :class:`helpers.abc.vocab.Vocab`, :func:`helpers.abc.vocab.get_batch`,
:func:`helpers.abc.vocab.contiguous_streams`, :class:`helpers.abc.model.CharLSTM` and
:func:`helpers.abc.sampling.filter_logits`. Only the training step has its reference here: the engine's step
(:meth:`helpers.training.Trainer.train_step`) draws its own batch and schedules the learning rate, so
:func:`reference_train_step` is that step's core (zero_grad → backward → clip → step) with
:meth:`helpers.abc.train.AbcTask.loss`'s loss.

``check_get_batch`` also runs the MIT lab's three checks (``test_batch_func_types``, ``_shapes``,
``_next_step`` of ``mitdeeplearning/lab1.py``) on your function. ``lab1.py`` imports TensorFlow at its top, which
the course does not install, so the three functions are read from that file's source and run alone (their
code, unchanged); without the package, a faithful copy of them runs instead and the verdict says so.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import io
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from helpers.abc.model import CharLSTM, CharLSTMConfig
from helpers.abc.sampling import filter_logits
from helpers.abc.vocab import Vocab, contiguous_streams, get_batch
from helpers.checks.core import (
    Case,
    CheckResult,
    Compare,
    Mistake,
    as_array,
    close,
    equal,
    run_check,
    your_error,
)

__all__ = [
    "check_char_lstm",
    "check_contiguous_streams",
    "check_get_batch",
    "check_to_text",
    "check_top_k_filter",
    "check_top_p_filter",
    "check_train_step",
    "check_vectorize",
    "mit_batch_tests",
    "reference_train_step",
]


@dataclass(frozen=True)
class _Wrong:
    """An answer that cannot be compared value by value (wrong type, wrong structure, an error on an edge case):
    ``kind`` identifies it (a mistake giving the same kind is the same mistake), ``text`` describes it."""

    kind: str
    text: str


def _with_wrong(compare: Compare) -> Compare:
    """``compare`` that first handles :class:`_Wrong` answers: two of the same kind agree."""

    def wrapped(got: Any, expected: Any) -> str | None:
        if isinstance(got, _Wrong) or isinstance(expected, _Wrong):
            if isinstance(got, _Wrong) and isinstance(expected, _Wrong):
                return None if got.kind == expected.kind else got.text
            return got.text if isinstance(got, _Wrong) else f"expected an error ({expected.text})"
        return compare(got, expected)

    return wrapped


def _parts(names: Sequence[str], compare: Compare) -> Compare:
    """Compare tuples part by part (``names`` label them in the message)."""

    def compare_parts(got: Any, expected: Any) -> str | None:
        for name, g, e in zip(names, got, expected):
            problem = compare(g, e)
            if problem is not None:
                return f"{name}: {problem}"
        return None

    return _with_wrong(compare_parts)


# ---------------------------------------------------------------------------------------------------------------
# Notebook 06 · vectorize, to_text
# ---------------------------------------------------------------------------------------------------------------

#: The characters of a short ABC tune: the vocabulary of the small cases (sorted, as ``Vocab.from_text`` makes it).
_TUNE = "X:1\nT:Drowsy Maggie\nM:C|\nL:1/8\nK:E Dorian\n|:E2BE dEBE|E2BE AFDF:|\n|:e2be d2ad|gfed BcdA:|\n\n"
_CHARS = Vocab.from_text(_TUNE + "^_=,'()z0123456789").chars


def _ids_compare(got: Any, expected: Any) -> str | None:
    if type(got) is not type(expected):
        return f"returned {type(got).__name__}, expected a NumPy array (np.ndarray) of int64 ids"
    if isinstance(got, np.ndarray) and got.dtype != expected.dtype:
        return f"dtype {got.dtype}, expected {expected.dtype} (integer ids)"
    return equal(got, expected)


def _reference_vectorize(text: str, chars: tuple[str, ...]) -> np.ndarray:
    return Vocab(tuple(chars)).encode(text)


def check_vectorize(vectorize: Callable[[str, Sequence[str]], np.ndarray]) -> CheckResult:
    """``vectorize(text, chars)`` → the id of every character of ``text`` (its position in the sorted vocabulary
    ``chars``), a NumPy array of shape ``(len(text),)`` and dtype int64. Reference: ``Vocab(chars).encode``."""
    c = _CHARS
    cases = [
        Case("a tune's header and first bars", (_TUNE[:60], c)),
        Case("a text holding only some of the vocabulary ('ABBA')", ("ABBA", c)),
        Case("one character", ("\n", c)),
        Case("every character of the vocabulary, last to first", ("".join(reversed(c)), c)),
        Case("the empty text", ("", c)),
    ]

    def table(chars: Sequence[str], start: int = 0) -> dict[str, int]:
        return {ch: i for i, ch in enumerate(chars, start)}

    mistakes = [  # the empty-text one first: on the empty text, floats everywhere look the same
        Mistake("the empty text gives a float array: np.array([]) is float64 when no dtype is given; pass "
                "dtype=np.int64 (np.array([...], dtype=np.int64) or np.fromiter(..., dtype=np.int64))",
                lambda text, chars: np.array([table(chars)[ch] for ch in text])),
        Mistake("the ids are floats: ids index an embedding and are the loss's targets, so they must be "
                "integers; give the array dtype=np.int64",
                lambda text, chars: np.array([table(chars)[ch] for ch in text], dtype=np.float64)),
        Mistake("returned a Python list: wrap it in np.array(..., dtype=np.int64)",
                lambda text, chars: [table(chars)[ch] for ch in text]),
        Mistake("the ids come from this text's own characters (sorted(set(text))), so the same character gets "
                "different ids in different texts; use its position in the vocabulary `chars` given to you",
                lambda text, chars: np.array([table(sorted(set(text)))[ch] for ch in text], dtype=np.int64)),
        Mistake("the ids start at 1: the first character of the vocabulary has id 0 (enumerate(chars) starts at 0)",
                lambda text, chars: np.array([table(chars, 1)[ch] for ch in text], dtype=np.int64)),
        Mistake("these are character codes (ord), not ids: an id is the character's position in `chars` "
                "(0 … len(chars) - 1)",
                lambda text, chars: np.array([ord(ch) for ch in text], dtype=np.int64)),
    ]
    return run_check("vectorize", vectorize, _reference_vectorize, cases, compare=_ids_compare, mistakes=mistakes)


def _text_compare(got: Any, expected: Any) -> str | None:
    if type(got) is not type(expected):
        return f"returned {type(got).__name__}, expected a str"
    return equal(got, expected)


def check_to_text(to_text: Callable[[Any, Sequence[str]], str]) -> CheckResult:
    """``to_text(ids, chars)`` → the text whose characters have these ids: ``chars[i]`` for each id, joined
    with nothing in between. Reference: ``Vocab(chars).decode``."""
    c = _CHARS
    ids = Vocab(c).encode(_TUNE[:60])
    cases = [
        Case("a tune's header and first bars (int64 array)", (ids, c)),
        Case("a Python list of ids", (ids[:9].tolist(), c)),
        Case("one id", (ids[:1], c)),
        Case("no ids", (ids[:0], c)),
    ]
    mistakes = [
        Mistake("the characters are joined with spaces: join with the empty string, ''.join(...)",
                lambda ids, chars: " ".join(chars[int(i)] for i in ids)),
        Mistake("the characters are joined with commas: join with the empty string, ''.join(...)",
                lambda ids, chars: ",".join(chars[int(i)] for i in ids)),
        Mistake("returned a list of characters: join them into one str, ''.join(...)",
                lambda ids, chars: [chars[int(i)] for i in ids]),
        Mistake("every character is one place off (chars[i - 1]): id i is chars[i]",
                lambda ids, chars: "".join(chars[int(i) - 1] for i in ids)),
        Mistake("chr(i) reads an id as a character code; an id is a position in `chars`: use chars[i]",
                lambda ids, chars: "".join(chr(int(i)) for i in ids)),
        Mistake("returned str(ids), the printout of the array; build the text from chars[i] for each id",
                lambda ids, chars: str(ids)),
    ]
    return run_check("to_text", to_text, lambda ids, chars: Vocab(tuple(chars)).decode(ids), cases,
                     compare=_text_compare, mistakes=mistakes)


# ---------------------------------------------------------------------------------------------------------------
# Notebook 06 · get_batch (with the MIT lab's own checks)
# ---------------------------------------------------------------------------------------------------------------

MIT_BATCH_TEST_NAMES = ("test_batch_func_types", "test_batch_func_shapes", "test_batch_func_next_step")


def _copy_test_batch_func_types(func: Callable[..., Any], args: tuple[Any, ...]) -> bool:
    ret = func(*args)
    assert len(ret) == 2, "[FAIL] get_batch must return two arguments (input and label)"
    assert type(ret[0]) == np.ndarray, "[FAIL] test_batch_func_types: x is not np.array"  # noqa: E721
    assert type(ret[1]) == np.ndarray, "[FAIL] test_batch_func_types: y is not np.array"  # noqa: E721
    print("[PASS] test_batch_func_types")
    return True


def _copy_test_batch_func_shapes(func: Callable[..., Any], args: tuple[Any, ...]) -> bool:
    _dataset, seq_length, batch_size = args  # the lab names the first `dataset`
    x, y = func(*args)
    correct = (batch_size, seq_length)
    assert x.shape == correct, f"[FAIL] test_batch_func_shapes: x {x.shape} is not correct shape {correct}"
    assert y.shape == correct, f"[FAIL] test_batch_func_shapes: y {y.shape} is not correct shape {correct}"
    print("[PASS] test_batch_func_shapes")
    return True


def _copy_test_batch_func_next_step(func: Callable[..., Any], args: tuple[Any, ...]) -> bool:
    x, y = func(*args)
    assert (x[:, 1:] == y[:, :-1]).all(), "[FAIL] test_batch_func_next_step: x_{t} must equal y_{t-1} for all t"
    print("[PASS] test_batch_func_next_step")
    return True


_COPIES = dict(zip(MIT_BATCH_TEST_NAMES, (_copy_test_batch_func_types, _copy_test_batch_func_shapes,
                                          _copy_test_batch_func_next_step)))


def mit_batch_tests() -> tuple[dict[str, Callable[..., bool]], str]:
    """The MIT lab's three ``get_batch`` checks and where they come from.

    They are read from ``mitdeeplearning/lab1.py`` and compiled alone: importing ``lab1`` would import
    TensorFlow (its first lines), and the three functions need only NumPy. The package is located with
    ``importlib.util.find_spec``, which does not import it. Without it (or without the three functions in it),
    the course's faithful copies above run instead; the second value says which.
    """
    spec = importlib.util.find_spec("mitdeeplearning")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(folder) / "lab1.py"
        if not path.exists():
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        wanted: list[ast.stmt] = [node for node in tree.body
                                  if isinstance(node, ast.FunctionDef) and node.name in MIT_BATCH_TEST_NAMES]
        if len(wanted) != len(MIT_BATCH_TEST_NAMES):
            break
        namespace: dict[str, Any] = {"np": np}
        exec(compile(ast.Module(body=wanted, type_ignores=[]), str(path), "exec"), namespace)  # the lab's own code
        return {name: namespace[name] for name in MIT_BATCH_TEST_NAMES}, "mitdeeplearning/lab1.py"
    return dict(_COPIES), "the course's copy of mitdeeplearning/lab1.py's checks (package not found)"


def _run_mit_batch_tests(get_batch_fn: Callable[..., Any]) -> tuple[bool, list[str], str]:
    """Run the lab's three checks on ``get_batch_fn`` as the lab does (a stream, seq_length 10, batch 2):
    ``(all passed, one line per check, where the checks come from)``. Their prints and assertion messages
    are captured, not shown."""
    tests, source = mit_batch_tests()
    ids = np.random.default_rng(0).integers(0, 40, size=1000)

    def lab_signature(dataset: np.ndarray, seq_length: int, batch_size: int) -> Any:  # the lab's get_batch
        return get_batch_fn(dataset, seq_length, batch_size, np.random.default_rng(0))

    lines, ok = [], True
    for name, test in tests.items():
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                test(lab_signature, (ids, 10, 2))
            lines.append(out.getvalue().strip() or f"[PASS] {name}")
        except AssertionError as exc:
            ok = False
            lines.append(str(exc) or f"[FAIL] {name}")
        except Exception as exc:  # the student's function raised inside the lab's check
            ok = False
            lines.append(f"[FAIL] {name}: your code raised {your_error(exc)}")
    return ok, lines, source


@dataclass(frozen=True)
class _BatchFacts:
    """What a batch is, independent of which random windows were drawn."""

    kinds: tuple[str, str]
    dtypes: tuple[str, str]
    shapes: tuple[tuple[int, ...], tuple[int, ...]]
    x_rows: str
    y_rows: str


_RELATIONS = {
    "next": "x shifted by one (the next character)",
    "same": "equal to x (not shifted)",
    "previous": "x shifted the wrong way (the previous character)",
    "other": "not the stream one step after x",
}


def _dtype_kind(a: np.ndarray) -> str:
    return "float" if a.dtype.kind == "f" else str(a.dtype)


def _batch_facts(ids: np.ndarray, out: Any) -> _BatchFacts | _Wrong:
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        return _Wrong("not a pair", f"returned {type(out).__name__}; return the pair (x, y) of inputs and targets")
    x, y = out
    try:
        xa, ya = as_array(x), as_array(y)
    except (TypeError, ValueError) as exc:
        return _Wrong("not arrays", f"x and y are not arrays of ids ({exc}); return two NumPy arrays")
    x_rows = y_rows = "-"
    n = len(ids)
    if xa.ndim == 2 and xa.shape == ya.shape and 0 < xa.shape[1] <= n and xa.shape[0] > 0:
        length = xa.shape[1]
        windows = np.lib.stride_tricks.sliding_window_view(ids, length)  # (n - length + 1, length)
        match = (windows[None, :, :] == xa[:, None, :]).all(-1)
        x_rows = "windows" if match.any(1).all() else "not windows"
        if x_rows == "windows":
            relations = []
            for b in range(xa.shape[0]):
                starts = np.flatnonzero(match[b])
                if any(s + 1 < len(windows) and np.array_equal(windows[s + 1], ya[b]) for s in starts):
                    relations.append("next")
                elif np.array_equal(xa[b], ya[b]):
                    relations.append("same")
                elif any(s >= 1 and np.array_equal(windows[s - 1], ya[b]) for s in starts):
                    relations.append("previous")
                else:
                    relations.append("other")
            wrong = [r for r in relations if r != "next"]  # every row must be right; name the commonest error
            y_rows = Counter(wrong).most_common(1)[0][0] if wrong else "next"
    return _BatchFacts((type(x).__name__, type(y).__name__), (_dtype_kind(xa), _dtype_kind(ya)),
                       (tuple(xa.shape), tuple(ya.shape)), x_rows, y_rows)


def _compare_batches(got: Any, expected: Any) -> str | None:
    if isinstance(got, _Wrong) or isinstance(expected, _Wrong):
        return _with_wrong(lambda g, e: None)(got, expected)
    if got.kinds != expected.kinds:
        return f"x is {got.kinds[0]} and y is {got.kinds[1]}; return two NumPy arrays (np.ndarray)"
    if got.dtypes != expected.dtypes:
        return f"x and y have dtypes {got.dtypes[0]} and {got.dtypes[1]}; the ids must stay integers (int64)"
    if got.shapes != expected.shapes:
        return (f"x has shape {got.shapes[0]} and y {got.shapes[1]}; both must be (batch_size, seq_length) "
                f"= {expected.shapes[0]}")
    if got.x_rows != expected.x_rows:
        return "a row of x is not a window of the stream: each row must be ids[s : s + seq_length] for a start s"
    if got.y_rows != expected.y_rows:
        return f"y is {_RELATIONS.get(got.y_rows, got.y_rows)}; expected {_RELATIONS[expected.y_rows]}"
    return None


def _batch_runner(fn: Callable[..., Any]) -> Callable[..., _BatchFacts | _Wrong]:
    """``fn`` run on a case and described by :func:`_batch_facts`; an IndexError or ValueError (a window past
    the end of the stream) becomes an answer too, so that the mistake behind it can be named."""

    def run(ids: np.ndarray, seq_length: int, batch_size: int, seed: int) -> _BatchFacts | _Wrong:
        try:
            out = fn(ids, seq_length, batch_size, np.random.default_rng(seed))
        except (IndexError, ValueError) as exc:
            return _Wrong("raised", f"your code raised {your_error(exc)}")
        return _batch_facts(ids, out)

    return run


def _windows(ids: np.ndarray, seq_length: int, batch_size: int, rng: np.random.Generator,
             last_start: int) -> np.ndarray:
    """Indices ``(batch_size, seq_length)`` of random windows starting at 0 … ``last_start``."""
    starts = rng.integers(0, last_start + 1, size=batch_size)
    return starts[:, None] + np.arange(seq_length)[None, :]


def _wrong_unshifted(ids, seq_length, batch_size, rng):
    idx = _windows(ids, seq_length, batch_size, rng, len(ids) - seq_length - 1)
    return ids[idx], ids[idx].copy()


def _wrong_backwards(ids, seq_length, batch_size, rng):
    idx = _windows(ids, seq_length, batch_size, rng, len(ids) - seq_length - 1)
    return ids[idx + 1], ids[idx]


def _wrong_past_end(ids, seq_length, batch_size, rng):
    idx = _windows(ids, seq_length, batch_size, rng, len(ids) - seq_length)
    return ids[idx], ids[idx + 1]


def _wrong_float(ids, seq_length, batch_size, rng):
    x, y = np.zeros((batch_size, seq_length)), np.zeros((batch_size, seq_length))
    for b, s in enumerate(rng.integers(0, len(ids) - seq_length, size=batch_size)):
        x[b], y[b] = ids[s: s + seq_length], ids[s + 1: s + seq_length + 1]
    return x, y


def _wrong_swapped(ids, seq_length, batch_size, rng):
    x, y = get_batch(ids, seq_length, batch_size, rng)
    return x.T, y.T


def _wrong_tensors(ids, seq_length, batch_size, rng):
    x, y = get_batch(ids, seq_length, batch_size, rng)
    return torch.from_numpy(x), torch.from_numpy(y)


def check_get_batch(get_batch_fn: Callable[..., tuple[np.ndarray, np.ndarray]]) -> CheckResult:
    """``get_batch(ids, seq_length, batch_size, rng)`` → ``(x, y)``: ``batch_size`` random windows of the stream
    ``ids`` (starts drawn with ``rng``), each ``seq_length`` long, and the same windows one character later, as
    int64 arrays of shape ``(batch_size, seq_length)``. Which windows are drawn is yours to choose; every row must
    be a window of the stream and its targets the next characters. Reference: ``helpers.abc.vocab.get_batch``;
    then the MIT lab's three checks run on your function too."""
    rng = np.random.default_rng(0)
    cases = [
        Case("500 distinct ids, seq_length 20, batch 8", (rng.permutation(500), 20, 8, 1)),
        Case("a stream of 2000 ids from 40 characters, seq_length 50, batch 6",
             (rng.integers(0, 40, size=2000), 50, 6, 2)),
        Case("the shortest useful stream: seq_length + 2 ids (starts 0 and 1 only), batch 64",
             (rng.permutation(12), 10, 64, 3)),
        Case("seq_length 1, batch 5", (rng.permutation(30), 1, 5, 4)),
        Case("batch 1, seq_length 7", (rng.permutation(40), 7, 1, 5)),
    ]
    mistakes = [
        Mistake("the targets are the inputs: y must be the NEXT character of x, the same windows one step "
                "later (ids[s + 1 : s + seq_length + 1])", _batch_runner(_wrong_unshifted)),
        Mistake("the shift goes the wrong way: y is the character BEFORE x; take x = ids[s : s + seq_length] and "
                "y = ids[s + 1 : s + seq_length + 1]", _batch_runner(_wrong_backwards)),
        Mistake("windows run past the end of the stream: the targets need one character after the window, so the "
                "largest start is len(ids) - seq_length - 1 (rng.integers(0, len(ids) - seq_length, batch_size))",
                _batch_runner(_wrong_past_end)),
        Mistake("the ids became floats (np.zeros makes float64 arrays): keep them int64, e.g. "
                "np.zeros(..., dtype=np.int64), or index ids directly", _batch_runner(_wrong_float)),
        Mistake("batch and sequence axes are swapped: x and y must be (batch_size, seq_length), one window per "
                "ROW", _batch_runner(_wrong_swapped)),
        Mistake("returned torch tensors: return NumPy arrays (the training loop converts them with "
                "torch.from_numpy)", _batch_runner(_wrong_tensors)),
    ]
    result = run_check("get_batch", _batch_runner(get_batch_fn), _batch_runner(get_batch), cases,
                       compare=_compare_batches, mistakes=mistakes)
    if "not written yet" in result.message or "expected a function" in result.message:
        return result
    mit_ok, lines, source = _run_mit_batch_tests(get_batch_fn)
    result.details = [*result.details, f"MIT lab checks ({source}):", *lines]
    verdicts = "; ".join(line.split(":")[0] if line.startswith("[PASS]") else line for line in lines)
    if not result:
        failing = [name for name, line in zip(MIT_BATCH_TEST_NAMES, lines) if not line.startswith("[PASS]")]
        if failing:
            result.message += f" (the MIT lab's {', '.join(failing)} fail{'s' if len(failing) == 1 else ''} too)"
        return result
    if not mit_ok:
        return CheckResult("get_batch", False, f"the MIT lab's checks: {verdicts}", cases=result.cases,
                           details=result.details)
    where = "" if source.startswith("mitdeeplearning") else f" ({source})"
    result.message += f"; the MIT lab's own {len(lines)} batch checks print [PASS]{where}"
    return result


# ---------------------------------------------------------------------------------------------------------------
# Notebook 06 · exercise: contiguous_streams
# ---------------------------------------------------------------------------------------------------------------

def check_contiguous_streams(fn: Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]) -> CheckResult:
    """``contiguous_streams(ids, n_streams)`` → ``(x, y)`` of shape ``(n_streams, length)`` with
    ``length = (len(ids) - 1) // n_streams``: the stream cut into ``n_streams`` consecutive pieces (row r is
    ``ids[r * length : (r + 1) * length]``) and ``y`` the next character of every ``x``. Reference:
    ``helpers.abc.vocab.contiguous_streams`` (cases keep ``n_streams <= (len(ids) - 1) // 2``)."""
    rng = np.random.default_rng(0)
    cases = [
        Case("101 ids, 4 streams (a leftover at the end)", (rng.permutation(101), 4)),
        Case("21 ids, 5 streams (no leftover)", (rng.permutation(21), 5)),
        Case("one stream", (rng.permutation(9), 1)),
        Case("1000 ids from 40 characters, 16 streams", (rng.integers(0, 40, size=1000), 16)),
    ]

    def pieces(ids: np.ndarray, n: int, length: int, shift: int = 1, order: str = "C"):
        x = ids[: n * length].reshape(n, length, order=order)  # type: ignore[call-overload]
        y = ids[shift: n * length + shift].reshape(n, length, order=order)  # type: ignore[call-overload]
        return x, y

    mistakes = [
        Mistake("y is x: the targets are the next characters, ids[1 : n_streams * length + 1] cut the same way",
                lambda ids, n: pieces(ids, n, (len(ids) - 1) // n, shift=0)),
        Mistake("the rows interleave the stream (every n-th character): each row must be one consecutive piece; "
                "reshape(n_streams, length) in NumPy's default (row) order, no transpose",
                lambda ids, n: pieces(ids, n, (len(ids) - 1) // n, order="F")),
        Mistake("length is len(ids) // n_streams: the last target needs one more character, so length = "
                "(len(ids) - 1) // n_streams", lambda ids, n: pieces(ids[:-1] if len(ids) % n == 0 else ids, n,
                                                                      len(ids) // n)),
    ]
    return run_check("contiguous_streams", fn, contiguous_streams, cases, compare=equal, mistakes=mistakes)


# ---------------------------------------------------------------------------------------------------------------
# Notebook 07 · the LSTM's forward pass
# ---------------------------------------------------------------------------------------------------------------

_SIZES = {"vocab_size": 11, "embedding_dim": 6, "hidden_size": 9}


def _reference_lstm(seed: int) -> CharLSTM:
    torch.manual_seed(seed)
    return CharLSTM(CharLSTMConfig(**_SIZES))


Forward = Callable[[nn.Module, torch.Tensor, Any], Any]


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Tiny models run faster on one thread (on a busy CPU, many times faster); the setting is put back after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _drive(forward: Forward, model: nn.Module, x: torch.Tensor, mode: str, state: Any) -> Any:
    """Run ``forward`` the way a case asks: the whole sequence at once, in two halves passing the state, or one
    character at a time. Returns ``(logits over all steps, h, c)``, or a :class:`_Wrong` for a malformed answer."""
    if mode == "whole":
        chunks = [x]
    elif mode == "halves":
        chunks = [x[:, :3], x[:, 3:]]
    else:
        chunks = [x[:, t: t + 1] for t in range(x.shape[1])]
    logits = []
    for chunk in chunks:
        out = forward(model, chunk, state)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            return _Wrong("not (logits, state)", f"forward returned {type(out).__name__}; return the pair "
                                                 "(logits, state) where state is the LSTM's (h, c)")
        step_logits, state = out
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            return _Wrong("state not (h, c)", f"the state returned is {type(state).__name__}; return the LSTM's "
                                              "new state (h, c) as nn.LSTM gives it")
        logits.append(as_array(step_logits))
    shapes = {(a.ndim, a.shape[0]) for a in logits}
    joined = np.concatenate(logits, axis=1) if len(shapes) == 1 and logits[0].ndim == 3 else logits[0]
    return joined, as_array(state[0]), as_array(state[1])


def _forward_runner(forward: Forward | None, model_class: type | None = None) -> Callable[..., Any]:
    """A case runner: the reference model's weights in ``model_class`` (the student's) with its own forward, or
    in the reference :class:`CharLSTM` driven by ``forward`` (the reference or a mistake)."""

    def run(seed: int, x: torch.Tensor, mode: str, state: Any) -> Any:
        reference = _reference_lstm(seed)
        if model_class is None:
            assert forward is not None
            with torch.no_grad():
                return _drive(forward, reference, x, mode, state)
        model = model_class(**_SIZES)
        got = set(model.state_dict())
        if got != set(reference.state_dict()):
            return _Wrong("layer names", f"your model's weights are {sorted(got)}; create exactly the layers "
                                         "self.embedding, self.lstm and self.head described in the docstring")
        model.load_state_dict(reference.state_dict())
        model.eval()
        with torch.no_grad():
            return _drive(lambda m, chunk, st: m(chunk, st), model, x, mode, state)

    return run


def _ref_forward(m: nn.Module, x: torch.Tensor, state: Any) -> Any:
    return m(x, state)


def _wrong_hidden(m: Any, x: torch.Tensor, state: Any) -> Any:
    return m.lstm(m.embedding(x), state)


def _wrong_no_state(m: Any, x: torch.Tensor, state: Any) -> Any:
    out, new_state = m.lstm(m.embedding(x))
    return m.head(out), new_state


def _wrong_not_batch_first(m: Any, x: torch.Tensor, state: Any) -> Any:
    lstm = nn.LSTM(m.lstm.input_size, m.lstm.hidden_size)  # batch_first=False: reads (seq, batch, features)
    lstm.load_state_dict(m.lstm.state_dict())
    out, new_state = lstm(m.embedding(x), state)
    return m.head(out), new_state


def _wrong_softmax(m: Any, x: torch.Tensor, state: Any) -> Any:
    out, new_state = m.lstm(m.embedding(x), state)
    return torch.softmax(m.head(out), dim=-1), new_state


def _wrong_last_step(m: Any, x: torch.Tensor, state: Any) -> Any:
    out, new_state = m.lstm(m.embedding(x), state)
    return m.head(out[:, -1]), new_state


def check_char_lstm(model_class: type) -> CheckResult:
    """``model_class(vocab_size, embedding_dim, hidden_size)`` builds ``self.embedding``, ``self.lstm`` (one
    layer, batch_first) and ``self.head``; its ``forward(x, state=None)`` maps ids ``(batch, seq)`` to
    ``(logits (batch, seq, vocab), (h, c))``. The check copies the weights of the reference (the course's
    ``CharLSTM`` reading characters only) into your model and compares logits and the new state: over a whole
    sequence, over two halves with the state passed on, one character at a time, and from a given state."""
    if not isinstance(model_class, type):
        return CheckResult("CharRNN", False, f"expected the class itself (CharRNN), got {type(model_class).__name__}")
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, _SIZES["vocab_size"], (3, 7), generator=gen)
    h0 = torch.randn(1, 3, _SIZES["hidden_size"], generator=gen)
    c0 = torch.randn(1, 3, _SIZES["hidden_size"], generator=gen)
    cases = [
        Case("a batch of 3 sequences of 7 characters, no state", (0, x, "whole", None)),
        Case("the same in two calls (3 then 4 characters), the state passed on", (0, x, "halves", None)),
        Case("one character per call, as when sampling", (1, x[:2, :5], "steps", None)),
        Case("starting from a given state (h, c)", (2, x, "whole", (h0, c0))),
        Case("batch 1, one character", (3, x[:1, :1], "whole", None)),
    ]
    mistakes = [
        Mistake("returned the LSTM's hidden outputs, not logits: pass them through self.head to get one score per "
                "character of the vocabulary", _forward_runner(_wrong_hidden)),
        Mistake("the state is not passed on: every call starts from zero; call self.lstm(embedded, state) with the "
                "state you were given and return the new one", _forward_runner(_wrong_no_state)),
        Mistake("the LSTM reads (seq, batch, features): create it with batch_first=True, since x is (batch, seq)",
                _forward_runner(_wrong_not_batch_first)),
        Mistake("returned probabilities (softmax): return the raw scores, the logits; cross_entropy and the "
                "sampler apply the softmax themselves", _forward_runner(_wrong_softmax)),
        Mistake("returned the logits of the last step only: return them for every step, (batch, seq, vocab); "
                "training predicts every next character", _forward_runner(_wrong_last_step)),
    ]
    with _one_thread():
        return run_check("CharRNN", _forward_runner(None, model_class), _forward_runner(_ref_forward), cases,
                         compare=_parts(("logits", "state h", "state c"), close(rtol=1e-4, atol=1e-5)),
                         mistakes=mistakes)


# ---------------------------------------------------------------------------------------------------------------
# Notebook 07 · one training step
# ---------------------------------------------------------------------------------------------------------------

def reference_train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
                         clip: float) -> float:
    """One optimiser step on the batch ``(x, y)``: cross-entropy over every position (the mean, in nats per
    character, as ``AbcTask.loss``), then zero_grad → backward → clip the gradient norm to ``clip`` → step, as
    ``helpers.training.Trainer.train_step`` does. Returns the loss before the step."""
    logits, _ = model(x)
    loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return float(loss.detach())


def _step_runner(step: Callable[..., Any]) -> Callable[..., Any]:
    """Build the same small model, SGD optimiser and batches from ``seed``; call ``step`` ``calls`` times.
    Returns ``(the losses, every parameter after)``."""

    def run(seed: int, batch: int, seq: int, clip: float, calls: int) -> Any:
        model = _reference_lstm(seed)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
        gen = torch.Generator().manual_seed(seed)
        losses = []
        for _ in range(calls):
            ids = torch.randint(0, _SIZES["vocab_size"], (batch, seq + 1), generator=gen)
            loss = step(model, optimizer, ids[:, :-1], ids[:, 1:], clip)
            if loss is None:
                return _Wrong("none", "train_step returned None; return the loss (loss.item())")
            try:
                losses.append(float(loss))
            except (TypeError, ValueError):
                return _Wrong("not a number", f"train_step returned {type(loss).__name__}; return the loss as a "
                                              "number (loss.item())")
        params = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).numpy()
        return np.array(losses), params

    return run


def _loss(logits: torch.Tensor, y: torch.Tensor, **kw: Any) -> torch.Tensor:
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), **kw)


def _wrong_no_zero_grad(model, optimizer, x, y, clip):
    loss = _loss(model(x)[0], y)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss.item()


def _wrong_no_clip(model, optimizer, x, y, clip):
    loss = _loss(model(x)[0], y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _wrong_step_first(model, optimizer, x, y, clip):
    loss = _loss(model(x)[0], y)
    optimizer.zero_grad()
    optimizer.step()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), clip)
    return loss.item()


def _wrong_last_position(model, optimizer, x, y, clip):
    logits, _ = model(x)
    loss = nn.functional.cross_entropy(logits[:, -1], y[:, -1])
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss.item()


def _wrong_sum(model, optimizer, x, y, clip):
    loss = _loss(model(x)[0], y, reduction="sum")
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss.item()


def check_train_step(train_step: Callable[..., float]) -> CheckResult:
    """``train_step(model, optimizer, x, y, clip)`` → the batch's loss (a float): cross-entropy of
    ``model(x)``'s logits against ``y`` at every position (mean), then ``optimizer.zero_grad()``, ``backward()``,
    ``clip_grad_norm_(model.parameters(), clip)``, ``optimizer.step()``. The check runs your step and
    :func:`reference_train_step` on identical copies (same weights, same batches, SGD) and compares the losses
    and every parameter afterwards."""
    cases = [
        Case("one step, batch 4 × 12 characters, clip 0.05 (clipping active)", (0, 4, 12, 0.05, 1)),
        Case("two steps in a row, clip 0.05", (1, 4, 12, 0.05, 2)),
        Case("two steps, clip 100 (no clipping needed)", (2, 3, 8, 100.0, 2)),
        Case("batch 1, one character", (3, 1, 1, 0.05, 1)),
    ]
    mistakes = [
        Mistake("the parameters did not change as they should: the order is zero_grad → loss.backward() → clip → "
                "optimizer.step() (a step before backward uses no or stale gradients)",
                _step_runner(_wrong_step_first)),
        Mistake("no zero_grad: gradients add up from one call to the next; call optimizer.zero_grad() before "
                "loss.backward()", _step_runner(_wrong_no_zero_grad)),
        Mistake("the gradients are not clipped: call nn.utils.clip_grad_norm_(model.parameters(), clip) after "
                "backward and before optimizer.step()", _step_runner(_wrong_no_clip)),
        Mistake("the loss is taken at the last position only: the model predicts the next character at EVERY "
                "position; flatten logits to (batch * seq, vocab) and y to (batch * seq,)",
                _step_runner(_wrong_last_position)),
        Mistake("the loss is summed over positions: take the mean (cross_entropy's default), nats per character",
                _step_runner(_wrong_sum)),
    ]
    with _one_thread():
        return run_check("train_step", _step_runner(train_step), _step_runner(reference_train_step), cases,
                         compare=_parts(("loss", "parameters after the step"), close(rtol=1e-4, atol=1e-6)),
                         mistakes=mistakes)


# ---------------------------------------------------------------------------------------------------------------
# Notebook 07 · nucleus (top-p) and top-k filters
# ---------------------------------------------------------------------------------------------------------------

def _close_nan(got: Any, expected: Any) -> str | None:
    """Like ``close``, but NaN where the other has NaN agrees (a row that kept nothing and divided by 0 is how
    some mistakes show; the same NaN then names the mistake)."""
    try:
        g, e = as_array(got).astype(np.float64), as_array(expected).astype(np.float64)
    except (TypeError, ValueError) as exc:
        return f"returned {type(got).__name__}, which is not an array of probabilities ({exc})"
    if g.shape != e.shape:
        return f"shape {g.shape}, expected {e.shape}"
    if not np.array_equal(np.isnan(g), np.isnan(e)):
        return "contains NaN: a row kept no token and was divided by 0" if np.isnan(g).any() else \
            "values differ from the expected ones"
    return close(rtol=1e-4, atol=1e-6)(np.nan_to_num(g), np.nan_to_num(e))


def _probs(*rows: Sequence[float]) -> torch.Tensor:
    t = torch.tensor(rows, dtype=torch.float32)
    return t / t.sum(-1, keepdim=True)


def _sorted_keep(probs: torch.Tensor, count: Callable[[torch.Tensor], torch.Tensor],
                 descending: bool = True) -> torch.Tensor:
    """Keep, in each row, the ``count(sorted_probs)`` first tokens in sorted order; renormalise."""
    sorted_p, order = torch.sort(probs, dim=-1, descending=descending)
    n = count(sorted_p)
    keep_sorted = torch.arange(probs.shape[-1]) < n.unsqueeze(-1)
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    kept = probs * keep
    return kept / kept.sum(-1, keepdim=True)


def _n_reaching(sorted_p: torch.Tensor, p: float) -> torch.Tensor:
    return ((torch.cumsum(sorted_p, -1) - sorted_p) < p).sum(-1)


def _reference_top_p(probs: torch.Tensor, p: float) -> torch.Tensor:
    return filter_logits(torch.log(probs), top_p=p)


def _top_p_sorted_order(probs: torch.Tensor, p: float) -> torch.Tensor:
    sorted_p, _ = torch.sort(probs, dim=-1, descending=True)
    keep = (torch.cumsum(sorted_p, -1) - sorted_p) < p
    kept = sorted_p * keep
    return kept / kept.sum(-1, keepdim=True)


def check_top_p_filter(top_p_filter: Callable[[torch.Tensor, float], torch.Tensor]) -> CheckResult:
    """``top_p_filter(probs, p)`` → ``probs`` (rows over the vocabulary, each summing to 1) keeping only the
    smallest set of most likely tokens whose probabilities add up to at least ``p``, renormalised to sum to 1;
    every other token gets 0. Same shape, same token order. Reference: ``helpers.abc.sampling.filter_logits``
    with ``top_p=p``."""
    torch.manual_seed(0)
    batch = torch.distributions.Dirichlet(torch.full((10,), 0.7)).sample((4,))
    cases = [
        Case("8 tokens, p = 0.7 (the top two reach 0.75)", (_probs([0.05, 0.25, 0.03, 0.5, 0.07, 0.04, 0.02, 0.04]), 0.7)),
        Case("a batch of 4 random distributions over 10 tokens, p = 0.9", (batch, 0.9)),
        Case("tokens already at 0 (after top-k), p = 0.6", (_probs([0.5, 0.0, 0.3, 0.0, 0.2]), 0.6)),
        Case("p = 1: keep every token", (_probs([0.1, 0.6, 0.3]), 1.0)),
        Case("p = 0.05: the most likely token alone reaches it", (_probs([0.2, 0.45, 0.35]), 0.05)),
    ]
    mistakes = [
        Mistake("one token too few: you stop BEFORE the kept mass reaches p; keep the token that makes it reach "
                "p too (keep a token while the mass of the tokens before it is < p)",
                lambda probs, p: _sorted_keep(probs, lambda s: (torch.cumsum(s, -1) < p).sum(-1))),
        Mistake("one token too many: you keep the token after the mass has reached p; keep a token only while the "
                "mass of the more likely tokens before it is still < p",
                lambda probs, p: _sorted_keep(probs, lambda s: _n_reaching(s, p) + 1)),
        Mistake("not renormalised: after zeroing the other tokens, divide by the kept mass so each row sums to 1",
                lambda probs, p: probs * (_reference_top_p(probs, p) > 0)),
        Mistake("sorted ascending: the nucleus is the MOST likely tokens; sort with descending=True",
                lambda probs, p: _sorted_keep(probs, lambda s: _n_reaching(s, p), descending=False)),
        Mistake("the probabilities come back in sorted order: put them back at their tokens' positions "
                "(scatter with the sort's indices, or build a keep-mask in the original order)",
                _top_p_sorted_order),
        Mistake("p is used as a threshold on each token's probability; p is the cumulative mass of the kept "
                "tokens (sort, cumsum, keep until the sum reaches p)",
                lambda probs, p: (lambda k: k / k.sum(-1, keepdim=True))(probs * (probs >= p))),
    ]
    return run_check("top_p_filter", top_p_filter, _reference_top_p, cases, compare=_close_nan,
                     mistakes=mistakes)


def check_top_k_filter(top_k_filter: Callable[[torch.Tensor, int], torch.Tensor]) -> CheckResult:
    """``top_k_filter(probs, k)`` → ``probs`` keeping the ``k`` most likely tokens of each row, renormalised,
    every other token 0. Reference: ``helpers.abc.sampling.filter_logits`` with ``top_k=k``."""
    torch.manual_seed(1)
    batch = torch.distributions.Dirichlet(torch.full((12,), 0.7)).sample((3,))
    cases = [
        Case("6 tokens, k = 2", (_probs([0.05, 0.3, 0.1, 0.4, 0.1 + 1e-3, 0.05 - 1e-3]), 2)),
        Case("a batch of 3 random distributions over 12 tokens, k = 5", (batch, 5)),
        Case("k = 1: the most likely token only", (_probs([0.2, 0.45, 0.35]), 1)),
        Case("k = the vocabulary size: every token", (_probs([0.2, 0.45, 0.35]), 3)),
    ]
    mistakes = [
        Mistake("not renormalised: divide the kept probabilities by their sum so each row sums to 1",
                lambda probs, k: probs * (filter_logits(torch.log(probs), top_k=k) > 0)),
        Mistake("these are the k LEAST likely tokens: sort descending (torch.topk gives the largest)",
                lambda probs, k: _sorted_keep(probs, lambda s: torch.full(s.shape[:-1], k), descending=False)),
        Mistake("one token too many: keep exactly k tokens",
                lambda probs, k: _sorted_keep(probs, lambda s: torch.full(s.shape[:-1], k + 1))),
        Mistake("one token too few: keep exactly k tokens (the k-th most likely included)",
                lambda probs, k: _sorted_keep(probs, lambda s: torch.full(s.shape[:-1], k - 1))),
    ]
    return run_check("top_k_filter", top_k_filter, lambda probs, k: filter_logits(torch.log(probs), top_k=k), cases,
                     compare=_close_nan, mistakes=mistakes)
