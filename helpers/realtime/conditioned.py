"""Streaming engines for the knob-conditioned models of :mod:`helpers.knobs.models`.

A plugin turns a knob while audio plays, so the engines take the knob vector with every block:
``engine.process_block(x, knobs)`` where ``knobs`` is ``(k,)`` (held for the block and after) or
``(k, n)`` (one vector per sample: a smoothed knob move). Without ``knobs`` the last values stay.
``reset(knobs)`` pre-warms with ``receptive_field - 1`` zeros at those knob values, which is what
``model.process(x, knobs=knobs)`` assumes (zero audio history, the first knob vector held).

* ``knob_nam``/``concat``: the NAM engine's layer plans with ``condition = [x; knobs]`` rows;
* ``knob_nam``/``film``: the same plans plus the per-layer scale and shift from the knob MLP;
* ``knob_lstm``: a NumPy LSTM cell stepping sample by sample (input projections per block).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from helpers.realtime.engine import (
    DEFAULT_CAPACITY,
    StreamingEngine,
    StreamingError,
    as_numpy,
    register_streamer,
)
from helpers.realtime.nam import ArrayPlan


class ConditionedEngine(StreamingEngine):
    """Base of the conditioned engines: keeps the current knob vector and hands each piece its knobs."""

    def __init__(self, receptive_field: int, num_knobs: int, capacity: int = DEFAULT_CAPACITY):
        super().__init__(receptive_field, capacity)
        self.num_knobs = num_knobs
        self.knobs = np.zeros(num_knobs, dtype=np.float32)
        self._block_knobs: np.ndarray | None = None  # (k, n) for the piece being run, or None = constant

    def set_knobs(self, knobs: np.ndarray) -> None:
        """Hold ``knobs`` ``(k,)`` from the next sample on (an instant move; no re-warming)."""
        k = np.asarray(knobs, dtype=np.float32).reshape(-1)
        if k.shape[0] != self.num_knobs:
            raise StreamingError(f"expected {self.num_knobs} knob values, got {k.shape[0]}")
        self.knobs = k.copy()

    def reset(self, knobs: np.ndarray | None = None) -> None:
        """Clear the state and pre-warm with zeros at ``knobs`` (default: the current knob values)."""
        if knobs is not None:
            self.set_knobs(knobs)
        self._reset_state()
        super().reset()

    def _reset_state(self) -> None:
        """Subclasses clear state that is not in delay lines."""

    def process_block(self, x: np.ndarray, knobs: np.ndarray | None = None) -> np.ndarray:
        """The next ``n`` samples with ``knobs`` ``(k,)``, ``(k, n)`` or ``None`` (keep); returns ``n`` samples."""
        x = np.asarray(x, dtype=np.float32)
        if knobs is None:
            return super().process_block(x)
        kn = np.asarray(knobs, dtype=np.float32)
        if kn.ndim == 1:
            self.set_knobs(kn)
            return super().process_block(x)
        if kn.shape != (self.num_knobs, len(x)):
            raise StreamingError(f"per-sample knobs must be ({self.num_knobs}, {len(x)}), got {kn.shape}")
        out = np.empty(len(x), dtype=np.float32)
        for i in range(0, len(x), self.capacity):
            self._block_knobs = kn[:, i : i + self.capacity]
            try:
                out[i : i + self.capacity] = super().process_block(x[i : i + self.capacity])
            finally:
                self._block_knobs = None
        self.set_knobs(kn[:, -1])
        return out

    def _knob_rows(self, n: int) -> np.ndarray:
        """``(k, n)`` knob values for the piece being run."""
        if self._block_knobs is not None:
            return self._block_knobs
        return np.broadcast_to(self.knobs[:, None], (self.num_knobs, n))


class ConditionedWaveNetStreamer(ConditionedEngine):
    """Streams a ``knob_nam`` model (concat or FiLM) built from its PyTorch weights."""

    def __init__(self, model, capacity: int = DEFAULT_CAPACITY):
        super().__init__(model.receptive_field, model.num_knobs, capacity)
        self.mechanism = model.mechanism
        k = model.num_knobs
        cond = 1 + k if self.mechanism == "concat" else 1
        self.cond = cond
        self.head_scale = np.float32(model.head_scale)
        self.plans = []
        prev_rows, prev_channels = 1 + cond + 1, 1  # the input stage: [x; condition; 1]
        for i, array in enumerate(model.arrays):
            plan = ArrayPlan(array, cond, prev_rows, prev_channels, i == len(model.arrays) - 1, capacity)
            self.plans.append(plan)
            self.lines.extend(plan.lines)
            prev_rows, prev_channels = plan.rows, plan.channels
        if self.mechanism == "film":
            f = model.film
            self.film_w1, self.film_b1 = as_numpy(f[0].weight)[:, :, 0], as_numpy(f[0].bias)[:, None]
            self.film_w2, self.film_b2 = as_numpy(f[2].weight)[:, :, 0], as_numpy(f[2].bias)[:, None]
            self.film_sizes = list(model.film_sizes)

    def _film(self, kn: np.ndarray) -> list[list[tuple[np.ndarray, np.ndarray]]]:
        """Per plan, per layer ``(γ, β)`` of shape ``(channels, 1 or n)``."""
        if self._block_knobs is None:
            kn = self.knobs[:, None]  # constant knobs: one MLP evaluation per block
        p = self.film_w2 @ np.tanh(self.film_w1 @ kn + self.film_b1) + self.film_b2
        flat, off = [], 0
        for size in self.film_sizes:
            flat.append((p[off : off + size], p[off + size : off + 2 * size]))
            off += 2 * size
        out, i = [], 0
        for plan in self.plans:
            out.append(flat[i : i + len(plan.dilations)])
            i += len(plan.dilations)
        return out

    def _run(self, x: np.ndarray, q: int) -> np.ndarray:
        n = len(x)
        kn = self._knob_rows(n)
        inp = np.ones((1 + self.cond + 1, n), dtype=np.float32)
        inp[0] = x
        inp[1] = x
        if self.mechanism == "concat":
            inp[2 : 2 + self.num_knobs] = kn
            head = None
            for plan in self.plans:
                head, residual = plan.run(inp, head, q)
                inp = inp if residual is None else residual
        else:
            film = self._film(kn)
            head = None
            for plan, f in zip(self.plans, film):
                head, residual = plan.run(inp, head, q, film=f)
                inp = inp if residual is None else residual
        assert head is not None  # a model has at least one layer array
        return self.head_scale * head[0]


class ConditionedLSTMStreamer(ConditionedEngine):
    """Streams a ``knob_lstm`` model: PyTorch's LSTM cell (gates i, f, g, o) in NumPy float32."""

    def __init__(self, model, capacity: int = DEFAULT_CAPACITY):
        super().__init__(model.receptive_field, model.num_knobs, capacity)
        self.w_ih = as_numpy(model.rec.weight_ih_l0)
        self.w_hh = as_numpy(model.rec.weight_hh_l0)
        self.bias = as_numpy(model.rec.bias_ih_l0) + as_numpy(model.rec.bias_hh_l0)
        self.lin_w, self.lin_b = as_numpy(model.lin.weight)[0], float(model.lin.bias.detach()[0])
        self.skip = model.skip
        self.hidden = model.hidden_size
        self.h = np.zeros(self.hidden, dtype=np.float32)
        self.c = np.zeros(self.hidden, dtype=np.float32)

    def _reset_state(self) -> None:
        self.h[:] = 0.0
        self.c[:] = 0.0

    def _run(self, x: np.ndarray, q: int) -> np.ndarray:
        n, hs = len(x), self.hidden
        inp = np.vstack([x[None], self._knob_rows(n)])  # (1 + k, n)
        pre = (self.w_ih @ inp).T + self.bias  # input projections of the whole block at once
        hout = np.empty((n, hs), dtype=np.float32)
        h, c, w_hh = self.h, self.c, self.w_hh
        for t in range(n):  # the recurrence itself is sequential
            g = pre[t] + w_hh @ h
            i, f = expit(g[:hs]), expit(g[hs : 2 * hs])
            c = f * c + i * np.tanh(g[2 * hs : 3 * hs])
            h = expit(g[3 * hs :]) * np.tanh(c)
            hout[t] = h
        self.h, self.c = h.astype(np.float32), c.astype(np.float32)
        y = hout @ self.lin_w + self.lin_b
        return (y + x if self.skip else y).astype(np.float32)


