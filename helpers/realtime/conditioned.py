"""Streaming engines for the knob-conditioned models of :mod:`helpers.knobs.models`.

A plugin turns a knob while audio plays, so the engines take the knob vector with every block:
``engine.process_block(x, knobs)`` where ``knobs`` is ``(k,)`` (held for the block and after) or
``(k, n)`` (one vector per sample: a smoothed knob move). Without ``knobs`` the last values stay.
``reset(knobs)`` pre-warms with ``receptive_field - 1`` zeros at those knob values, which is what
``model.process(x, knobs=knobs)`` assumes (zero audio history, the first knob vector held).

Knob smoothing as a plugin does it: with ``engine.smoothing = ramp`` (samples, e.g. 480 = 10 ms at 48 kHz),
a new ``(k,)`` knob vector handed to ``process_block`` is not jumped to but reached by a linear ramp over
``ramp`` samples starting at that block's first sample (:class:`KnobSmoother`, the same ramp as
:meth:`helpers.knobs.encoding.KnobEncoding.track` and the click check use). :func:`stream_knob_moves` streams a
signal with knob moves between blocks; :func:`smoothed_knob_curve` gives the per-sample knob values it used, so
``predict(model, x, curve)`` reproduces the stream offline.

* ``knob_nam`` (concat and FiLM): the NAM engine's layer plans on the model input ``[x; knobs]``, which is also
  the condition (rows ``[x; knobs; x; knobs; 1]`` at the input stage); FiLM blocks scale and shift each layer's
  pre-activation from the condition rows of that layer's delay line, sample by sample;
* ``knob_lstm``: a NumPy LSTM cell stepping sample by sample (input projections per block).
"""

from __future__ import annotations

from collections.abc import Mapping

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


class KnobSmoother:
    """Linear parameter smoothing: a new target is reached ``ramp`` samples after it was set.

    Sample ``j`` (0-based) after :meth:`set_target` holds ``start + (target - start) · (j + 1) / ramp`` for
    ``j < ramp`` and ``target`` after (float32, the formula of :meth:`KnobEncoding.track`); ``start`` is the value
    of the last sample produced, so a target set mid-ramp starts from where the knob is. ``ramp = 0``: jump.
    """

    def __init__(self, num_knobs: int, ramp: int = 0):
        if ramp < 0:
            raise StreamingError(f"the smoothing ramp must be ≥ 0 samples, got {ramp}")
        self.ramp = int(ramp)
        self.value = np.zeros(num_knobs, dtype=np.float32)  # the last sample's knob values
        self.start = self.value.copy()
        self.target = self.value.copy()
        self.pos = self.ramp  # samples since the target was set (≥ ramp: settled)

    @property
    def ramping(self) -> bool:
        """Whether the knobs are still on their way to the target."""
        return self.pos < self.ramp

    def jump(self, values: np.ndarray) -> None:
        """Set the knobs to ``values`` ``(k,)`` at once (no ramp)."""
        self.value = np.asarray(values, dtype=np.float32).reshape(-1).copy()
        self.start, self.target, self.pos = self.value.copy(), self.value.copy(), self.ramp

    def set_target(self, values: np.ndarray) -> None:
        """Ramp from the current value to ``values`` ``(k,)`` over the next ``ramp`` samples (jump if ``ramp`` is 0)."""
        v = np.asarray(values, dtype=np.float32).reshape(-1)
        if self.ramp == 0:
            self.jump(v)
        elif not np.array_equal(v, self.target):
            self.start, self.target, self.pos = self.value.copy(), v.copy(), 0

    def next(self, n: int) -> np.ndarray:
        """The knob values of the next ``n`` samples ``(k, n)`` float32."""
        out = np.empty((len(self.value), n), dtype=np.float32)
        out[:] = self.target[:, None]
        m = min(max(self.ramp - self.pos, 0), n)  # samples of this stretch still on the ramp
        if m:
            w = (np.arange(self.pos, self.pos + m, dtype=np.float32) + 1) / self.ramp
            out[:, :m] = self.start[:, None] + (self.target - self.start)[:, None] * w[None]
        self.pos += n
        if n:
            self.value = out[:, -1].copy()
        return out


