import pytest
import torch

from helpers.models import PRESETS, build_model, model_from_config
from helpers.models.nam_wavenet import NAMWaveNet


@pytest.mark.parametrize("preset, weights", [("nano", 842), ("feather", 3026), ("lite", 6554), ("standard", 13802)])
def test_nam_presets_have_the_trainers_weight_counts(preset, weights):
    m = NAMWaveNet(preset)
    assert m.nam_weight_count() == weights
    assert m.receptive_field == 4093


ALL = [(f, p) for f, ps in PRESETS.items() for p in ps]


@pytest.mark.parametrize("family, preset", ALL)
def test_every_model_is_causal_with_the_stated_receptive_field(family, preset):
    torch.manual_seed(0)
    m = build_model(family, preset).double()
    for p in m.parameters():  # random weights so every path carries signal
        p.data.normal_(0, 0.3)
    rf = m.receptive_field
    x = (torch.randn(1, rf + 40, dtype=torch.float64) * 0.01).requires_grad_()
    y = m(x)
    assert y.shape == (1, 41)
    k = 20  # output k must depend on inputs k .. k + rf - 1, and on nothing else
    y[0, k].backward()
    support = (x.grad[0] != 0).nonzero().flatten()
    assert support.min().item() == k and support.max().item() == k + rf - 1


@pytest.mark.parametrize("family, preset", ALL)
def test_config_rebuilds_the_same_architecture(family, preset):
    m = build_model(family, preset)
    m2 = model_from_config(m.family, m.config())
    assert m2.config() == m.config()
    m2.load_state_dict(m.state_dict())
    x = torch.randn(2, m.receptive_field + 10)
    assert torch.equal(m(x), m2(x))


def test_process_pads_to_the_input_length_and_refuses_short_input():
    m = build_model("tcn", "edge_of_breakup")
    x = torch.randn(1000)
    assert m.process(x).shape == (1000,)
    with pytest.raises(ValueError, match="receptive field"):
        m.process(torch.randn(100), pad_start=False)


def test_unknown_names_are_clear_errors():
    with pytest.raises(ValueError, match="unknown model family"):
        build_model("lstm9")
    with pytest.raises(ValueError, match="unknown NAM preset"):
        build_model("nam", "huge")
    with pytest.raises(ValueError, match="unknown tcn preset"):
        build_model("tcn", "huge")
