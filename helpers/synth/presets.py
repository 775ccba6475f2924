"""Preset sampling: uniform over the parameter space, or "hand-crafted-like" presets built from a few
named templates with random perturbations; and the filter that drops silent or broken presets.

Every sampler is deterministic by ``seed``. Presets are ``(N, P)`` float32 tensors (see
:mod:`helpers.synth.synth`: numerical columns in [0, 1], categorical columns hold a choice index).
"""

from __future__ import annotations

import torch

from helpers.audio import gain_to_db
from helpers.synth.synth import PARAM_SPECS, ParamSpec, PresetError, default_preset

#: Presets whose rendered RMS level is below this (dBFS) count as silent.
MIN_RMS_DBFS = -45.0

# Templates in physical units (Hz, s, semitones …) or choice names; unspecified parameters take INIT's value.
INIT: dict[str, float | str] = {
    "osc1_wave": "saw", "osc1_octave": "0", "osc1_detune": 0.0, "osc1_level": 0.8,
    "osc2_wave": "saw", "osc2_octave": "0", "osc2_detune": 0.0, "osc2_level": 0.0,
    "osc3_wave": "saw", "osc3_octave": "0", "osc3_detune": 0.0, "osc3_level": 0.0,
    "noise_level": 0.0, "fm_amount": 0.0, "pitch_env_amount": 0.0, "pitch_env_decay": 0.05,
    "filter_type": "lowpass", "filter_cutoff": 3000.0, "filter_resonance": 0.7, "filter_env_amount": 0.0,
    "filter_attack": 0.01, "filter_decay": 0.3, "filter_sustain": 0.5, "filter_release": 0.2,
    "drive": 1.0, "amp_attack": 0.005, "amp_decay": 0.3, "amp_sustain": 0.8, "amp_release": 0.2,
    "lfo_wave": "sine", "lfo_rate": 5.0, "lfo_to_pitch": 0.0, "lfo_to_cutoff": 0.0, "lfo_to_amp": 0.0,
}

TEMPLATES: dict[str, dict[str, float | str]] = {
    "bass": {"osc1_octave": "-1", "osc2_wave": "square", "osc2_octave": "-1", "osc2_detune": 7.0,
             "osc2_level": 0.5, "filter_cutoff": 300.0, "filter_resonance": 2.0, "filter_env_amount": 2.0,
             "filter_attack": 0.003, "filter_decay": 0.25, "filter_sustain": 0.2, "amp_attack": 0.003,
             "amp_sustain": 0.8, "amp_release": 0.08, "drive": 2.0},
    "pad": {"osc1_detune": -12.0, "osc1_level": 0.6, "osc2_detune": 10.0, "osc2_level": 0.6, "osc3_level": 0.6,
            "filter_cutoff": 1200.0, "filter_env_amount": 1.0, "filter_attack": 0.6, "filter_decay": 0.8,
            "filter_sustain": 0.7, "filter_release": 0.8, "amp_attack": 0.5, "amp_decay": 0.5,
            "amp_sustain": 0.9, "amp_release": 0.8, "lfo_rate": 0.8, "lfo_to_cutoff": 0.5},
    "pluck": {"osc1_wave": "square", "osc2_octave": "+1", "osc2_level": 0.3, "filter_cutoff": 400.0,
              "filter_resonance": 4.0, "filter_env_amount": 4.0, "filter_attack": 0.002, "filter_decay": 0.15,
              "filter_sustain": 0.0, "amp_attack": 0.002, "amp_decay": 0.35, "amp_sustain": 0.0, "amp_release": 0.2},
    "lead": {"osc2_detune": 15.0, "osc2_level": 0.7, "filter_cutoff": 2500.0, "filter_resonance": 3.0,
             "amp_attack": 0.02, "amp_decay": 0.2, "amp_sustain": 0.9, "amp_release": 0.15, "lfo_rate": 5.5,
             "lfo_to_pitch": 0.3, "drive": 3.0},
    "bell": {"osc1_wave": "sine", "osc1_octave": "+1", "osc2_wave": "sine", "osc2_octave": "+1", "osc2_detune": 35.0,
             "osc2_level": 0.1, "fm_amount": 3.0, "filter_cutoff": 7000.0, "amp_attack": 0.002, "amp_decay": 1.0,
             "amp_sustain": 0.0, "amp_release": 1.0},
    "brass": {"osc2_detune": 5.0, "osc2_level": 0.6, "filter_cutoff": 500.0, "filter_resonance": 1.2,
              "filter_env_amount": 3.0, "filter_attack": 0.08, "filter_decay": 0.4, "filter_sustain": 0.5,
              "amp_attack": 0.05, "amp_sustain": 0.85},
    "organ": {"osc1_wave": "sine", "osc2_wave": "sine", "osc2_octave": "+1", "osc2_level": 0.5,
              "osc3_wave": "triangle", "osc3_octave": "-1", "osc3_level": 0.4, "filter_cutoff": 6000.0,
              "amp_attack": 0.005, "amp_decay": 0.1, "amp_sustain": 1.0, "amp_release": 0.05, "lfo_rate": 6.0,
              "lfo_to_amp": 0.2},
    "noise_sweep": {"osc1_level": 0.0, "noise_level": 1.0, "filter_type": "bandpass", "filter_cutoff": 400.0,
                    "filter_resonance": 5.0, "filter_env_amount": 3.5, "filter_attack": 0.5, "filter_decay": 0.5,
                    "filter_sustain": 0.6, "amp_attack": 0.1, "amp_sustain": 1.0},
    "kick": {"osc1_wave": "sine", "osc1_octave": "-1", "pitch_env_amount": 12.0, "pitch_env_decay": 0.04,
             "filter_cutoff": 5000.0, "amp_attack": 0.002, "amp_decay": 0.25, "amp_sustain": 0.0, "amp_release": 0.1},
}


