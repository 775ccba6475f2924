"""How good is a capture? Prediction over whole signals, ESR on a split, on the test range and per section."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from helpers.amp.data import AmpData
from helpers.losses import esr, pre_emphasis_esr
from helpers.models import CausalModel


@torch.no_grad()
def predict(model: CausalModel, x: np.ndarray, chunk: int = 262_144, device: str | None = None) -> np.ndarray:
    """Run ``model`` over a whole signal ``x`` ``(samples,)`` with zero history before the start, in chunks of
    ``chunk`` samples; returns ``(samples,)`` float32."""
    device = device or next(model.parameters()).device.type
    rf = model.receptive_field
    padded = np.concatenate([np.zeros(rf - 1, dtype=np.float32), np.asarray(x, dtype=np.float32)])
    out = np.empty(len(x), dtype=np.float32)
    was_training = model.training
    model.eval()
    for start in range(0, len(x), chunk):
        end = min(start + chunk, len(x))
        seg = torch.from_numpy(padded[start : end + rf - 1]).to(device)[None]
        out[start:end] = model(seg)[0].float().cpu().numpy()
    model.train(was_training)
    return out


@torch.no_grad()
def evaluate_split(model: CausalModel, data: AmpData, split: str) -> float:
    """Plain ESR of the model over every range of ``split`` (with real audio as receptive-field context)."""
    preds, targets = [], []
    for start, end in data.splits[split]:
        xin, target = data.with_context(start, end, model.receptive_field)
        preds.append(predict(model, xin)[model.receptive_field - 1 :])
        targets.append(target)
    return esr(np.concatenate(preds), np.concatenate(targets))


#: NAM's reading of validation ESR (plain): below each bound, the verdict beside it.
VERDICTS = ((0.01, "great"), (0.035, "not bad"), (0.1, "might sound OK"), (float("inf"), "needs work"))


def verdict(value: float) -> str:
    """NAM's words for an ESR value."""
    return next(word for bound, word in VERDICTS if value < bound)


@dataclass
class Evaluation:
    """Test-split scores, per-section scores (worst first) and the aligned signals behind them."""

    test_esr: float
    test_pre_esr: float
    sections: list[dict] = field(default_factory=list)
    prediction: np.ndarray | None = None  #: model output over the whole capture (samples,)

    @property
    def verdict(self) -> str:
        return verdict(self.test_esr)

    def worst_section(self) -> dict | None:
        return self.sections[0] if self.sections else None


def evaluate(model: CausalModel, data: AmpData, *, coefficient: float = 0.85) -> Evaluation:
    """Score ``model`` on ``data``: plain and pre-emphasised ESR on the test ranges and on each section.

    The whole capture is predicted once (zero history before the start); each section is scored on
    its own samples. Sections that are silent in the target (gaps) are skipped.
    """
    pred = predict(model, data.x)
    ranges = data.splits.get("test") or data.splits["validation"]
    idx = np.concatenate([np.arange(s, e) for s, e in ranges])
    result = Evaluation(esr(pred[idx], data.y[idx]), pre_emphasis_esr(pred[idx], data.y[idx], coefficient),
                        prediction=pred)
    split_of = {}
    for split, rs in data.splits.items():
        for s, e in rs:
            split_of[(s, e)] = split
    rows = []
    overall = float(np.mean(data.y.astype(np.float64) ** 2))
    for sec in data.sections:
        s, e = int(sec["start"]), int(sec["end"])
        target = data.y[s:e]
        # Gaps hold only noise: their ESR says nothing about the model (40 dB below the capture's level).
        if sec.get("role") == "gap" or e - s < 2 or float(np.mean(target.astype(np.float64) ** 2)) < 1e-4 * overall:
            continue
        split = next((name for (a, b), name in split_of.items() if a <= s and e <= b), sec.get("role", "-"))
        rows.append({"section": sec["name"], "split": split, "start": s, "end": e,
                     "seconds": (e - s) / data.sample_rate, "esr": esr(pred[s:e], target),
                     "pre_esr": pre_emphasis_esr(pred[s:e], target, coefficient)})
    result.sections = sorted(rows, key=lambda r: -r["esr"])
    return result
