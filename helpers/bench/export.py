"""Benchmark, export part: streaming real-time factor per block size for each preset, against offline.

For every preset (NAM nano…standard, the gated WaveNets, the TCNs; quick mode: NAM feather and
standard only) a seeded, untrained model — speed does not depend on the weights — streams a noise
signal through :mod:`helpers.realtime` at several block sizes on ONE thread (torch and BLAS), best
of three runs. Baseline measured in the same run: offline whole-signal PyTorch inference of the same
audio. Reported: RTF (compute time / audio time; < 1 is real time) and streaming/offline cost ratio.

Targets: NAM ``standard`` streams faster than real time at 48 kHz in blocks of 64, and its
streaming/offline cost ratio at block 64 stays below 3.
"""

from __future__ import annotations

import torch

from helpers.export.report import measure_rtf
from helpers.models import PRESETS, build_model
from helpers.runtime import seed_everything

QUICK_PRESETS = [("nam", "feather"), ("nam", "standard")]
FULL_BLOCKS = (32, 64, 128, 256, 512, 1024)
QUICK_BLOCKS = (32, 64, 256, 1024)
TARGET_RATIO = 3.0


def run(quick: bool = False) -> dict:
    """Measure and print; returns ``{"presets": {name: measure_rtf(...)}, "targets": {...}}``."""
    seed_everything(0)
    presets = QUICK_PRESETS if quick else [(f, p) for f, names in PRESETS.items() for p in names]
    blocks = QUICK_BLOCKS if quick else FULL_BLOCKS
    seconds = 0.5 if quick else 3.0
    results = {}
    print(f"streaming RTF on 1 thread, {seconds:g} s of 48 kHz audio, best of 3 (torch {torch.__version__})")
    print(f"{'model':<24}{'offline':>9}  " + "".join(f"{'b' + str(b):>14}" for b in blocks))
    for family, preset in presets:
        model = build_model(family, preset)
        r = measure_rtf(model, blocks, seconds=seconds)
        results[f"{family}/{preset}"] = r
        cells = "".join(f"{row['rtf']:>7.3f} ({row['stream_offline_ratio']:>3.1f}×)" for row in r["blocks"])
        print(f"{family + '/' + preset:<24}{r['offline_rtf']:>9.3f}  {cells}")
    print("cells: streaming RTF (streaming / offline cost)")
    std = {row["block_size"]: row for row in results["nam/standard"]["blocks"]}[64]
    targets = {"nam_standard_rtf_b64": std["rtf"], "realtime_b64": std["rtf"] < 1.0,
               "nam_standard_ratio_b64": std["stream_offline_ratio"], "ratio_below_3": std["stream_offline_ratio"] < TARGET_RATIO}
    print(f"NAM standard @ block 64: RTF {std['rtf']:.3f} ({'faster' if std['rtf'] < 1 else 'SLOWER'} than real time), "
          f"streaming/offline {std['stream_offline_ratio']:.2f}× (target < {TARGET_RATIO:g}: "
          f"{'met' if targets['ratio_below_3'] else 'MISSED'})")
    return {"presets": results, "targets": targets}
