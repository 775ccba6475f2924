"""How well a conditioned model covers the device's controls.

* :func:`evaluate_settings` — mean ESR over chosen recordings (settings) on one split's time ranges.
* :func:`esr_grid` — the 2×2 ESR grid: seen / unseen *audio* (the ``train`` vs ``test`` time ranges)
  × seen / unseen *settings* (``train`` vs ``heldout`` recordings, the latter never trained on).
* :func:`interpolation_curve` — ESR along one knob at positions never recorded, against the virtual
  device's true output rendered at each position.
* :func:`knob_move_check` — a knob moved mid-stream (through the streaming engine) must not click:
  the largest sample-to-sample jump around the move is compared with the jumps the output has at
  either setting alone over the same samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from helpers.audio import rms_dbfs
from helpers.capture.devices import get_device
from helpers.knobs.dataset import KnobData
from helpers.knobs.encoding import KnobEncoding
from helpers.knobs.models import KnobModel, predict
from helpers.knobs.space import KnobNameError, Setting
from helpers.losses import esr


def knob_vectors(data: KnobData, encoding: KnobEncoding) -> np.ndarray:
    """``(recordings, encoding.size)`` float32: every recording's encoded setting."""
    if encoding.space.names != data.space.names:
        raise KnobNameError(f"the model's knobs {encoding.space.names} differ from the data's {data.space.names}; "
                            "use the encoding the model was trained with on data of the same knobs")
    return np.stack([encoding.encode(s) for s in data.settings])


def evaluate_settings(model: KnobModel, data: KnobData, encoding: KnobEncoding, indices: list[int], split: str,
                      max_seconds: float | None = None) -> float:
    """Mean plain ESR over recordings ``indices`` on the time ranges of ``split`` (each range capped at
    ``max_seconds`` seconds), with real audio as the receptive field's context."""
    vecs = knob_vectors(data, encoding)
    rf = model.receptive_field
    values = []
    for i in indices:
        preds, targets = [], []
        for start, end in data.splits[split]:
            if max_seconds:
                end = min(end, start + int(max_seconds * data.sample_rate))
            xin, target = data.with_context(i, start, end, rf - 1)
            preds.append(predict(model, xin, vecs[i])[rf - 1 :])
            targets.append(target)
        values.append(esr(np.concatenate(preds), np.concatenate(targets)))
    return float(np.mean(values))


# ------------------------------------------------------------------------------------------ 2×2 grid
@dataclass
class ESRGrid:
    """``values[settings][audio]``: mean ESR, settings ∈ {seen, unseen}, audio ∈ {seen, unseen}."""

    values: dict[str, dict[str, float]]
    label: str = ""

    @property
    def unseen_setting_ratio(self) -> float:
        """Unseen-setting ESR / seen-setting ESR on unseen audio (1 = the knobs generalise perfectly)."""
        return self.values["unseen"]["unseen"] / max(self.values["seen"]["unseen"], 1e-12)

    def format(self) -> str:
        v = self.values
        return "\n".join([
            f"ESR {self.label}".rstrip(),
            f"{'':>16}{'seen audio':>13}{'unseen audio':>14}",
            f"{'seen settings':>16}{v['seen']['seen']:>13.4f}{v['seen']['unseen']:>14.4f}",
            f"{'unseen settings':>16}{v['unseen']['seen']:>13.4f}{v['unseen']['unseen']:>14.4f}",
            f"unseen/seen settings (unseen audio): {self.unseen_setting_ratio:.2f}×",
        ])

    def __str__(self) -> str:
        return self.format()


def esr_grid(model: KnobModel, data: KnobData, encoding: KnobEncoding, max_seconds: float | None = 2.0,
             label: str = "") -> ESRGrid:
    """The 2×2 grid; each cell averages the recordings' ESR over up to ``max_seconds`` per time range."""
    seen, unseen = data.indices("train"), data.indices("heldout")
    if not unseen:
        raise ValueError("the data has no held-out settings (role 'heldout'); see unseen_setting_split")
    if not data.splits.get("test"):
        raise ValueError("the data has no 'test' time ranges (unseen audio)")
    values = {name: {audio: evaluate_settings(model, data, encoding, idx, split, max_seconds)
                     for audio, split in (("seen", "train"), ("unseen", "test"))}
              for name, idx in (("seen", seen), ("unseen", unseen))}
    return ESRGrid(values, label)


# ------------------------------------------------------------------------------------------ interpolation
def device_output(data: KnobData, setting: Setting, x: np.ndarray) -> np.ndarray:
    """The virtual device of ``data`` at ``setting`` (its fixed knobs kept) on ``x``, at the data's output level."""
    if not data.device.get("virtual"):
        raise ValueError("the true output at unrecorded settings needs a virtual device; this dataset is a recording")
    dev = get_device(data.device["name"])
    gain = 10.0 ** (float(data.normalization.get("output_gain_db", 0.0)) / 20.0)
    y = dev.process(x, data.sample_rate, **{**data.device.get("fixed", {}), **setting})
    return (y * gain).astype(np.float32)


