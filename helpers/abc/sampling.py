"""Write tunes with a trained model: multinomial sampling with temperature, top-k and nucleus (top-p),
a priming text, stop at the end of a tune, seeded for repeatability."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from helpers.abc import metre
from helpers.abc.vocab import TUNE_SEPARATOR, Vocab
from helpers.errors import ConfigError

#: A header to prime the model with: it then writes the title, meter, unit, key and music.
DEFAULT_PRIME = "X:1\nT:"


def filter_logits(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None) -> torch.Tensor:
    """Next-character probabilities ``(..., vocab)`` after temperature, top-k and nucleus filtering.

    ``top_k`` keeps the k most likely characters; ``top_p`` keeps the smallest set of most likely
    characters whose probabilities reach ``p`` (at least one). Each row sums to 1.
    """
    if temperature <= 0:
        raise ConfigError(f"temperature must be positive, got {temperature}; try 0.8 to 1.0")
    if top_p is not None and not 0 < top_p <= 1:
        raise ConfigError(f"top_p must be in (0, 1], got {top_p}; try 0.9, or None to switch it off")
    logits = logits.float() / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        if top_k < 1:
            raise ConfigError(f"top_k must be at least 1, got {top_k}; or None to switch it off")
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    if top_p is not None and top_p < 1:
        sorted_p, order = torch.sort(probs, dim=-1, descending=True)
        before = torch.cumsum(sorted_p, dim=-1) - sorted_p  # mass of the more likely characters
        keep_sorted = before < top_p  # keep until the kept mass reaches p
        keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
        probs = probs * keep
        probs = probs / probs.sum(dim=-1, keepdim=True)
    return probs


@dataclass
class SampleSettings:
    """How to sample: ``temperature`` (< 1 safer, > 1 wilder), ``top_k``, ``top_p``, length cap, seed, and
    ``bar_retries`` (re-sample a bar of the wrong length up to that many times; 0 = plain sampling)."""

    temperature: float = 0.9
    top_k: int | None = None
    top_p: float | None = 0.9
    max_chars: int = 1200
    seed: int = 0
    bar_retries: int = 0


def last_bar_is_wrong(text: str) -> bool:
    """True when ``text`` ends with a bar line closing a bar of the wrong length (see ``flagged_bars``)."""
    from helpers.abc.parse import parse_tune
    from helpers.abc.validity import flagged_bars

    parsed = parse_tune(text)
    flagged = flagged_bars(parsed)
    return bool(flagged) and flagged[-1].index == parsed.bars[-1].index


@torch.no_grad()
def sample_tunes(
    model: nn.Module,
    vocab: Vocab,
    n: int = 1,
    *,
    prime: str = DEFAULT_PRIME,
    settings: SampleSettings | None = None,
    stop_at_end: bool = True,
    device: str | None = None,
    top_p_fn: Callable[[torch.Tensor, float], torch.Tensor] | None = None,
) -> list[str]:
    """Generate ``n`` tunes in parallel, each starting with ``prime`` and ending at the first blank line
    (the tune separator) or after ``max_chars`` characters. Same seed → same tunes.

    With ``settings.bar_retries > 0``, a bar that closes with the wrong length is taken back and sampled
    again from the LSTM state at its start, up to that many times per bar (bar-level rejection sampling).

    ``top_p_fn(probs, p)`` replaces the nucleus step of :func:`filter_logits` (notebook 07 samples with the
    student's own): it gets the probabilities after temperature and top-k, rows ``(n, vocab)``, and ``settings.top_p``.
    """
    s = settings or SampleSettings()
    if not prime:
        raise ConfigError("prime must hold at least one character (e.g. 'X:1\\n')")
    device = device or next(model.parameters()).device.type
    gen = torch.Generator(device="cpu").manual_seed(s.seed)
    was_training = model.training
    model.eval()
    reads_clock = getattr(model, "reads_clock", False)
    clocks = [metre.BarClock() for _ in range(n)] if reads_clock else []
    prime_ids = vocab.encode(prime)
    if reads_clock:
        prime_ids = np.concatenate([prime_ids[:, None], clocks[0].feed_text(prime)], axis=-1)
        clocks = [clocks[0].snapshot() for _ in range(n)]
    prime_t = torch.from_numpy(prime_ids).to(device)
    logits, (h, c) = model(prime_t.unsqueeze(0).expand(n, *prime_t.shape).contiguous())
    last = logits[:, -1].clone()
    newline, bar_id = vocab.char_to_id.get("\n"), vocab.char_to_id.get("|")
    texts: list[list[int]] = [[] for _ in range(n)]
    finished = [False] * n
    retries = [0] * n
    snapshots = [(h[:, i].clone(), c[:, i].clone(), last[i].clone(), 0, clocks[i].snapshot() if reads_clock else None)
                 for i in range(n)]
    clock_now = torch.zeros(n, len(metre.SIZES), dtype=torch.long)
    for _ in range(s.max_chars * (1 + s.bar_retries)):
        probs = filter_logits(last, s.temperature, s.top_k, None if top_p_fn else s.top_p).cpu()
        if top_p_fn is not None and s.top_p is not None and s.top_p < 1:
            probs = top_p_fn(probs, s.top_p)
        nxt = torch.multinomial(probs, 1, generator=gen).squeeze(1)
        rollback, accepted = [], []
        for i in range(n):
            if finished[i]:
                continue
            ch = int(nxt[i])
            texts[i].append(ch)
            if reads_clock:
                clock_now[i] = torch.tensor(clocks[i].feed(vocab.chars[ch]))
            before = texts[i][-2] if len(texts[i]) >= 2 else (newline if prime.endswith("\n") else None)
            if stop_at_end and ch == newline and before == newline:
                finished[i] = True
            elif len(texts[i]) >= s.max_chars:
                finished[i] = True
            elif s.bar_retries and ch == bar_id:
                if retries[i] < s.bar_retries and last_bar_is_wrong(prime + vocab.decode(texts[i])):
                    retries[i] += 1
                    rollback.append(i)
                else:
                    retries[i] = 0
                    accepted.append(i)
        if all(finished):
            break
        step_in = torch.cat([nxt[:, None], clock_now], dim=-1)[:, None] if reads_clock else nxt.view(n, 1)
        logits, (h, c) = model(step_in.to(device), (h, c))
        last = logits[:, -1].clone()
        for i in accepted:  # a new bar starts here
            snapshots[i] = (h[:, i].clone(), c[:, i].clone(), last[i].clone(), len(texts[i]),
                            clocks[i].snapshot() if reads_clock else None)
        for i in rollback:
            h[:, i], c[:, i], last[i], keep, clock = snapshots[i]
            del texts[i][keep:]
            if clock is not None:  # the model reads the bar clock
                clocks[i] = clock.snapshot()
    model.train(was_training)
    tunes = []
    for ids in texts:
        text = prime + vocab.decode(ids)
        tunes.append(text.split(TUNE_SEPARATOR)[0].rstrip() if stop_at_end else text)
    return tunes


def generation_speed(model: nn.Module, vocab: Vocab, n_chars: int = 500, batch: int = 1, seed: int = 0) -> float:
    """Characters per second generated (``batch`` tunes in parallel, no early stop)."""
    settings = SampleSettings(max_chars=n_chars, seed=seed)
    start = time.perf_counter()
    sample_tunes(model, vocab, batch, settings=settings, stop_at_end=False)
    return n_chars * batch / (time.perf_counter() - start)