def smoothed_knob_curve(start: np.ndarray, moves: Mapping[int, np.ndarray], length: int, ramp: int) -> np.ndarray:
    """``(k, length)`` knob values when the knobs start at ``start`` ``(k,)`` and each ``moves[sample]`` ``(k,)`` is
    set as the new target at that sample, smoothed by :class:`KnobSmoother` over ``ramp`` samples."""
    s = np.asarray(start, dtype=np.float32).reshape(-1)
    smoother = KnobSmoother(len(s), ramp)
    smoother.jump(s)
    out = np.empty((len(s), length), dtype=np.float32)
    edges = sorted(p for p in moves if 0 <= p < length)
    pos = 0
    for edge in [*edges, length]:
        out[:, pos:edge] = smoother.next(edge - pos)
        if edge < length:
            smoother.set_target(moves[edge])
        pos = edge
    return out


class ConditionedEngine(StreamingEngine):
    """Base of the conditioned engines: keeps the current knob vector and hands each piece its knobs.

    ``smoothing`` (samples): ramp length for knob vectors handed to :meth:`process_block` as ``(k,)``
    (0: they take effect at once)."""

    def __init__(self, receptive_field: int, num_knobs: int, capacity: int = DEFAULT_CAPACITY):
        super().__init__(receptive_field, capacity)
        self.num_knobs = num_knobs
        self.knobs = np.zeros(num_knobs, dtype=np.float32)
        self._smoother = KnobSmoother(num_knobs, 0)
        self._block_knobs: np.ndarray | None = None  # (k, n) for the piece being run, or None = constant

    @property
    def smoothing(self) -> int:
        """Knob smoothing ramp in samples (0 = none)."""
        return self._smoother.ramp

    @smoothing.setter
    def smoothing(self, ramp: int) -> None:
        self._smoother = KnobSmoother(self.num_knobs, int(ramp))
        self._smoother.jump(self.knobs)

    def set_knobs(self, knobs: np.ndarray) -> None:
        """Hold ``knobs`` ``(k,)`` from the next sample on (an instant move; no re-warming, no smoothing)."""
        k = np.asarray(knobs, dtype=np.float32).reshape(-1)
        if k.shape[0] != self.num_knobs:
            raise StreamingError(f"expected {self.num_knobs} knob values, got {k.shape[0]}")
        self.knobs = k.copy()
        self._smoother.jump(self.knobs)

    def reset(self, knobs: np.ndarray | None = None) -> None:
        """Clear the state and pre-warm with zeros at ``knobs`` (default: the current knob values)."""
        if knobs is not None:
            self.set_knobs(knobs)
        else:
            self.set_knobs(self._smoother.target)  # a ramp in progress ends at its target
        self._reset_state()
        super().reset()

    def _reset_state(self) -> None:
        """Subclasses clear state that is not in delay lines."""

    def process_block(self, x: np.ndarray, knobs: np.ndarray | None = None) -> np.ndarray:
        """The next ``n`` samples with ``knobs`` ``(k,)``, ``(k, n)`` or ``None`` (keep); returns ``n`` samples.

        With :attr:`smoothing` > 0 a ``(k,)`` vector becomes the target of a ramp that starts at this block."""
        x = np.asarray(x, dtype=np.float32)
        kn = None if knobs is None else np.asarray(knobs, dtype=np.float32)
        if kn is not None and kn.ndim == 1:
            if kn.shape[0] != self.num_knobs:
                raise StreamingError(f"expected {self.num_knobs} knob values, got {kn.shape[0]}")
            if self.smoothing:
                self._smoother.set_target(kn)
            else:
                self.set_knobs(kn)
            kn = None
        if kn is None:
            if not self._smoother.ramping:
                self.knobs = self._smoother.target.copy()  # a finished ramp ends exactly on its target
                return super().process_block(x)
            kn = self._smoother.next(len(x))
            self.knobs = self._smoother.value.copy()
            return self._per_sample(x, kn)
        if kn.shape != (self.num_knobs, len(x)):
            raise StreamingError(f"per-sample knobs must be ({self.num_knobs}, {len(x)}), got {kn.shape}")
        out = self._per_sample(x, kn)
        self.set_knobs(kn[:, -1])
        return out

    def _per_sample(self, x: np.ndarray, kn: np.ndarray) -> np.ndarray:
        """Run ``x`` with one knob vector per sample ``kn`` ``(k, n)``."""
        out = np.empty(len(x), dtype=np.float32)
        for i in range(0, len(x), self.capacity):
            self._block_knobs = kn[:, i : i + self.capacity]
            try:
                out[i : i + self.capacity] = super().process_block(x[i : i + self.capacity])
            finally:
                self._block_knobs = None
        return out

    def _knob_rows(self, n: int) -> np.ndarray:
        """``(k, n)`` knob values for the piece being run."""
        if self._block_knobs is not None:
            return self._block_knobs
        return np.broadcast_to(self.knobs[:, None], (self.num_knobs, n))


