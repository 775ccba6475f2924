"""Listening to a conditioned model: one slider per knob, the model next to the true device.

Built from ipywidgets only (sliders, a button, ``ipywidgets.Audio`` players fed by
``IPython.display.Audio``'s WAV bytes) — no ``Output`` capture, so it renders in headless runs too.
Where widgets cannot render (:func:`helpers.players.plain_audio`) the player is a
:class:`~helpers.players.PlainPlayer`: plain ``Audio`` clips at a few fixed settings instead of sliders.
With ``block_size`` the model plays through its real-time engine (block by block, as a plugin runs it).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from helpers.amp.listen import loudness_match, wav_widget
from helpers.knobs.dataset import KnobData
from helpers.knobs.encoding import KnobEncoding
from helpers.knobs.models import KnobModel, predict
from helpers.players import Clip, PlainPlayer, plain_audio


def render_setting(model: KnobModel, encoding: KnobEncoding, data: KnobData, x: np.ndarray,
                   setting: Mapping[str, float], block_size: int | None = None) -> dict[str, np.ndarray]:
    """``{"model": …, "device": …}`` at ``setting`` on clip ``x`` (device only for virtual devices); with
    ``block_size`` (samples) the model runs through its streaming engine in blocks of that size, else offline."""
    from helpers.knobs.evaluate import device_output
    from helpers.realtime.conditioned import stream_knobs

    s = encoding.space.check(dict(setting))
    knobs = encoding.encode(s)
    clips = {"model": predict(model, x, knobs) if block_size is None else stream_knobs(model, x, knobs, block_size)}
    if data.device.get("virtual"):
        clips["device"] = device_output(data, s, x)
    return clips


def plain_settings(encoding: KnobEncoding, setting: Mapping[str, float] | None = None) -> list[dict[str, float]]:
    """The settings the plain player renders: ``setting`` (default: the defaults), every knob at its minimum, at
    its default, at its maximum (duplicates dropped, in that order)."""
    space = encoding.space
    candidates = [dict(setting or space.defaults()), {k.name: k.minimum for k in space.knobs}, space.defaults(),
                  {k.name: k.maximum for k in space.knobs}]
    out: list[dict[str, float]] = []
    for c in candidates:
        checked = space.check(c)
        if checked not in out:
            out.append(checked)
    return out


def _plain_knob_player(model: KnobModel, encoding: KnobEncoding, data: KnobData, x: np.ndarray,
                       setting: Mapping[str, float] | None, block_size: int | None) -> PlainPlayer:
    """The knob player's clips at :func:`plain_settings` as plain ``Audio`` players (no sliders)."""
    space = encoding.space
    items, rendered = [], {}
    for s in plain_settings(encoding, setting):
        clips = render_setting(model, encoding, data, x, s, block_size)
        rendered[space.label(s)] = clips
        shown = loudness_match(clips, keep_relative=("model", "device") if "device" in clips else None)
        items += [Clip(f"{space.label(s)}: {name}", c, data.sample_rate) for name, c in shown.items()]
    first = next(iter(rendered.values()))
    player = PlainPlayer("the knob model at a few settings (plain players)", items, settings=rendered,
                         note="the sliders need widgets: set PLAIN_AUDIO = False where sliders show")
    player.__dict__.update(clips=first)  # as on the widget: the clips at `setting` (the PlainPlayer list: `items`)
    return player


def knob_player(model: KnobModel, encoding: KnobEncoding, data: KnobData, x: np.ndarray,
                setting: Mapping[str, float] | None = None, *, block_size: int | None = None):
    """A widget: a slider per knob and a *render* button; plays the model and the true device at that setting
    (loudness-matched per pair, so level differences between settings stay audible within the pair).

    ``block_size`` (samples): render the model through its real-time engine in blocks of that size (as a plugin
    plays it); ``None`` runs it offline. Where widgets cannot render it is a :class:`PlainPlayer` of the clips at
    :func:`plain_settings` (``player.clips``: those at ``setting``; ``player.settings``: every rendered setting)."""
    if plain_audio():
        return _plain_knob_player(model, encoding, data, x, setting, block_size)
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
        clips = render_setting(model, encoding, data, x, current, block_size)
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