def evaluation_clip(data: KnobData, split: str = "test", max_seconds: float = 2.0) -> np.ndarray:
    """The first ``max_seconds`` of the ``split`` time range of the (shared) input signal."""
    start, end = data.splits[split][0]
    return data.inputs[0][start : min(end, start + int(max_seconds * data.sample_rate))]


def interpolation_curve(model: KnobModel, encoding: KnobEncoding, data: KnobData, knob: str,
                        positions: np.ndarray | list[float], x: np.ndarray,
                        base: Mapping[str, float] | None = None) -> list[dict]:
    """ESR along ``knob`` (the others at ``base``, default their defaults) against the device's true output.

    One row per position: ``position``, ``esr``, ``recorded`` (a training setting), ``true_rms_db`` and
    ``pred_rms_db`` (dBFS). ``x``: the input clip ``(samples,)``; both start from silence.
    """
    space = data.space
    base = space.check(dict(base or space.defaults()))
    trained = {tuple(sorted(data.settings[i].items())) for i in data.indices("train")}
    rows = []
    for pos in positions:
        setting = space.check({**base, knob: float(pos)})
        target = device_output(data, setting, x)
        pred = predict(model, x, encoding.encode(setting))
        rows.append({"position": float(pos), "esr": esr(pred, target),
                     "recorded": tuple(sorted(setting.items())) in trained,
                     "true_rms_db": rms_dbfs(target), "pred_rms_db": rms_dbfs(pred)})
    return rows


def plot_interpolation(curves: dict[str, list[dict]], title: str = ""):
    """One panel per knob: ESR against position, recorded positions marked. Returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(4.5 * len(curves), 3.2), squeeze=False)
    for ax, (knob, rows) in zip(axes[0], curves.items()):
        pos = [r["position"] for r in rows]
        ax.semilogy(pos, [r["esr"] for r in rows], "-", color="C0", label="ESR")
        rec = [r for r in rows if r["recorded"]]
        new = [r for r in rows if not r["recorded"]]
        ax.semilogy([r["position"] for r in rec], [r["esr"] for r in rec], "o", color="C0", label="recorded")
        ax.semilogy([r["position"] for r in new], [r["esr"] for r in new], "x", color="C3", label="never recorded")
        ax.set_xlabel(knob)
        ax.set_ylabel("ESR vs true device")
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------ knob-move check
@dataclass
class KnobMoveResult:
    """Sample-to-sample jumps around a knob move: ``move_jump`` (with the move) vs ``reference_jump``
    (the larger of the two settings held still, same samples); ``ratio`` = move / reference."""

    move_jump: float
    reference_jump: float
    ratio: float
    threshold: float
    at: int
    ramp: int

    @property
    def clicks(self) -> bool:
        return self.ratio > self.threshold

    def summary(self) -> str:
        verdict = "CLICK" if self.clicks else "no click"
        return (f"knob move at sample {self.at} (ramp {self.ramp} samples): largest jump {self.move_jump:.4f} vs "
                f"{self.reference_jump:.4f} with the knobs still → {self.ratio:.2f}× ({verdict}, limit "
                f"{self.threshold:g}×)")


def jump_ratio(y_move: np.ndarray, y_a: np.ndarray, y_b: np.ndarray, at: int, window: int,
               threshold: float = 1.5) -> KnobMoveResult:
    """Compare ``max |Δy_move|`` over samples ``[at, at + window)`` with ``max |Δy_a|, |Δy_b|`` there.

    A floor of 1e-4 × the outputs' peak keeps near-silent passages from producing huge ratios.
    """
    lo, hi = max(at, 1), min(len(y_move), at + window)
    if hi <= lo:
        raise ValueError(f"the move at sample {at} leaves no samples to check in a {len(y_move)}-sample signal")

    def jumps(y: np.ndarray) -> float:
        return float(np.max(np.abs(np.diff(y[lo - 1 : hi]))))

    floor = 1e-4 * max(float(np.max(np.abs(y_a))), float(np.max(np.abs(y_b))), 1e-12)
    ref = max(jumps(y_a), jumps(y_b), floor)
    move = jumps(y_move)
    return KnobMoveResult(move, ref, move / ref, threshold, at, 0)


def knob_move_check(model: KnobModel, encoding: KnobEncoding, x: np.ndarray, before: Mapping[str, float],
                    after: Mapping[str, float], at: int | None = None, ramp: int = 480, block_size: int = 64,
                    threshold: float = 1.5) -> KnobMoveResult:
    """Stream ``x`` through the model's real-time engine, moving the knobs from ``before`` to ``after`` at
    sample ``at`` (default the middle) over ``ramp`` samples (parameter smoothing; 0 = an instant jump)."""
    from helpers.realtime.conditioned import stream_knobs

    at = len(x) // 2 if at is None else int(at)
    track = encoding.track([before, after], [at], len(x), ramp=ramp)
    y_move = stream_knobs(model, x, track, block_size)
    y_a = stream_knobs(model, x, encoding.encode(before), block_size)
    y_b = stream_knobs(model, x, encoding.encode(after), block_size)
    res = jump_ratio(y_move, y_a, y_b, at, max(ramp, 1) + model.receptive_field, threshold)
    res.ramp = ramp
    return res