class ConditionedWaveNetStreamer(ConditionedEngine):
    """Streams a ``knob_nam`` model (concat or FiLM) built from its PyTorch weights: NAM's 0.7 WaveNet on the
    ``1 + k`` input channels ``[x; knobs]``, which are also the condition."""

    def __init__(self, model, capacity: int = DEFAULT_CAPACITY):
        super().__init__(model.receptive_field, model.num_knobs, capacity)
        self.mechanism = model.mechanism
        ch = self.channels = 1 + model.num_knobs
        self.head_scale = np.float32(model.head_scale)
        films = [(w.float().numpy(), b.float().numpy()) for w, b in model.film_weights()]
        per = len(model.film_positions)
        self.plans = []
        prev_rows, prev_channels = 2 * ch + 1, ch  # the input stage: [x; knobs] as input, [x; knobs] as condition, 1
        used = 0
        for i, array in enumerate(model.arrays):
            per_layer = None
            if films:
                n = len(array.layers) * per
                per_layer = [dict(zip(model.film_positions, films[used + j * per : used + (j + 1) * per]))
                             for j in range(len(array.layers))]
                used += n
            plan = ArrayPlan(array, ch, prev_rows, prev_channels, i == len(model.arrays) - 1, capacity, per_layer)
            self.plans.append(plan)
            self.lines.extend(plan.lines)
            prev_rows, prev_channels = plan.rows, plan.channels
        self._inp: np.ndarray | None = None

    def _run(self, x: np.ndarray, q: int) -> np.ndarray:
        n, ch = len(x), self.channels
        if self._inp is None or self._inp.shape[1] != n:
            self._inp = np.ones((2 * ch + 1, n), dtype=np.float32)
        inp = self._inp
        kn = self._knob_rows(n)
        inp[0] = x
        inp[1:ch] = kn
        inp[ch] = x
        inp[ch + 1 : 2 * ch] = kn
        head = None
        for plan in self.plans:
            head, residual = plan.run(inp, head, q)
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


def stream_knob_moves(model, x: np.ndarray, start: np.ndarray, moves: Mapping[int, np.ndarray], block_size: int = 64,
                      ramp: int = 480) -> np.ndarray:
    """Stream ``x`` ``(samples,)`` in blocks of ``block_size`` as a plugin does: the knobs start at ``start`` ``(k,)``
    (encoded, 0..1) and each ``moves[sample]`` ``(k,)`` is handed over with the block that begins at that sample
    (a multiple of ``block_size``), smoothed over ``ramp`` samples by the engine. Equals
    ``predict(model, x, smoothed_knob_curve(start, moves, len(x), ramp))`` to float32 precision."""
    from helpers.realtime.engine import make_streamer

    if block_size < 1:
        raise StreamingError(f"block_size must be ≥ 1 sample, got {block_size}")
    off_grid = [p for p in moves if p % block_size]
    if off_grid:
        raise StreamingError(f"knob moves reach a plugin between blocks: samples {off_grid} are not multiples of the "
                             f"block size {block_size}")
    engine = make_streamer(model)
    assert isinstance(engine, ConditionedEngine)  # a knob model gets a conditioned engine
    engine.smoothing = ramp
    engine.reset(np.asarray(start, dtype=np.float32))
    x = np.asarray(x, dtype=np.float32)
    out = np.empty(len(x), dtype=np.float32)
    for i in range(0, len(x), block_size):
        out[i : i + block_size] = engine.process_block(x[i : i + block_size], moves.get(i))
    return out
