"""A real synthesizer you own as the black box: a VST3 instrument hosted by pedalboard.

The paper's free synths work here, e.g. Dexed (a DX7 emulation, https://asb2m10.github.io/dexed/) and
TAL-NoiseMaker (https://tal-software.com/products/tal-noisemaker). Install the plugin, then::

    synth = VSTSynth("/usr/lib/vst3/Dexed.vst3", parameters=["cutoff", "resonance", ...])
    presets = sample_uniform(100, seed=0, specs=synth.specs)
    audio = synth.render(presets)          # (100, n) — same interface as TorchSynth

Parameters are read from the plugin: a parameter whose values are text or on/off becomes categorical (its
choices are the plugin's own labels), every other one numerical, driven through its normalised raw value
in [0, 1]. Rendering plays the same note as :class:`~helpers.synth.synth.TorchSynth` (MIDI 60, velocity
100, held, then released), one preset at a time (a plugin instance is not batched).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import torch

from helpers.errors import ToolError
from helpers.synth.synth import ParamSpec, check_presets


class VSTError(ToolError):
    """Base class of every problem with a VST3 instrument."""


class PluginNotFoundError(VSTError, FileNotFoundError):
    """The plugin path does not exist."""


class PluginLoadError(VSTError):
    """pedalboard could not load the file, or it is not an instrument."""


class _Instrument(Protocol):
    """What this module uses of a loaded plugin. pedalboard's stubs type ``load_plugin`` as returning the
    base class ``ExternalPlugin``, without the ``name`` and ``parameters`` the loaded plugin has."""

    name: str
    parameters: dict[str, Any]

    def __call__(self, midi_messages: list[tuple[bytes, float]], duration: float, sample_rate: float,
                 num_channels: int = 2, reset: bool = True) -> np.ndarray: ...


def _midi_note(note: int, velocity: int, on_s: float, off_s: float) -> list[tuple[bytes, float]]:
    return [(bytes([0x90, note, velocity]), on_s), (bytes([0x80, note, 0]), off_s)]


def parameter_spec(name: str, param) -> ParamSpec:
    """A :class:`ParamSpec` from a pedalboard ``AudioProcessorParameter``."""
    if getattr(param, "type", float) in (bool, str):
        choices = tuple(str(v) for v in param.valid_values)
        return ParamSpec(name, "categorical", choices=choices)
    low = param.min_value if param.min_value is not None else 0.0
    high = param.max_value if param.max_value is not None else 1.0
    return ParamSpec(name, "numerical", float(low), float(high), unit=str(getattr(param, "label", "") or ""))


class VSTSynth:
    """A VST3 instrument with the :class:`~helpers.synth.synth.Synthesizer` interface.

    Args:
        path: the ``.vst3`` bundle.
        parameters: names of the plugin parameters to expose (default: every one except MIDI CC /
            program-change pseudo-parameters); the others keep the plugin's current values.
        plugin_name: for a bundle that holds several plugins.
        sample_rate, duration_s, note_off_s, midi_note, velocity: the rendered note (Hz, s, s, MIDI numbers).
    """

    def __init__(self, path: str | os.PathLike[str], parameters: list[str] | None = None, *,
                 plugin_name: str | None = None, sample_rate: int = 16_000, duration_s: float = 1.0,
                 note_off_s: float = 0.7, midi_note: int = 60, velocity: int = 100):
        p = Path(path)
        if not p.exists():
            raise PluginNotFoundError(
                f"{p}: no such plugin; install a VST3 instrument (e.g. Dexed or TAL-NoiseMaker, both free) and pass "
                "the path of its .vst3 bundle (Linux: ~/.vst3 or /usr/lib/vst3; macOS: /Library/Audio/Plug-Ins/VST3)"
            )
        try:
            import pedalboard
        except ImportError as exc:
            raise PluginLoadError("pedalboard is not installed: pip install pedalboard") from exc
        try:
            plugin = cast(_Instrument, pedalboard.load_plugin(str(p), plugin_name=plugin_name))
        except Exception as exc:  # pedalboard raises ImportError/RuntimeError/ValueError depending on the failure
            raise PluginLoadError(f"{p}: pedalboard could not load this plugin ({exc}); is it a VST3 for this "
                                  "operating system and CPU?") from exc
        if not getattr(plugin, "is_instrument", False):
            raise PluginLoadError(f"{p}: {plugin.name!r} is an effect, not an instrument; it cannot play a note")
        self.plugin, self.path = plugin, p
        available = dict(plugin.parameters)
        if parameters is None:
            parameters = [k for k in available if not k.lower().startswith(("midi_cc", "program", "bypass"))]
        unknown = [k for k in parameters if k not in available]
        if unknown:
            raise VSTError(f"{p.name}: unknown parameters {unknown}; the plugin has: {', '.join(available)}")
        self.names = list(parameters)
        self.specs: tuple[ParamSpec, ...] = tuple(parameter_spec(k, available[k]) for k in self.names)
        self.sample_rate, self.duration_s, self.note_off_s = int(sample_rate), float(duration_s), float(note_off_s)
        self.midi_note, self.velocity = int(midi_note), int(velocity)

    @property
    def num_samples(self) -> int:
        return round(self.duration_s * self.sample_rate)

    def cache_id(self) -> str:
        text = repr((str(self.path), self.plugin.name, getattr(self.plugin, "version", ""), self.names,
                     self.sample_rate, self.duration_s, self.note_off_s, self.midi_note, self.velocity))
        return hashlib.sha1(text.encode()).hexdigest()[:10]

    def set_preset(self, preset: torch.Tensor) -> None:
        """Apply one ``(P,)`` preset to the plugin (numerical: raw value in [0, 1]; categorical: choice index)."""
        for name, spec, value in zip(self.names, self.specs, preset.tolist()):
            param = self.plugin.parameters[name]
            if spec.kind == "numerical":
                param.raw_value = float(value)
            else:
                lo, hi = list(param.ranges)[round(value)]  # the raw-value interval of that choice
                param.raw_value = (lo + hi) / 2

    def render(self, presets: torch.Tensor) -> torch.Tensor:
        """Presets ``(B, P)`` → mono audio ``(B, num_samples)`` float32 (channels averaged)."""
        x = check_presets(presets, self.specs)
        midi = _midi_note(self.midi_note, self.velocity, 0.0, self.note_off_s)
        out = np.zeros((len(x), self.num_samples), dtype=np.float32)
        for i, row in enumerate(x):
            self.set_preset(row)
            audio = self.plugin(midi, duration=self.duration_s, sample_rate=self.sample_rate, num_channels=2,
                                reset=True)
            mono = np.asarray(audio, dtype=np.float32).mean(axis=0)
            out[i, : min(len(mono), self.num_samples)] = mono[: self.num_samples]
        return torch.from_numpy(out)
