"""Audio players in the notebooks: ipywidgets where they render, plain ``IPython.display.Audio`` everywhere else.

The interactive players (notebook 03's A/B/X test, 05's knob sliders, 07's tune browser) are ipywidgets. Where
widgets cannot render — ipywidgets missing, or a front end that shows nothing where a slider should be (some
Colab and JupyterLab set-ups) — every player falls back to the same clips as labelled ``IPython.display.Audio``
players, which render in every front end (and in saved notebooks). The fallback is automatic when ipywidgets is
not installed; a notebook's ``PLAIN_AUDIO = True`` (:func:`use_plain_audio`) or the environment variable
``NAL_PLAIN_AUDIO=1`` asks for it anywhere.
"""

from __future__ import annotations

import html
import importlib.util
import os
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

#: ``None``: automatic (plain players only where ipywidgets is missing); set by :func:`use_plain_audio`.
_choice: bool | None = None


def use_plain_audio(plain: bool | None) -> None:
    """Play through plain ``IPython.display.Audio`` players (``True``), widgets (``False``) or decide (``None``)."""
    global _choice
    _choice = None if plain is None else bool(plain)


def plain_audio() -> bool:
    """Whether players fall back to plain ``Audio``: the notebook's choice, else ``NAL_PLAIN_AUDIO``, else automatic."""
    if _choice is not None:
        return _choice
    env = os.environ.get("NAL_PLAIN_AUDIO", "").strip().lower()
    if env in ("1", "true", "yes", "on"):
        return True
    if env in ("0", "false", "no", "off"):
        return False
    return importlib.util.find_spec("ipywidgets") is None


class Clip(NamedTuple):
    """One plain player: ``audio`` float samples in [-1, 1] ``(samples,)`` at ``rate`` Hz, or WAV bytes (``rate``
    unused); ``details`` is HTML shown between the label and the player (text, a table, an image)."""

    label: str
    audio: np.ndarray | bytes
    rate: int
    details: str = ""


class PlainPlayer:
    """Labelled plain ``IPython.display.Audio`` players, shown in order by ``display(player)``.

    ``clips``: :class:`Clip` s or ``(label, audio, rate)`` tuples.
    ``attributes`` (``score``, a knob player's ``clips``, …) become attributes, as on the widget it replaces.
    """

    def __init__(self, title: str, clips: Sequence[Clip | tuple[str, np.ndarray | bytes, int]], note: str = "",
                 **attributes: Any):
        self.title, self.note = title, note
        self.items = [c if isinstance(c, Clip) else Clip(*c) for c in clips]
        self.__dict__.update(attributes)

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, Audio, display

        head = f"<b>{html.escape(self.title)}</b>" + (f"<br><i>{html.escape(self.note)}</i>" if self.note else "")
        display(HTML(head))
        for label, clip, rate, details in self.items:
            player = Audio(data=clip) if isinstance(clip, bytes) else Audio(clip, rate=rate, normalize=False)
            display(HTML(f"<b>{html.escape(label)}</b>{details}"), player)

    def __repr__(self) -> str:
        return f"PlainPlayer({self.title!r}, {len(self.items)} clips)"


def wav_widget(clip: np.ndarray, sample_rate: int, label: str) -> Any:
    """A labelled audio player widget: ``IPython.display.Audio`` encodes the WAV, ``ipywidgets.Audio`` plays it.

    (A widget, not an ``Output`` capture, so the player also renders when notebooks run headless.)
    """
    import ipywidgets as w
    from IPython.display import Audio

    wav = Audio(clip, rate=sample_rate, normalize=False).data
    return w.VBox([w.HTML(f"<b>{html.escape(label)}</b>"), w.Audio(value=wav, format="wav", autoplay=False, loop=False)])
