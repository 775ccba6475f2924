"""Benchmark of the synth-proxy part: what batching and the proxy buy.

1. Rendering: batched ``TorchSynth.render`` vs. one preset at a time (the baseline: how a plugin renders).
2. Scoring candidates for sound matching: the proxy's forward pass (an untrained MLP and transformer of the
   notebook's full-mode sizes: speed does not depend on the weights) vs. render + teacher embedding.
"""

from __future__ import annotations

import time

import torch

from helpers.synth.encoders import build_encoder
from helpers.synth.presets import sample_uniform
from helpers.synth.synth import TorchSynth
from helpers.synth.teacher import MelStatsEmbedder


def _seconds(fn, repeats: int = 1) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def run(quick: bool) -> dict:
    """Print the table and return the figures (presets per second), measured on one CPU thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(quick)
    finally:
        torch.set_num_threads(threads)


def _run(quick: bool) -> dict:
    synth, teacher = TorchSynth(), MelStatsEmbedder()
    n = 64 if quick else 512
    presets = sample_uniform(n, seed=0)
    loop_n = 8 if quick else 64
    batched = _seconds(lambda: [synth.render(presets[s:s + 64]) for s in range(0, n, 64)])
    looped = _seconds(lambda: [synth.render(presets[i:i + 1]) for i in range(loop_n)])
    render_embed = _seconds(lambda: [teacher(synth.render(presets[s:s + 64])) for s in range(0, n, 64)])
    results = {"render_batched_per_s": n / batched, "render_loop_per_s": loop_n / looped,
               "render_embed_per_s": n / render_embed}
    m = 2048 if quick else 32768
    cands = sample_uniform(m, seed=1)
    sizes = {"mlp": {"hidden": 512, "layers": 3}, "transformer": {"d_model": 64, "heads": 4, "layers": 3, "ff": 256}}
    for name, kw in sizes.items():
        model = build_encoder(name, synth.specs, teacher.dim, **kw).eval()
        with torch.no_grad():
            t = _seconds(lambda model=model: [model(cands[s:s + 1024]) for s in range(0, m, 1024)])
        results[f"proxy_{name}_per_s"] = m / t
    base = results["render_loop_per_s"]
    print(f"{'method':<34} {'presets/s':>12} {'× one-at-a-time render':>24}")
    for key, label in (("render_loop_per_s", "render, one preset at a time"), ("render_batched_per_s", "render, batches of 64"),
                       ("render_embed_per_s", "render + teacher, batches of 64"), ("proxy_mlp_per_s", "proxy MLP (no rendering)"),
                       ("proxy_transformer_per_s", "proxy transformer (no rendering)")):
        print(f"{label:<34} {results[key]:>12.0f} {results[key] / base:>23.1f}×")
    return {k: round(v, 1) for k, v in results.items()}
