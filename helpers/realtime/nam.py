"""Streaming engine for the NAM WaveNet (:class:`helpers.models.NAMWaveNet`).

Each layer's delay line holds rows ``[x (channels); c (condition); 1]``: the condition rides along
the residual stream (the residual 1×1 leaves those rows alone), so one matrix product per layer gives
``conv(x) + mixer(c) + bias``, and a second one gives ``x + 1x1(a) + bias`` straight into the next
layer's line. The activations of an array are kept in one ``(layers, channels, n)`` array and summed
once for the head.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from helpers.models.nam_wavenet import NAMWaveNet
from helpers.realtime.engine import (
    DEFAULT_CAPACITY,
    DelayLine,
    StreamingEngine,
    StreamingError,
    as_numpy,
    register_streamer,
    stacked_kernel,
)

_ACT = {"Tanh": np.tanh, "Sigmoid": expit, "ReLU": lambda z, out: np.maximum(z, 0.0, out=out)}


#: A layer's FiLM blocks: NAM position name → ``(weight (rows, condition_size), bias (rows,))`` of the 1×1 conv of
#: the condition giving ``[scale; shift]``.
LayerFilms = dict[str, tuple[np.ndarray, np.ndarray]]


class ArrayPlan:
    """Precomputed matrices and delay lines of one layer array (shared with the knob-conditioned engine).

    ``cond``: condition rows carried along (the input mixers read the first ``condition_size`` of them);
    ``prev_channels``: channels of the previous stage's ``x`` rows (the re-channel reads the first ``input_size``).
    ``films``: per layer its NAM FiLM blocks (:data:`LayerFilms`, any of ``conv_pre_film``, ``conv_post_film``,
    ``input_mixin_post_film``, ``activation_pre_film``, ``activation_post_film``, ``layer1x1_post_film``), each
    applied as ``v ← scale · v + shift`` with the condition at the same sample; ``None`` for none.
    """

    def __init__(self, array, cond: int, prev_rows: int, prev_channels: int, final: bool, capacity: int,
                 films: list[LayerFilms] | None = None):
        cfg = array.cfg
        c, k = cfg.channels, cfg.kernel_size
        self.channels, self.kernel, self.gated, self.final = c, k, cfg.gated, final
        self.rows = rows = c + cond + 1  # [x; condition; 1]
        self.dilations = list(cfg.dilations)
        self.act = _ACT[cfg.activation]
        # re-channel: previous stage rows [x_prev; c; 1] → [W x_prev; c; 1]
        re = np.zeros((rows, prev_rows), dtype=np.float32)
        w_in = as_numpy(array.rechannel.weight)[:, :, 0]
        if w_in.shape[1] > prev_channels:
            raise StreamingError(f"the re-channel reads {w_in.shape[1]} channels, the previous stage has {prev_channels}")
        re[:c, : w_in.shape[1]] = w_in
        re[c : c + cond, prev_channels : prev_channels + cond] = np.eye(cond, dtype=np.float32)
        re[rows - 1, prev_rows - 1] = 1.0
        self.rechannel = re
        if films is not None and len(films) != len(self.dilations):
            raise StreamingError(f"{len(films)} sets of FiLM blocks for {len(self.dilations)} layers")
        # per layer: FiLM name → (rows of [scale; shift], rows) matrix reading the layer's input rows [x; c; 1]
        self.films: list[dict[str, np.ndarray]] = []
        self.convs: list[np.ndarray] = []
        self.mixers: list[np.ndarray | None] = []  # the mixer apart from the conv (layers with FiLM between them)
        self.res: list[np.ndarray] = []
        for i, layer in enumerate(array.layers):
            layer_films = {}
            for name, (w, b) in (films[i] if films is not None else {}).items():
                f = np.zeros((w.shape[0], rows), dtype=np.float32)
                f[:, c : c + w.shape[1]] = w
                f[:, rows - 1] = b
                layer_films[name] = f
            self.films.append(layer_films)
            mixer = as_numpy(layer.input_mixer.weight)[:, :, 0]  # (mid, cond)
            extra = {rows - 1: as_numpy(layer.conv.bias)}
            separate = "conv_post_film" in layer_films or "input_mixin_post_film" in layer_films
            if separate:  # the conv and the mixer are modulated apart: two products
                m = np.zeros((mixer.shape[0], rows), dtype=np.float32)
                m[:, c : c + mixer.shape[1]] = mixer
                self.mixers.append(m)
            else:  # conv(x) + mixer(c) + bias in one product: the mixer reads the newest tap's condition rows
                extra.update({c + j: mixer[:, j] for j in range(mixer.shape[1])})
                self.mixers.append(None)
            self.convs.append(stacked_kernel(layer.conv.weight, rows, extra))
            res = np.zeros((rows, c + 1), dtype=np.float32)
            res[:c, :c] = as_numpy(layer.layer1x1.weight)[:, :, 0]
            res[:c, c] = as_numpy(layer.layer1x1.bias)
            self.res.append(res)
        self.head_w = as_numpy(array.head_rechannel.weight)[:, :, 0]
        self.head_b = as_numpy(array.head_rechannel.bias, (cfg.head_size,))[:, None]
        self.lines = [DelayLine(rows, (k - 1) * d, capacity, ones_rows=(rows - 1,)) for d in self.dilations]
        self._acts: np.ndarray | None = None

    def acts(self, n: int) -> np.ndarray:
        """``(layers, channels + 1, n)`` activation store with a ones row (reused between blocks)."""
        if self._acts is None or self._acts.shape[2] != n:
            self._acts = np.ones((len(self.dilations), self.channels + 1, n), dtype=np.float32)
        return self._acts

    @staticmethod
    def _modulate(v: np.ndarray, film: np.ndarray, rows: np.ndarray) -> None:
        """``v ← scale · v + shift`` in place, ``[scale; shift] = film @ rows`` (rows ``[x; c; 1]`` of the same samples)."""
        s = film @ rows
        dim = v.shape[0]
        v *= s[:dim]
        if len(s) > dim:
            v += s[dim:]

    def run(self, inp: np.ndarray, head: np.ndarray | None, q: int) -> tuple[np.ndarray, np.ndarray | None]:
        """``inp``: previous stage ``(prev_rows, n)``; returns ``(head_out, residual rows)`` (``None`` for the
        model's last array, whose residual output nothing reads)."""
        n = inp.shape[1]
        c, rows, lines, acts = self.channels, self.rows, self.lines, self.acts(n)
        np.matmul(self.rechannel, inp, out=lines[0].window(q, n))
        last = len(lines) - 1
        out = None
        for i, (line, d) in enumerate(zip(lines, self.dilations)):
            films, now = self.films[i], line.window(q, n)
            taps = line.taps(q, n, self.kernel, d)
            if "conv_pre_film" in films:  # every tap's x rows, modulated by the condition at that tap's sample
                taps = taps.copy() if self.kernel == 1 else taps  # kernel 1: taps is a view of the line
                for j in range(self.kernel):
                    tap = taps[j * rows : (j + 1) * rows]
                    self._modulate(tap[:c], films["conv_pre_film"], tap)
            z = self.convs[i] @ taps
            mixer = self.mixers[i]
            if mixer is not None:
                if "conv_post_film" in films:
                    self._modulate(z, films["conv_post_film"], now)
                m = mixer @ now
                if "input_mixin_post_film" in films:
                    self._modulate(m, films["input_mixin_post_film"], now)
                z += m
            if "activation_pre_film" in films:
                self._modulate(z, films["activation_pre_film"], now)
            a = acts[i, :c]
            if self.gated:
                self.act(z[:c], out=a)
                a *= expit(z[c:])
            else:
                self.act(z, out=a)
            if "activation_post_film" in films:
                self._modulate(a, films["activation_post_film"], now)
            if i < last or not self.final:
                r = self.res[i] @ acts[i]
                if "layer1x1_post_film" in films:
                    self._modulate(r[:c], films["layer1x1_post_film"], now)
                if i < last:
                    np.add(now, r, out=lines[i + 1].window(q, n))
                else:
                    out = now + r
        s = acts[:, :c].sum(axis=0)
        if head is not None:
            s += head
        return self.head_w @ s + self.head_b, out


class NAMStreamer(StreamingEngine):
    """Streams a :class:`NAMWaveNet` (condition = the raw input, as in the .nam format)."""

    def __init__(self, model: NAMWaveNet, capacity: int = DEFAULT_CAPACITY):
        super().__init__(model.receptive_field, capacity)
        cond = model.layer_cfgs[0].condition_size
        if cond != 1:
            raise StreamingError(f"streaming NAM models with extra condition inputs (condition size {cond}) is not supported yet; "
                                 "run the model offline (model(x)) or export it to a .nam file")
        self.head_scale = np.float32(model.head_scale)
        self.plans = []
        prev_rows, prev_channels = 1 + cond + 1, 1  # the input stage: [x; c; 1]
        for i, array in enumerate(model.arrays):
            plan = ArrayPlan(array, cond, prev_rows, prev_channels, i == len(model.arrays) - 1, capacity)
            self.plans.append(plan)
            self.lines.extend(plan.lines)
            prev_rows, prev_channels = plan.rows, plan.channels
        self._inp: np.ndarray | None = None

    def _run(self, x: np.ndarray, q: int) -> np.ndarray:
        n = len(x)
        if self._inp is None or self._inp.shape[1] != n:
            self._inp = np.ones((3, n), dtype=np.float32)
        inp = self._inp
        inp[0] = x
        inp[1] = x  # the condition is the raw input
        head = None
        for plan in self.plans:
            head, residual = plan.run(inp, head, q)
            inp = inp if residual is None else residual
        assert head is not None  # a model has at least one layer array
        return self.head_scale * head[0]


@register_streamer("nam")
def _build(model: NAMWaveNet, capacity: int = DEFAULT_CAPACITY) -> NAMStreamer:
    return NAMStreamer(model, capacity)
