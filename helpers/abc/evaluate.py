"""How well a character model predicts held-out tunes: mean cross-entropy in nats per character.

Divide by ln 2 for bits per character. A model with a bar clock reads ``(character id, clock features)`` rows,
which :func:`model_stream` builds from plain ids.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from helpers.abc import metre
from helpers.abc.vocab import Vocab, contiguous_streams
from helpers.errors import ConfigError

LN2 = math.log(2.0)


def model_stream(model: nn.Module, vocab: Vocab, ids: np.ndarray) -> np.ndarray:
    """What ``model`` reads from the character ids ``ids`` ``(n,)``: the ids themselves, or for a model with a
    bar clock ``(n, 4)`` rows of (character id, the three clock features after that character)."""
    if not getattr(model, "reads_clock", False) or ids.ndim == 2:
        return ids
    return np.concatenate([ids[:, None], metre.clock_states(vocab.decode(ids))], axis=-1)


@torch.no_grad()
def evaluate(model: nn.Module, ids: np.ndarray, *, n_streams: int = 16, chunk: int = 250, device: str | None = None,
             vocab: Vocab | None = None) -> float:
    """Mean cross-entropy (nats/char) of ``model`` over the vectorised stream ``ids``.

    The stream is cut into ``n_streams`` contiguous rows read in chunks of ``chunk`` characters with
    the LSTM state carried over, so every character is scored once with its full left context (up to
    its row's start). A model with a bar clock needs ``vocab`` (or ids from :func:`model_stream`).
    """
    if getattr(model, "reads_clock", False) and ids.ndim == 1:
        if vocab is None:
            raise ConfigError("this model reads the bar clock: pass vocab= or ids from model_stream(model, vocab, ids)")
        ids = model_stream(model, vocab, ids)
    device = device or next(model.parameters()).device.type
    was_training = model.training
    model.eval()
    x, y = contiguous_streams(ids, n_streams)
    total, count, state = 0.0, 0, None
    for s in range(0, x.shape[1], chunk):
        xb = torch.from_numpy(x[:, s : s + chunk]).to(device)
        yb = torch.from_numpy(y[:, s : s + chunk]).to(device)
        logits, state = model(xb, state)
        total += float(nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), yb.reshape(-1), reduction="sum"))
        count += yb.numel()
    model.train(was_training)
    return total / max(count, 1)