def physical_preset(values: dict[str, float | str], specs: tuple[ParamSpec, ...] = PARAM_SPECS) -> torch.Tensor:
    """A ``(P,)`` preset from physical values (Hz, s …) and choice names; unspecified parameters from :data:`INIT`."""
    merged = {**INIT, **values}
    index = {s.name: j for j, s in enumerate(specs)}
    unknown = set(merged) - set(index)
    if unknown:
        raise PresetError(f"unknown parameters {sorted(unknown)}; known: {', '.join(index)}")
    out = default_preset(specs)
    for name, value in merged.items():
        spec = specs[index[name]]
        if spec.kind == "categorical":
            if value not in spec.choices:
                raise PresetError(f"{name}: {value!r} is not one of {spec.choices}")
            out[index[name]] = float(spec.choices.index(str(value)))
        else:
            out[index[name]] = spec.to_unit(float(value))
    return out


def template_presets(specs: tuple[ParamSpec, ...] = PARAM_SPECS) -> dict[str, torch.Tensor]:
    """The unperturbed templates, ``{name: (P,) preset}``."""
    return {name: physical_preset(values, specs) for name, values in TEMPLATES.items()}


def sample_uniform(n: int, seed: int, specs: tuple[ParamSpec, ...] = PARAM_SPECS) -> torch.Tensor:
    """``n`` presets drawn uniformly: numerical values in [0, 1], categorical choices equally likely → ``(n, P)``."""
    gen = torch.Generator().manual_seed(seed)
    u = torch.rand(n, len(specs), generator=gen)
    cards = torch.tensor([s.cardinality for s in specs], dtype=torch.float32)
    is_cat = torch.tensor([s.kind == "categorical" for s in specs])
    return torch.where(is_cat, torch.floor(u * cards).clamp(max=cards - 1), u)


def sample_templates(n: int, seed: int, specs: tuple[ParamSpec, ...] = PARAM_SPECS, *, spread: float = 0.08,
                     flip_prob: float = 0.05) -> tuple[torch.Tensor, list[str]]:
    """``n`` "hand-crafted-like" presets: a random template per preset, perturbed.

    Numerical values get Gaussian noise of std ``spread`` (in normalised units, then clamped to [0, 1]);
    each categorical parameter switches to a random choice with probability ``flip_prob``.

    Returns:
        ``(presets (n, P), template names (n,))``.
    """
    gen = torch.Generator().manual_seed(seed)
    names = list(TEMPLATES)
    bases = torch.stack([template_presets(specs)[k] for k in names])  # (T, P)
    pick = torch.randint(0, len(names), (n,), generator=gen)
    x = bases[pick].clone()
    is_cat = torch.tensor([s.kind == "categorical" for s in specs])
    cards = torch.tensor([s.cardinality for s in specs], dtype=torch.float32)
    noise = torch.randn(n, len(specs), generator=gen) * spread
    flips = torch.rand(n, len(specs), generator=gen) < flip_prob
    random_choice = torch.floor(torch.rand(n, len(specs), generator=gen) * cards).clamp(max=cards - 1)
    x = torch.where(is_cat, torch.where(flips, random_choice, x), (x + noise).clamp(0, 1))
    return x, [names[int(i)] for i in pick]


def degenerate_mask(audio: torch.Tensor, min_rms_dbfs: float = MIN_RMS_DBFS) -> torch.Tensor:
    """``(B,)`` bool: True for a rendered note ``(B, n)`` that is silent, or holds NaN/Inf samples."""
    finite = torch.isfinite(audio).all(dim=1)
    rms = torch.sqrt(torch.mean(torch.nan_to_num(audio).double() ** 2, dim=1))
    floor = 10 ** (min_rms_dbfs / 20)
    return ~finite | (rms < floor)


def rms_dbfs_of(audio: torch.Tensor) -> list[float]:
    """RMS level (dBFS) of each row of ``(B, n)`` audio."""
    rms = torch.sqrt(torch.mean(audio.double() ** 2, dim=1))
    return [gain_to_db(float(r)) for r in rms]
