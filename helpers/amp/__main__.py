"""Command line for amp captures.

    python -m helpers.amp train --manifest data/demo/overdrive/manifest.json --model nam --preset feather --minutes 10
    python -m helpers.amp train --demo high_gain --preset standard --minutes 10     # demo capture, full length
    python -m helpers.amp predict --checkpoint checkpoints/RUN/best.pt --input dry.wav --output wet.wav
    python -m helpers.amp evaluate --checkpoint checkpoints/RUN/best.pt [--manifest ...]

Under ``torchrun --nproc_per_node N -m helpers.amp train ...`` training runs data-parallel (DDP). On a CPU,
``--workers auto`` does the same with one single-threaded process per core (see helpers.parallel).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from helpers.errors import ConfigError, cli_entry


def _train(args: argparse.Namespace) -> int:
    from helpers.amp.data import AmpData
    from helpers.amp.train import TrainConfig, train

    if args.manifest:
        manifest = Path(args.manifest)
    else:
        from helpers.capture.demo import ensure_demo_capture

        manifest = ensure_demo_capture(args.demo, quick=args.quick_data, seed=args.seed)
    data = AmpData.from_manifest(manifest)
    run = args.run_name or f"{data.name}_{args.model}_{args.preset or 'custom'}"
    cfg = TrainConfig(model=args.model, preset=args.preset, epochs=args.epochs,
                      budget_s=None if args.minutes is None else 60.0 * args.minutes,
                      batch_size=args.batch_size, crop_length=args.crop_length, lr=args.lr, seed=args.seed,
                      device=args.device, run_name=run, resume=not args.no_resume, track=not args.no_track,
                      steps_per_epoch=args.steps_per_epoch, workers=args.workers)
    result = train(data, cfg)
    summary = {"run": run, "best_val_esr": result.best_score, "best_epoch": result.best_epoch,
               "epochs_run": result.epochs_run, "seconds": round(result.seconds, 1),
               "samples_per_second": round(result.samples_per_second), "best": str(result.best_path),
               "comet_archive": str(result.archive) if result.archive else None}
    print(json.dumps(summary, indent=1))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from helpers.amp.checkpoint import load_model
    from helpers.amp.evaluate import predict
    from helpers.audio import AudioFileNotFoundError, load_wav, save_wav
    from helpers.capture.normalization import Normalization, export_gains

    if not Path(args.input).exists():  # said before the model is loaded
        raise AudioFileNotFoundError(f"{args.input}: no such input WAV; check the --input path")
    model, payload = load_model(args.checkpoint)
    sr = int(payload.get("sample_rate", 48_000))
    x, _ = load_wav(args.input, sr, resample_to_rate=args.resample)
    g_in, g_out = export_gains(Normalization.from_dict(payload.get("normalization") or {}))
    if args.raw:
        g_in, g_out = 1.0, 1.0
    y = predict(model, x * np.float32(g_in)) * np.float32(g_out)
    save_wav(args.output, y, sr)
    print(f"{args.output}: {len(y)} samples at {sr} Hz (receptive field {model.receptive_field} samples)")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from helpers.amp.checkpoint import load_model
    from helpers.amp.data import AmpData
    from helpers.amp.evaluate import evaluate

    model, payload = load_model(args.checkpoint)
    manifest = args.manifest or payload.get("manifest")
    if not manifest:
        raise ConfigError(f"{args.checkpoint}: the checkpoint does not say which capture it was trained on; "
                          "pass --manifest")
    ev = evaluate(model, AmpData.from_manifest(manifest))
    print(f"test ESR {ev.test_esr:.5f} ({ev.verdict}), pre-emphasised {ev.test_pre_esr:.5f}")
    for row in ev.sections:
        print(f"  {row['section']:<16} {row['split']:<11} ESR {row['esr']:.5f}")
    return 0


@cli_entry
def main(argv: list[str] | None = None) -> int:
    from helpers.models import FAMILIES

    parser = argparse.ArgumentParser(prog="python -m helpers.amp", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a model on a capture")
    src = t.add_mutually_exclusive_group(required=True)
    src.add_argument("--manifest", help="capture manifest (notebook 01)")
    src.add_argument("--demo", help="a virtual device's demo capture: edge_of_breakup, overdrive, high_gain")
    t.add_argument("--quick-data", action="store_true", help="with --demo: the short quick-mode capture")
    t.add_argument("--model", default="nam", choices=sorted(FAMILIES))
    t.add_argument("--preset", default="feather")
    t.add_argument("--minutes", type=float, default=None, help="wall-clock budget")
    t.add_argument("--epochs", type=int, default=1000)
    t.add_argument("--steps-per-epoch", type=int, default=None)
    t.add_argument("--batch-size", type=int, default=8)
    t.add_argument("--crop-length", type=int, default=16_384, help="output samples per crop")
    t.add_argument("--lr", type=float, default=8e-3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: best available)")
    t.add_argument("--run-name", default=None)
    t.add_argument("--no-resume", action="store_true", help="start over even if the run has a checkpoint")
    t.add_argument("--no-track", action="store_true", help="no Comet experiment")
    t.add_argument("--workers", default="auto",
                   help="CPU only: split each batch over N single-threaded processes ('auto': one per core)")
    t.set_defaults(func=_train)
    p = sub.add_parser("predict", help="run a checkpoint over a whole WAV file")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--resample", action="store_true", help="resample the input to the model's rate if needed")
    p.add_argument("--raw", action="store_true", help="skip the capture's level normalisation")
    p.set_defaults(func=_predict)
    e = sub.add_parser("evaluate", help="ESR on the test split and per section")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--manifest", default=None)
    e.set_defaults(func=_evaluate)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