@register_streamer("knob_nam")
def _build_wavenet(model, capacity: int = DEFAULT_CAPACITY) -> ConditionedWaveNetStreamer:
    return ConditionedWaveNetStreamer(model, capacity)


@register_streamer("knob_lstm")
def _build_lstm(model, capacity: int = DEFAULT_CAPACITY) -> ConditionedLSTMStreamer:
    return ConditionedLSTMStreamer(model, capacity)


def stream_knobs(model, x: np.ndarray, knobs: np.ndarray, block_size: int = 64) -> np.ndarray:
    """Stream ``x`` ``(samples,)`` through a fresh engine in blocks, with encoded ``knobs`` ``(k,)`` or
    ``(k, samples)``; equals ``model.process(x, knobs=knobs)`` to float32 precision."""
    from helpers.realtime.engine import make_streamer

    if block_size < 1:
        raise StreamingError(f"block_size must be ≥ 1 sample, got {block_size}")
    engine = make_streamer(model)
    assert isinstance(engine, ConditionedEngine)  # a knob model gets a conditioned engine
    kn = np.asarray(knobs, dtype=np.float32)
    engine.reset(kn if kn.ndim == 1 else kn[:, 0])
    x = np.asarray(x, dtype=np.float32)
    out = np.empty(len(x), dtype=np.float32)
    for i in range(0, len(x), block_size):
        k = kn if kn.ndim == 1 else kn[:, i : i + block_size]
        out[i : i + block_size] = engine.process_block(x[i : i + block_size], k)
    return out
