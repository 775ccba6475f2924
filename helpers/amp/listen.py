"""A/B/X listening for captures, built on ipywidgets and ``IPython.display.Audio``.

Clips are loudness-matched (same RMS) so the louder one does not win by being louder; the residual
keeps its level relative to the target, so a quiet residual sounds quiet.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from helpers.audio import db_to_gain, rms_dbfs
from helpers.players import PlainPlayer, plain_audio, wav_widget


def loudness_match(clips: dict[str, np.ndarray], target_dbfs: float = -20.0,
                   keep_relative: tuple[str, str] | None = ("residual", "target")) -> dict[str, np.ndarray]:
    """Scale every clip to ``target_dbfs`` RMS; ``keep_relative=(a, b)`` scales ``a`` by ``b``'s gain instead."""
    gains = {}
    for name, clip in clips.items():
        level = rms_dbfs(clip)
        gains[name] = db_to_gain(target_dbfs - level) if np.isfinite(level) else 1.0
    if keep_relative and keep_relative[0] in clips and keep_relative[1] in clips:
        gains[keep_relative[0]] = gains[keep_relative[1]]
    out = {}
    for name, clip in clips.items():
        scaled = clip * gains[name]
        peak = float(np.max(np.abs(scaled))) if scaled.size else 0.0
        out[name] = (scaled / peak * 0.99 if peak > 0.99 else scaled).astype(np.float32)  # never clip playback
    return out


def section_clips(dry: np.ndarray, target: np.ndarray, prediction: np.ndarray, start: int, end: int,
                  max_samples: int | None = None) -> dict[str, np.ndarray]:
    """The four signals of a section: dry, target, prediction, residual (``target − prediction``)."""
    if max_samples:
        end = min(end, start + max_samples)
    t, p = target[start:end], prediction[start:end]
    return {"dry": dry[start:end], "target": t, "prediction": p, "residual": t - p}


def abx_player(dry: np.ndarray, target: np.ndarray, prediction: np.ndarray, sample_rate: int,
               sections: list[dict], *, seed: int = 0, max_seconds: float = 8.0,
               match: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]] | None = None):
    """An ipywidgets A/B/X player: pick a section, listen to dry / target / prediction / residual, then
    test yourself: X is target or prediction at random; guess which and the widget keeps score.

    ``match(clips) -> clips`` loudness-matches a section's four clips before they play (default
    :func:`loudness_match`; notebook 03 passes one built on the student's own function). The player opens on
    ``sections[0]``. Where widgets cannot render (:func:`helpers.players.plain_audio`) it is a
    :class:`~helpers.players.PlainPlayer` of the first three sections' clips, without the blind test."""
    if plain_audio():
        return _plain_abx(dry, target, prediction, sample_rate, sections, max_seconds, match)
    import ipywidgets as w

    rng = np.random.default_rng(seed)
    choices = [(f"{s['name']} ({(s['end'] - s['start']) / sample_rate:.1f} s)", i) for i, s in enumerate(sections)]
    pick = w.Dropdown(options=choices, description="section")
    players = w.VBox()
    status = w.HTML()
    score = {"right": 0, "total": 0, "x": "target"}

    def render(*_):
        sec = sections[pick.value]
        clips = (match or loudness_match)(section_clips(dry, target, prediction, int(sec["start"]), int(sec["end"]),
                                                        int(max_seconds * sample_rate)))
        score["x"] = str(rng.choice(["target", "prediction"]))
        clips["X"] = clips[score["x"]]
        labels = {"X": "X (target or prediction?)"}
        players.children = [wav_widget(clips[name], sample_rate, labels.get(name, name))
                             for name in ("dry", "target", "prediction", "residual", "X")]

    def guess(which: str):
        def handler(_):
            score["total"] += 1
            score["right"] += which == score["x"]
            status.value = (f"X was <b>{score['x']}</b>. Score {score['right']}/{score['total']} "
                            "(50% means you cannot tell them apart). New X drawn.")
            render()
        return handler

    b_t, b_p = w.Button(description="X is target"), w.Button(description="X is prediction")
    b_t.on_click(guess("target"))
    b_p.on_click(guess("prediction"))
    pick.observe(render, names="value")
    render()
    player = w.VBox([pick, players, w.HBox([b_t, b_p]), status])
    player.score = score  # for checks in notebooks and tests
    player.guess = guess
    return player


def _plain_abx(dry: np.ndarray, target: np.ndarray, prediction: np.ndarray, sample_rate: int, sections: list[dict],
               max_seconds: float, match: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]] | None) -> PlainPlayer:
    """The A/B/X player's clips as plain ``Audio`` players (first three sections; no blind test)."""
    items = []
    for sec in sections[:3]:
        clips = (match or loudness_match)(section_clips(dry, target, prediction, int(sec["start"]), int(sec["end"]),
                                                        int(max_seconds * sample_rate)))
        items += [(f"{sec['name']}: {name}", clips[name], sample_rate) for name in ("dry", "target", "prediction",
                                                                                    "residual")]
    return PlainPlayer("A/B/X listening (plain players)", items, score={"right": 0, "total": 0, "x": None},
                       note="the blind X test needs widgets: set PLAIN_AUDIO = False where sliders and buttons show")
