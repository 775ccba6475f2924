"""Listen to a tune: ABC → MIDI (``abc2midi``, or the pure-Python reader) → audio (a General MIDI
SoundFont through tinysoundfont, fluidsynth or timidity; a sine synth as last resort), and a short
audio analysis (duration, tempo estimate, spectral centroid).

Every renderer returns ``(audio, sample_rate)``: float32 mono, shape ``(n,)``, in Hz — ready for
:func:`helpers.audio.save_wav`, a Comet log, or an amp model.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from helpers.abc.parse import parse_tune
from helpers.atomic import write_text
from helpers.errors import ConfigError, ToolError
from helpers.runtime import find_tool
from helpers.soundfont import soundfont_path

#: Renderers tried by ``renderer="auto"``, best first.
RENDERERS = ("tinysoundfont", "fluidsynth", "timidity", "sine")
TIMIDITY_CONFIG = Path("/etc/timidity/timgm6mb.cfg")
DEFAULT_RATE = 22_050
#: Longest audio rendered by default (seconds).
MAX_SECONDS = 180.0
#: General MIDI program used for the pure-Python MIDI (40 = violin; 0 = piano).
DEFAULT_PROGRAM = 40


class RenderError(ToolError):
    """A renderer was asked for but cannot run here."""


def tune_to_midi(tune: str, *, use_abc2midi: bool | None = None, program: int | None = DEFAULT_PROGRAM):
    """A ``pretty_midi.PrettyMIDI`` of the tune, via ``abc2midi`` when installed (repeats expanded,
    ornaments played) or the pure-Python reader (notes as written). ``program`` sets every instrument's
    General MIDI program (``None`` keeps abc2midi's choice)."""
    import pretty_midi

    exe = find_tool("abc2midi") if use_abc2midi is not False else None
    if use_abc2midi and exe is None:
        raise RenderError("use_abc2midi=True but abc2midi is not installed (apt-get install abcmidi)")
    if exe is not None:
        with tempfile.TemporaryDirectory(prefix="nal-abc-") as tmp:
            src, mid = Path(tmp) / "tune.abc", Path(tmp) / "tune.mid"
            src.write_text(tune.strip() + "\n\n", encoding="utf-8")
            try:
                subprocess.run([exe, str(src), "-o", str(mid)], capture_output=True, timeout=30, cwd=tmp)
                pm = pretty_midi.PrettyMIDI(str(mid)) if mid.exists() and mid.stat().st_size > 0 else None
            except (subprocess.TimeoutExpired, OSError, ValueError, EOFError):  # garbage in: use the Python reader
                pm = None
        if pm is not None and any(inst.notes for inst in pm.instruments):
            if program is not None:
                for inst in pm.instruments:
                    if not inst.is_drum:
                        inst.program = program
            return pm
    return _python_midi(tune, program if program is not None else DEFAULT_PROGRAM)


def _python_midi(tune: str, program: int):
    import pretty_midi

    parsed = parse_tune(tune)
    seconds_per_whole = 4 * 60.0 / parsed.tempo_qpm
    pm = pretty_midi.PrettyMIDI(initial_tempo=parsed.tempo_qpm)
    inst = pretty_midi.Instrument(program=program, name="melody")
    for note in parsed.notes:
        start = float(note.start) * seconds_per_whole
        end = start + float(note.duration) * seconds_per_whole
        if end > start and 0 <= note.pitch <= 127:
            inst.notes.append(pretty_midi.Note(velocity=90, pitch=note.pitch, start=start, end=end))
    pm.instruments.append(inst)
    return pm


def available_renderers() -> list[str]:
    """Renderers that can run here, best first (``sine`` always can)."""
    found = []
    if soundfont_path() is not None:
        try:
            import tinysoundfont  # noqa: F401

            found.append("tinysoundfont")
        except ImportError:
            pass
    if find_tool("fluidsynth") and soundfont_path() is not None:
        found.append("fluidsynth")
    if find_tool("timidity") and TIMIDITY_CONFIG.exists():
        found.append("timidity")
    return [*found, "sine"]


def limit_duration(pm, max_seconds: float):
    """Drop notes starting after ``max_seconds`` and cut the rest there (in place); return ``pm``."""
    for inst in pm.instruments:
        inst.notes = [n for n in inst.notes if n.start < max_seconds]
        for n in inst.notes:
            n.end = min(n.end, max_seconds)
    return pm


def midi_to_audio(pm, sample_rate: int = DEFAULT_RATE, renderer: str = "auto",
                  max_seconds: float | None = MAX_SECONDS) -> tuple[np.ndarray, int]:
    """Render a PrettyMIDI to ``(audio, sample_rate)``: float32 mono ``(n,)`` peaking at -1 dBFS.

    Music after ``max_seconds`` is left out (a generated tune can hold absurdly long notes).
    """
    from helpers.audio import normalize_peak

    if max_seconds is not None and pm.get_end_time() > max_seconds:
        limit_duration(pm, max_seconds)

    options = available_renderers()
    name = options[0] if renderer == "auto" else renderer
    if name not in RENDERERS:
        raise ConfigError(f"renderer must be 'auto' or one of {RENDERERS}, not {renderer!r}")
    if name not in options:
        raise RenderError(f"renderer {name!r} is not available here; use renderer='auto' or one of {options}")
    if name == "tinysoundfont":
        x = _render_tinysoundfont(pm, sample_rate)
    elif name == "sine":
        x = pm.synthesize(fs=sample_rate).astype(np.float32)
    else:
        x = _render_cli(pm, sample_rate, name)
    x = np.ascontiguousarray(x, dtype=np.float32)
    return (normalize_peak(x, -1.0) if x.size and np.abs(x).max() > 0 else x), sample_rate


def _render_tinysoundfont(pm, sample_rate: int, tail_s: float = 1.0) -> np.ndarray:
    import tinysoundfont

    synth = tinysoundfont.Synth(samplerate=sample_rate)
    sfid = synth.sfload(str(soundfont_path()))
    events: list[tuple[float, int, int, int, int]] = []  # (time s, 1 = on / 0 = off, channel, pitch, velocity)
    channels = [c for c in range(16) if c != 9]
    for i, inst in enumerate(pm.instruments):
        chan = 9 if inst.is_drum else channels[i % len(channels)]
        # Without program_select on each channel tinysoundfont renders silence.
        synth.program_select(chan, sfid, 128 if inst.is_drum else 0, 0 if inst.is_drum else inst.program, inst.is_drum)
        for note in inst.notes:
            events += [(note.start, 1, chan, note.pitch, note.velocity), (note.end, 0, chan, note.pitch, 0)]
    events.sort(key=lambda e: (e[0], e[1]))
    chunks, now = [], 0
    for time_s, on, chan, pitch, velocity in events:
        target = round(time_s * sample_rate)
        if target > now:
            chunks.append(np.frombuffer(synth.generate(target - now), dtype=np.float32))
            now = target
        if on:
            synth.noteon(chan, pitch, velocity)
        else:
            synth.noteoff(chan, pitch)
    chunks.append(np.frombuffer(synth.generate(int(tail_s * sample_rate)), dtype=np.float32))
    stereo = np.concatenate(chunks).reshape(-1, 2)
    return stereo.mean(axis=1)


def _render_cli(pm, sample_rate: int, name: str) -> np.ndarray:
    from helpers.audio import load_wav

    with tempfile.TemporaryDirectory(prefix="nal-midi-") as tmp:
        mid, wav = Path(tmp) / "tune.mid", Path(tmp) / "tune.wav"
        pm.write(str(mid))
        tool = find_tool("fluidsynth" if name == "fluidsynth" else "timidity")
        assert tool is not None  # the caller picked one of available_renderers()
        if name == "fluidsynth":
            cmd = [tool, "-ni", "-q", "-F", str(wav), "-r", str(sample_rate), str(soundfont_path()), str(mid)]
        else:
            cmd = [tool, "-c", str(TIMIDITY_CONFIG), "-Ow", "--output-mono", "-s", str(sample_rate),
                   "-o", str(wav), str(mid)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if not wav.exists():
            raise RenderError(f"{name} wrote no audio: {proc.stderr.strip()[-300:]}")
        x, sr = load_wav(wav, mono="mix", allow_silent=True)
    if sr != sample_rate:
        from helpers.audio import resample

        x = resample(x, sr, sample_rate)
    return x


def tune_to_audio(tune: str, sample_rate: int = DEFAULT_RATE, *, renderer: str = "auto",
                  use_abc2midi: bool | None = None, program: int | None = DEFAULT_PROGRAM) -> tuple[np.ndarray, int]:
    """ABC text → ``(audio, sample_rate)`` (float32 mono ``(n,)``, Hz)."""
    return midi_to_audio(tune_to_midi(tune, use_abc2midi=use_abc2midi, program=program), sample_rate, renderer)


def save_tune(tune: str, stem: str | os.PathLike[str], sample_rate: int = DEFAULT_RATE, *, renderer: str = "auto",
              use_abc2midi: bool | None = None) -> dict[str, Path]:
    """Write ``stem.abc``, ``stem.mid`` and ``stem.wav`` (atomically); return their paths."""
    from helpers.atomic import atomic_path
    from helpers.audio import save_wav

    stem = Path(stem)
    pm = tune_to_midi(tune, use_abc2midi=use_abc2midi)
    x, sr = midi_to_audio(pm, sample_rate, renderer)
    abc = write_text(stem.with_suffix(".abc"), tune.strip() + "\n")
    with atomic_path(stem.with_suffix(".mid")) as tmp:
        pm.write(str(tmp))
    wav = save_wav(stem.with_suffix(".wav"), x, sr)
    return {"abc": abc, "midi": stem.with_suffix(".mid"), "wav": wav}


def analyse_audio(x: np.ndarray, sample_rate: int) -> dict[str, float]:
    """Duration (s), tempo estimate (beats per minute, librosa's beat tracker) and mean spectral centroid (Hz)."""
    import librosa

    if x.size == 0 or not np.any(x):
        return {"duration_s": x.size / sample_rate, "tempo_bpm": 0.0, "spectral_centroid_hz": 0.0}
    tempo, _ = librosa.beat.beat_track(y=x.astype(np.float32), sr=sample_rate)
    centroid = librosa.feature.spectral_centroid(y=x.astype(np.float32), sr=sample_rate)
    return {
        "duration_s": x.size / sample_rate,
        "tempo_bpm": float(np.atleast_1d(tempo)[0]),
        "spectral_centroid_hz": float(np.mean(centroid)),
    }
