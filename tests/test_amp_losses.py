import math

import numpy as np
import pytest
import torch

from helpers import losses


def t(*v):
    return torch.tensor(v, dtype=torch.float64)


def test_esr_by_hand():
    # Σ(y−ŷ)² = 0² + 1² = 1, Σy² = 2  →  0.5
    assert losses.ESRLoss(eps=0)(t(1, 2), t(1, 1)).item() == pytest.approx(0.5)
    # batch mean of per-item ratios: (0.5 + 0) / 2
    assert losses.ESRLoss(eps=0)(torch.stack([t(1, 2), t(3, 3)]), torch.stack([t(1, 1), t(3, 3)])).item() == pytest.approx(0.25)
    assert losses.esr(np.zeros(3), np.ones(3)) == pytest.approx(1.0)  # silence scores 1


def test_pre_emphasis_filter_is_first_order_difference():
    f = losses.PreEmphasisFilter(0.5)
    assert f(t(1, 1, 1)).tolist() == [0.5, 0.5]
    assert f(t(0, 2, 4)).tolist() == [2.0, 3.0]  # 2 − 0.5·0, 4 − 0.5·2


def test_pre_emphasised_esr_by_hand():
    # target [1,1,1] → [0.5, 0.5]; prediction [1,2,1] → [1.5, 0];  (1² + 0.5²) / 0.5 = 2.5
    assert losses.PreEmphasisESRLoss(0.5, eps=0)(t(1, 2, 1), t(1, 1, 1)).item() == pytest.approx(2.5)
    assert losses.pre_emphasis_esr([1, 2, 1], [1, 1, 1], 0.5) == pytest.approx(2.5)
    with pytest.raises(ValueError):
        losses.PreEmphasisFilter(1.2)


def test_dc_loss_by_hand():
    assert losses.DCLoss(eps=0)(t(0, 0), t(1, 1)).item() == pytest.approx(1.0)
    assert losses.DCLoss(eps=0)(t(1, 3), t(2, 2)).item() == pytest.approx(0.0)
    assert losses.DCLoss(eps=0)(t(0, 1), t(2, 2)).item() == pytest.approx((2 - 0.5) ** 2 / 4)


def test_stft_losses_by_hand():
    target = torch.randn(1, 8192, generator=torch.Generator().manual_seed(0))
    assert losses.STFTLoss()(target, target).item() == pytest.approx(0.0, abs=1e-6)
    # Doubling the prediction: spectral convergence ‖t − 2t‖/‖t‖ = 1, log-magnitude |log 2| per bin.
    assert losses.STFTLoss()(2 * target, target).item() == pytest.approx(1 + math.log(2), rel=1e-3)
    assert losses.MultiResolutionSTFTLoss()(2 * target, target).item() == pytest.approx(1 + math.log(2), rel=1e-3)


def test_combined_loss_is_the_weighted_sum():
    pred, target = t(1, 2, 1), t(1, 1, 1)
    combo = losses.CombinedLoss({"esr": 2.0, "dc": 0.5}, pre_emphasis=0.5)
    parts = combo.parts(pred, target)
    assert combo(pred, target).item() == pytest.approx(2 * parts["esr"].item() + 0.5 * parts["dc"].item())
    with pytest.raises(ValueError, match="unknown loss"):
        losses.CombinedLoss({"l7": 1.0})


def test_mse_by_hand_and_its_link_to_whole_signal_esr():
    assert losses.MSELoss()(t(1, 2), t(1, 1)).item() == pytest.approx(0.5)
    pred = torch.stack([t(1, 2), t(0, 0)])
    target = torch.stack([t(1, 1), t(0.1, 0.1)])
    # MSE / mean(y²) is the ESR of the batch taken as one signal (not the mean of per-crop ratios).
    whole = losses.esr(pred.flatten(), target.flatten())
    assert (losses.MSELoss()(pred, target) / target.pow(2).mean()).item() == pytest.approx(whole)
    assert losses.ESRLoss(eps=0)(pred, target).item() != pytest.approx(whole)  # the quiet crop dominates
