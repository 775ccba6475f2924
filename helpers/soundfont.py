"""The General MIDI SoundFont the course renders with (shipped inside pretty_midi's wheel)."""

from __future__ import annotations

from pathlib import Path


def soundfont_path() -> Path | None:
    """Path of ``TimGM6mb.sf2`` inside the installed ``pretty_midi`` package, or ``None``."""
    try:
        import pretty_midi
    except ImportError:
        return None
    path = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    return path if path.exists() else None
