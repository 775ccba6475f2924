"""Plain ``IPython.display.Audio`` fallbacks of the interactive players (notebooks 03, 05 and 07)."""

from __future__ import annotations

import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from helpers import players
from helpers.amp.listen import abx_player
from helpers.players import Clip, PlainPlayer, plain_audio, use_plain_audio


@pytest.fixture
def plain():
    use_plain_audio(True)
    yield
    use_plain_audio(None)


def shown(obj) -> list[dict]:
    """The display outputs ``display(obj)`` produces in a real IPython shell."""
    shell = InteractiveShell.instance()
    with capture_output() as cap:
        shell.display_formatter  # noqa: B018  (the shell must exist before display)
        from IPython.display import display

        display(obj)
    return [o.data for o in cap.outputs]


def test_setting_then_environment_then_automatic(monkeypatch):
    monkeypatch.setenv("NAL_PLAIN_AUDIO", "1")
    assert plain_audio()
    monkeypatch.setenv("NAL_PLAIN_AUDIO", "0")
    assert not plain_audio()
    use_plain_audio(True)
    try:
        assert plain_audio()  # the notebook's choice wins over the environment
    finally:
        use_plain_audio(None)
    monkeypatch.delenv("NAL_PLAIN_AUDIO")
    assert not plain_audio()  # ipywidgets is installed here, so widgets are the automatic choice


def test_plain_player_shows_labelled_audio_elements():
    rate = 8000
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate).astype(np.float32)
    player = PlainPlayer("two clips", [("first", tone, rate), Clip("second", tone[::-1].copy(), rate, "<i>x</i>")],
                         note="a note", score={"right": 0})
    outs = shown(player)
    html = " ".join(o.get("text/html", "") for o in outs)
    assert "two clips" in html and "a note" in html and "first" in html and "<i>x</i>" in html
    assert html.count("<audio") == 2
    assert player.score == {"right": 0}


def test_abx_player_falls_back_to_plain_players(plain):
    rate, n = 8000, 8000
    rng = np.random.default_rng(0)
    dry = (0.1 * rng.standard_normal(n)).astype(np.float32)
    target, pred = np.tanh(3 * dry), np.tanh(2.8 * dry)
    sections = [{"name": "a", "start": 0, "end": 4000}, {"name": "b", "start": 4000, "end": 8000}]
    player = abx_player(dry, target, pred, rate, sections)
    assert isinstance(player, PlainPlayer)
    assert [c.label for c in player.items][:4] == ["a: dry", "a: target", "a: prediction", "a: residual"]
    assert len(player.items) == 8
    html = " ".join(o.get("text/html", "") for o in shown(player))
    assert html.count("<audio") == 8 and "needs widgets" in html


def test_widgets_when_not_plain():
    use_plain_audio(False)
    try:
        rate = 8000
        x = np.zeros(rate, dtype=np.float32)
        player = abx_player(x, x, x, rate, [{"name": "a", "start": 0, "end": rate}])
        assert not isinstance(player, PlainPlayer) and hasattr(player, "children")
    finally:
        players.use_plain_audio(None)


def test_tune_browser_falls_back_to_plain_pages(plain):
    from helpers.abc.widgets import tune_browser

    tune = "X:1\nT:Plain\nM:4/4\nL:1/8\nK:D\nDEFG ABcd|dcBA GFED|\n"
    player = tune_browser([tune, tune.replace("Plain", "Second")], extra=[{"novel": "yes"}, {"novel": "no"}])
    assert isinstance(player, PlainPlayer) and len(player.items) == 2
    html = " ".join(o.get("text/html", "") for o in shown(player))
    assert html.count("<audio") == 2 and "T:Second" in html and "data:image/png;base64," in html and "novel" in html


def test_knob_player_falls_back_to_plain_clips_at_a_few_settings(plain):
    import torch

    from helpers.knobs.dataset import ensure_demo_knob_dataset, load_knob_dataset
    from helpers.knobs.encoding import make_encoding
    from helpers.knobs.evaluate import evaluation_clip
    from helpers.knobs.listen import knob_player
    from helpers.knobs.models import build_knob_model, predict

    data = load_knob_dataset(ensure_demo_knob_dataset("overdrive", ("drive", "tone"), levels=2, heldout=1))
    values = make_encoding("values", data.space)
    torch.manual_seed(0)
    model = build_knob_model("concat", 2).eval()
    clip = evaluation_clip(data, max_seconds=0.05)
    player = knob_player(model, values, data, clip, {"drive": 7.0, "tone": 3.0}, block_size=64)
    assert isinstance(player, PlainPlayer)
    assert list(player.settings) == ["drive=7 tone=3", "drive=0 tone=0", "drive=5 tone=5", "drive=10 tone=10"]
    assert set(player.clips) == {"model", "device"} and len(player.clips["model"]) == len(clip)
    # the model played through its streaming engine (64-sample blocks) is the offline model
    np.testing.assert_allclose(player.clips["model"], predict(model, clip, values.encode({"drive": 7, "tone": 3})),
                               atol=1e-5)
    html = " ".join(o.get("text/html", "") for o in shown(player))
    assert html.count("<audio") == 8 and "drive=10 tone=10: device" in html and "sliders need widgets" in html
