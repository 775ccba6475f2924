"""A tune browser for notebooks: pick a tune, read its ABC, see its piano roll and verdicts, listen."""

from __future__ import annotations

import html

import numpy as np

from helpers.abc.render import DEFAULT_RATE, tune_to_audio, tune_to_midi
from helpers.abc.validity import Verdict, judge
from helpers.errors import ConfigError
from helpers.players import Clip, PlainPlayer, plain_audio


def piano_roll(tune_or_midi, ax=None, *, title: str | None = None):
    """Draw the notes (time in seconds × MIDI pitch) of an ABC tune or a PrettyMIDI; return the figure."""
    import matplotlib.pyplot as plt

    pm = tune_to_midi(tune_or_midi) if isinstance(tune_or_midi, str) else tune_or_midi
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 2.6))
    else:
        fig = ax.figure
    notes = [n for inst in pm.instruments for n in inst.notes]
    for n in notes:
        ax.broken_barh([(n.start, n.end - n.start)], (n.pitch - 0.4, 0.8), color="tab:blue")
    if notes:
        pitches = [n.pitch for n in notes]
        ax.set_ylim(min(pitches) - 2, max(pitches) + 2)
        ax.set_xlim(0, max(n.end for n in notes))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("MIDI pitch")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def verdict_html(verdict: Verdict) -> str:
    """A small HTML table of a verdict (✓/✗ marks, rates as percentages)."""
    def mark(ok: bool) -> str:
        return "✓" if ok else "✗"

    rows = [
        ("checker", verdict.checker),
        ("syntax", f"{mark(verdict.syntax_ok)} {len(verdict.errors)} error(s)"),
        ("bar lengths", f"{mark(not verdict.bar_warnings)} {len(verdict.bar_warnings)} warning(s)"),
        ("header X T M L K", mark(verdict.header_complete)),
        ("complete bars", f"{100 * verdict.bars_complete:.0f} % of {verdict.bars}"),
        ("notes in key", f"{100 * verdict.in_key:.0f} % of {verdict.notes}"),
        ("clean", mark(verdict.clean)),
    ]
    problems = "".join(f"<li>{html.escape(p)}</li>" for p in (verdict.errors + verdict.bar_warnings)[:5])
    body = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>" + (f"<ul>{problems}</ul>" if problems else "")


def tune_browser(tunes: list[str], *, labels: list[str] | None = None, sample_rate: int = DEFAULT_RATE,
                 renderer: str = "auto", extra: list[dict] | None = None):
    """An ipywidgets box: a dropdown of ``tunes``; for the chosen one its ABC text, piano roll, verdicts
    (plus any ``extra[i]`` facts, e.g. novelty) and an audio player. Rendering happens on selection.

    Plots and audio are plain ``Image``/``Audio`` widget values (no ``Output`` capture), so the browser
    also renders in notebooks executed headless (papermill, the test suite). Where widgets cannot render
    (:func:`helpers.players.plain_audio`) it shows every tune's text, verdicts, piano roll and a plain player.
    """
    if not tunes:
        raise ConfigError("tune_browser needs at least one tune; pass a non-empty list (sample or load some first)")
    if plain_audio():
        return _plain_browser(tunes, labels or [f"{i}: {_title(t)}" for i, t in enumerate(tunes)], sample_rate,
                              renderer, extra)
    import ipywidgets as w
    labels = labels or [f"{i}: {_title(t)}" for i, t in enumerate(tunes)]
    picker = w.Dropdown(options=list(zip(labels, range(len(tunes)))), description="tune")
    text = w.HTML()
    facts = w.HTML()
    roll = w.Image(format="png")
    player = w.Audio(format="wav", autoplay=False, loop=False)

    def show(index: int) -> None:
        tune = tunes[index]
        text.value = f"<pre style='font-size:11px'>{html.escape(tune)}</pre>"
        verdict = judge(tune)
        more = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in (extra[index] if extra else {}).items())
        facts.value = verdict_html(verdict) + (f"<table>{more}</table>" if more else "")
        roll.value = _figure_png(piano_roll(tune))
        x, sr = tune_to_audio(tune, sample_rate, renderer=renderer)
        player.value = _wav_bytes(x, sr)

    picker.observe(lambda change: show(change["new"]), names="value")
    show(0)
    return w.VBox([picker, w.HBox([text, facts]), roll, player])


def _plain_browser(tunes: list[str], labels: list[str], sample_rate: int, renderer: str,
                   extra: list[dict] | None) -> PlainPlayer:
    import base64

    pages = []
    for i, tune in enumerate(tunes):
        more = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in (extra[i] if extra else {}).items())
        roll = base64.b64encode(_figure_png(piano_roll(tune))).decode()
        body = (f"<pre style='font-size:11px'>{html.escape(tune)}</pre>{verdict_html(judge(tune))}"
                + (f"<table>{more}</table>" if more else "") + f"<img src='data:image/png;base64,{roll}'>")
        x, sr = tune_to_audio(tune, sample_rate, renderer=renderer)
        pages.append(Clip(labels[i], _wav_bytes(x, sr), sr, body))
    return PlainPlayer("the tunes (plain players)", pages)


def _figure_png(fig) -> bytes:
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()


def _wav_bytes(x: np.ndarray, sample_rate: int) -> bytes:
    """16-bit WAV bytes of ``x`` (float in [-1, 1]) for the browser's audio player."""
    import io

    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.clip(x, -1, 1), sample_rate, subtype="PCM_16", format="WAV")
    return buf.getvalue()


def _title(tune: str) -> str:
    for line in tune.splitlines():
        if line.startswith("T:"):
            return line[2:].strip()[:40] or "untitled"
    return "untitled"
