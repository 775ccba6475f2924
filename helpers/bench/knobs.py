"""Knob benchmark: one conditioned model for every setting against a dedicated model per setting, same budget.

Data: notebook 05's demo dataset in full mode (:func:`helpers.course.knob_dataset`): the virtual overdrive at a
4 × 4 grid of drive × tone settings (16 recordings trained on) plus 4 held-out settings at grid midpoints that
the conditioned models never see, every recording playing the whole reamp signal (~130 s of training audio).

Runs, each with the same wall-clock ``minutes`` and the amp recipe on this machine's CPU workers:

* one conditioned NAM ``standard`` model per mechanism, trained on the 16 settings
  (:func:`helpers.knobs.train.recipe`): by default ``concat`` (the knobs through NAM's input mixers) and
  ``concat+film`` (the same plus a NAM FiLM block after every activation); ``--mechanisms film`` adds FiLM alone;
* the baseline, measured in the same run: one dedicated plain NAM ``standard`` model per held-out setting,
  trained on that setting's recording alone (:mod:`helpers.amp.train`, the amp recipe of ``make bench amp``).
  Together they use 4 × ``minutes``: what covering those four settings one capture at a time costs.

``knob_minutes`` (``--knob-minutes``; default ``minutes``) gives the conditioned models their own budget:
``4 × minutes`` compares one knob model with the four dedicated captures at the same total CPU time.

Scored with the same code on the same held-out test phrases (unseen audio) of each held-out setting: plain
ESR per setting and its mean, and the ratio conditioned ÷ dedicated (1 = a knob model as good as a capture of
that very setting). Also: the streaming real-time factor at block 64 (compute time ÷ audio time, one thread,
:mod:`helpers.realtime`) of each conditioned model's exported 0.7 ``.nam`` file (written, read back and
streamed) against the dedicated model's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
import torch

from helpers.amp.data import AmpData
from helpers.amp.evaluate import predict as amp_predict
from helpers.amp.train import train
from helpers.amp.workflow import training_config
from helpers.errors import ConfigError
from helpers.export.nam_knobs import export_knob_nam, load_knob_nam
from helpers.export.report import single_thread
from helpers.knobs.dataset import KnobData, load_knob_dataset
from helpers.knobs.encoding import KnobEncoding
from helpers.knobs.evaluate import knob_vectors
from helpers.knobs.models import KINDS
from helpers.knobs.models import predict as knob_predict
from helpers.knobs.train import recipe, train_knobs
from helpers.losses import esr
from helpers.models import CausalModel
from helpers.paths import checkpoints_dir

DEVICE = "overdrive"
KNOBS = ("drive", "tone")
PRESET = "standard"
MECHANISMS = ("concat", "concat+film")  #: conditioned kinds run by default (``film`` alone on request)
BLOCK_SIZE = 64  #: samples per streaming block for the real-time factor


def recording_esr(forward: Callable[[np.ndarray], np.ndarray], data: KnobData, index: int, receptive_field: int,
                  split: str = "test") -> float:
    """Plain ESR of ``forward`` (input ``(samples,)`` → output ``(samples,)``, zero history) on recording
    ``index`` over every range of ``split``, with the real audio before each range as context."""
    preds, targets = [], []
    for start, end in data.splits[split]:
        xin, target = data.with_context(index, start, end, receptive_field - 1)
        preds.append(forward(xin)[receptive_field - 1 :])
        targets.append(target)
    return esr(np.concatenate(preds), np.concatenate(targets))


def recording_as_capture(data: KnobData, index: int) -> AmpData:
    """Recording ``index`` of ``data`` alone, as a plain capture (same audio, same splits)."""
    return AmpData(data.inputs[index], data.outputs[index], data.sample_rate, dict(data.splits),
                   list(data.sections), f"{data.name}_rec{index:03d}")


def train_conditioned(data: KnobData, kind: str, minutes: float, *, quick: bool = False, workers: int | str = "auto",
                      seed: int = 0) -> tuple[Any, KnobEncoding, dict[str, float]]:
    """A ``standard`` conditioned model (``kind`` concat, film or concat+film) on the training settings for
    ``minutes``."""
    cfg = recipe(kind, quick=quick, preset=PRESET, budget_s=60.0 * minutes, workers=workers, seed=seed,
                 track=False, progress=False, resume=False, run_name=f"bench_knobs_{kind}",
                 checkpoint_dir=str(checkpoints_dir("bench", "knobs", data.name, kind)))
    r = train_knobs(data, cfg)
    assert r.encoding is not None
    return r.model, r.encoding, {"samples_per_second": r.samples_per_second, "seconds": r.seconds,
                                 "steps": r.steps, "epochs": r.epochs_run, "best_val_esr": r.best_score}


def train_dedicated(data: KnobData, index: int, minutes: float, *, quick: bool = False, workers: int | str = "auto",
                    seed: int = 0) -> tuple[CausalModel, dict[str, float]]:
    """A plain ``standard`` model trained on recording ``index`` alone for ``minutes`` (the amp recipe)."""
    capture = recording_as_capture(data, index)
    cfg = training_config(DEVICE, "nam", PRESET, quick=quick, seed=seed, budget_s=60.0 * minutes, workers=workers,
                          track=False, progress=False, resume=False,
                          checkpoint_dir=str(checkpoints_dir("bench", "knobs", data.name, f"dedicated_{index:03d}")))
    r = train(capture, cfg)
    return r.model, {"samples_per_second": r.samples_per_second, "seconds": r.seconds, "steps": r.steps,
                     "epochs": r.epochs_run, "best_val_esr": r.best_score}


def streaming_rtf(model: CausalModel, x: np.ndarray, knobs: np.ndarray | None = None, block_size: int = BLOCK_SIZE,
                  sample_rate: int = 48_000, repeats: int = 3) -> dict[str, float]:
    """Real-time factor (compute seconds per audio second, best of ``repeats``; < 1 is real time) of streaming
    ``x`` ``(samples,)`` through ``model``'s engine in ``block_size``-sample blocks on one thread, at constant
    encoded ``knobs`` ``(k,)`` for a knob model; plus the largest difference from offline prediction."""
    from helpers.realtime.engine import make_streamer

    x = np.asarray(x, dtype=np.float32)
    blocks = [x[i : i + block_size] for i in range(0, len(x), block_size)]
    with single_thread(), torch.inference_mode():
        engine = make_streamer(model)
        best, out = float("inf"), np.zeros(0, dtype=np.float32)
        for _ in range(repeats):
            if knobs is None:
                engine.reset()
            else:
                engine.reset(knobs)  # type: ignore[call-arg]  # a conditioned engine takes the knobs
            start = time.perf_counter()
            out = np.concatenate([engine.process_block(b) for b in blocks])
            best = min(best, time.perf_counter() - start)
        offline = amp_predict(model, x) if knobs is None else knob_predict(model, x, knobs)  # type: ignore[arg-type]
    return {"rtf": best / (len(x) / sample_rate), "max_abs_diff_vs_offline": float(np.max(np.abs(out - offline)))}


def run(quick: bool = False, minutes: float | None = None, mechanisms: Sequence[str] = MECHANISMS,
        workers: int | str = "auto", seed: int = 0, knob_minutes: float | None = None) -> dict[str, Any]:
    """Train and score every model (see the module docstring); prints a table and returns the figures.

    ``quick``: the quick dataset (3 × 3 grid + 2 held out, ~19 s signal), quick training and 3 s budgets:
    checks the benchmark runs, not the figures. ``minutes``: the budget of every dedicated run (default 10);
    ``knob_minutes``: the budget of each conditioned run (default ``minutes``).
    """
    from helpers.course import knob_dataset
    from helpers.parallel import cpu_workers

    bad = [m for m in mechanisms if m not in KINDS or m == "lstm"]
    if bad:
        raise ConfigError(f"unknown conditioned WaveNet kind(s) {bad}; choose from concat, film, concat+film")
    minutes = minutes if minutes is not None else (0.05 if quick else 10.0)
    knob_minutes = knob_minutes if knob_minutes is not None else minutes
    if minutes <= 0 or knob_minutes <= 0:
        raise ConfigError(f"budgets must be positive minutes, got {minutes} and {knob_minutes}")
    data = load_knob_dataset(knob_dataset(DEVICE, KNOBS, quick=quick, seed=seed))
    heldout, seen = data.indices("heldout"), data.indices("train")
    n_workers = 1 if quick else cpu_workers(workers, 8)  # quick: no worker start-up for a 3-second run
    print(f"{data.name}: {len(seen)} training settings, {len(heldout)} held out; "
          f"{sum(e - s for s, e in data.splits['train']) / data.sample_rate:.0f} s of training audio per setting; "
          f"NAM {PRESET}; {minutes} min per dedicated run, {knob_minutes} per conditioned run, "
          f"on {n_workers} CPU worker(s); "
          f"{len(mechanisms)} conditioned + {len(heldout)} dedicated runs", flush=True)
    labels = [" ".join(f"{k}={v:.3g}" for k, v in data.settings[i].items()) for i in heldout]
    clip = data.inputs[heldout[0]][slice(*data.splits["test"][0])][: data.sample_rate]  # 1 s of test audio

    dedicated: list[dict[str, Any]] = []
    dedicated_rtf: dict[str, float] = {}
    for i, label in zip(heldout, labels):
        model, stats = train_dedicated(data, i, minutes, quick=quick, workers=n_workers, seed=seed)
        rf = model.receptive_field
        score = recording_esr(partial(amp_predict, model), data, i, rf)
        dedicated.append({"setting": label, "test_esr": score, **stats})
        print(f"  dedicated {label:<22} test ESR {score:.5f} ({stats['steps']} steps)", flush=True)
        if not dedicated_rtf:
            dedicated_rtf = streaming_rtf(model, clip)

    conditioned: dict[str, dict[str, Any]] = {}
    vectors = None
    for kind in mechanisms:
        model, encoding, stats = train_conditioned(data, kind, knob_minutes, quick=quick, workers=n_workers, seed=seed)
        vectors = knob_vectors(data, encoding)
        rf = model.receptive_field
        per = [recording_esr(partial(knob_predict, model, knobs=vectors[i]), data, i, rf) for i in heldout]
        seen_esr = float(np.mean([recording_esr(partial(knob_predict, model, knobs=vectors[i]), data, i, rf)
                                  for i in seen]))
        # the real-time factor of the exported file: written as a 0.7 .nam, read back, streamed
        nam_path = export_knob_nam(model, encoding, checkpoints_dir("bench", "knobs", data.name, kind, "model.nam"),
                                   sample_rate=data.sample_rate)
        from_file = load_knob_nam(nam_path)[0]
        conditioned[kind] = {"test_esr": per, "mean_test_esr": float(np.mean(per)), "seen_settings_test_esr": seen_esr,
                             "rtf": streaming_rtf(from_file, clip, vectors[heldout[0]]), "nam_file": str(nam_path),
                             **stats}
        print(f"  conditioned {kind:<8} mean test ESR {np.mean(per):.5f} on unseen settings, {seen_esr:.5f} on seen "
              f"({stats['steps']} steps)", flush=True)

    ded = np.array([d["test_esr"] for d in dedicated])
    results: dict[str, Any] = {"minutes_per_run": minutes, "minutes_per_conditioned_run": knob_minutes,
                               "workers": n_workers, "dataset": data.name,
                               "preset": PRESET, "block_size": BLOCK_SIZE, "heldout_settings": labels,
                               "dedicated": dedicated, "dedicated_mean_test_esr": float(ded.mean()),
                               "dedicated_rtf": dedicated_rtf, "conditioned": conditioned}
    for c in conditioned.values():
        c["esr_ratio_per_setting"] = (np.array(c["test_esr"]) / ded).tolist()
        c["esr_ratio_of_means"] = c["mean_test_esr"] / float(ded.mean())
        c["rtf_ratio"] = c["rtf"]["rtf"] / dedicated_rtf["rtf"]

    print(f"\ntest ESR on unseen settings, unseen audio (test phrases); {minutes} min per dedicated model, "
          f"{knob_minutes} per conditioned model; "
          f"ratio = conditioned ÷ dedicated")
    head = f"{'held-out setting':<24}{'dedicated':>11}"
    for kind in conditioned:
        head += f"{kind:>12}{'ratio':>8}"
    print(head)
    for j, label in enumerate(labels):
        line = f"{label:<24}{ded[j]:>11.5f}"
        for c in conditioned.values():
            line += f"{c['test_esr'][j]:>12.5f}{c['esr_ratio_per_setting'][j]:>7.2f}×"
        print(line)
    line = f"{'mean':<24}{ded.mean():>11.5f}"
    for c in conditioned.values():
        line += f"{c['mean_test_esr']:>12.5f}{c['esr_ratio_of_means']:>7.2f}×"
    print(line)
    line = f"{'seen settings (mean)':<24}{'':>11}"
    for c in conditioned.values():
        line += f"{c['seen_settings_test_esr']:>12.5f}{'':>8}"
    print(line)
    line = f"{f'streaming RTF, block {BLOCK_SIZE}':<24}{dedicated_rtf['rtf']:>11.3f}"
    for c in conditioned.values():
        line += f"{c['rtf']['rtf']:>12.3f}{c['rtf_ratio']:>7.2f}×"
    print(line)
    line = f"{'samples/s (training)':<24}{np.mean([d['samples_per_second'] for d in dedicated]):>11,.0f}"
    for c in conditioned.values():
        line += f"{c['samples_per_second']:>12,.0f}{'':>8}"
    print(line)
    return results
