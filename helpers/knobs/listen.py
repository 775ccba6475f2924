"""Listening to a conditioned model: one slider per knob, the model next to the true device.

Built from ipywidgets only (sliders, a button, ``ipywidgets.Audio`` players fed by
``IPython.display.Audio``'s WAV bytes) — no ``Output`` capture, so it renders in headless runs too.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from helpers.amp.listen import loudness_match, wav_widget
from helpers.knobs.dataset import KnobData
from helpers.knobs.encoding import KnobEncoding
from helpers.knobs.models import KnobModel, predict


def render_setting(model: KnobModel, encoding: KnobEncoding, data: KnobData, x: np.ndarray,
                   setting: Mapping[str, float]) -> dict[str, np.ndarray]:
    """``{"model": …, "device": …}`` at ``setting`` on clip ``x`` (device only for virtual devices)."""
    from helpers.knobs.evaluate import device_output

    s = encoding.space.check(dict(setting))
    clips = {"model": predict(model, x, encoding.encode(s))}
    if data.device.get("virtual"):
        clips["device"] = device_output(data, s, x)
    return clips


def knob_player(model: KnobModel, encoding: KnobEncoding, data: KnobData, x: np.ndarray,
                setting: Mapping[str, float] | None = None):
    """A widget: a slider per knob and a *render* button; plays the model and the true device at that setting
    (loudness-matched per pair, so level differences between settings stay audible within the pair)."""
    import ipywidgets as w

    space = encoding.space
    start = space.check(dict(setting or space.defaults()))
    sliders = {k.name: w.FloatSlider(value=start[k.name], min=k.minimum, max=k.maximum,
                                     step=(k.maximum - k.minimum) / 40, description=k.name,
                                     continuous_update=False) for k in space.knobs}
    button = w.Button(description="render")
    players = w.HBox()
    status = w.HTML()

    def render(*_):
        current = {n: s.value for n, s in sliders.items()}
        clips = render_setting(model, encoding, data, x, current)
        player.clips = clips
        shown = loudness_match(clips, keep_relative=("model", "device") if "device" in clips else None)
        players.children = [wav_widget(c, data.sample_rate, name) for name, c in shown.items()]
        status.value = f"rendered at {space.label(current)}"

    button.on_click(render)
    player = w.VBox([*sliders.values(), button, players, status])
    player.sliders = sliders
    player.render = render
    player.clips = {}
    render()
    return player
