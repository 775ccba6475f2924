"""How good is a capture? ESR on the held-out test range and per section of the capture signal."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from helpers.amp.data import AmpData
from helpers.amp.train import predict
from helpers.losses import esr, pre_emphasis_esr
from helpers.models import CausalModel

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
