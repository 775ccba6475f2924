"""Command line for knob-conditioned captures: one model for every setting of a device.

    python -m helpers.knobs train --kind film --minutes 10                  # demo overdrive, drive × tone, full mode
    python -m helpers.knobs train --device high_gain --knobs gain treble --kind concat --preset feather
    python -m helpers.knobs train --manifest data/knobs/mine/manifest.json --kind concat --out models/mine.pt
    python -m helpers.knobs train --quick --minutes 0.2 --out /tmp/knobs.pt # seconds: a smoke run

``train`` trains with the amp recipe (:func:`helpers.knobs.train.recipe`: MSE, 10 % warm-up and decay over the
budget, CPU workers), writes the best checkpoint (``--out``, atomically; it always stays in the run's folder too)
and prints the test ESR on the held-out settings (never trained on) over the held-out test audio. The demo
dataset is notebook 05's: in full mode a 4 × 4 grid of settings plus 4 held-out ones, each playing the whole
reamp signal; with ``--quick`` a 3 × 3 grid plus 2 on the ~19 s quick signal.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from helpers.errors import ConfigError, cli_entry


def _train(args: argparse.Namespace) -> int:
    from helpers.atomic import write_bytes
    from helpers.course import KNOB_GRID
    from helpers.knobs.dataset import ensure_demo_knob_dataset, load_knob_dataset
    from helpers.knobs.encoding import ENCODINGS
    from helpers.knobs.evaluate import evaluate_settings
    from helpers.knobs.models import FILM_POSITIONS, KINDS
    from helpers.knobs.train import recipe, train_knobs

    if args.kind not in KINDS:  # said before any data is rendered
        raise ConfigError(f"unknown model kind {args.kind!r}; choose one of {', '.join(KINDS)}")
    bad = sorted(set(args.film or []) - set(FILM_POSITIONS))
    if bad or (args.film and args.kind == "lstm"):
        raise ConfigError(f"--film takes NAM FiLM positions of a WaveNet ({', '.join(FILM_POSITIONS)})"
                          + (f"; {', '.join(bad)} is not one" if bad else f", not --kind {args.kind}"))
    if args.encoding not in ENCODINGS:
        raise ConfigError(f"unknown knob encoding {args.encoding!r}; choose one of {', '.join(ENCODINGS)}")
    if args.minutes is not None and args.minutes <= 0:
        raise ConfigError(f"--minutes must be a positive number of minutes, got {args.minutes}")
    if args.out and Path(args.out).is_dir():
        raise ConfigError(f"--out {args.out} is a folder; give a file path such as {Path(args.out) / 'knobs.pt'}")
    overrides: dict = {"seed": args.seed, "encoding": args.encoding, "device": args.device_type,
                       "resume": args.resume, "track": not args.no_track}
    if args.preset is not None:
        overrides["preset"] = None if args.kind == "lstm" else args.preset
    if args.film:
        overrides["film_positions"] = list(args.film)
    if args.minutes is not None:
        overrides["budget_s"] = 60.0 * args.minutes
    if args.workers is not None:
        overrides["workers"] = args.workers
    for name in ("mixer_lr_scale", "film_lr_scale"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    if args.level_balance is not None:
        overrides["level_balance"] = args.level_balance
    cfg = recipe(args.kind, quick=args.quick, **overrides)  # checks the settings before any data is rendered
    if args.manifest:
        manifest = Path(args.manifest)
    else:
        levels, heldout = KNOB_GRID[bool(args.quick)]  # notebook 05's demo grid
        levels = levels if args.levels is None else args.levels
        heldout = heldout if args.heldout is None else args.heldout
        manifest = ensure_demo_knob_dataset(args.device, tuple(args.knobs), levels=levels, heldout=heldout,
                                            quick=args.quick, seed=args.seed)
    data = load_knob_dataset(manifest)
    run = args.run_name or f"knobs_{data.name}_{args.kind}" + (f"_{cfg.preset}" if cfg.preset else "")
    cfg = replace(cfg, run_name=run)
    print(f"training a {args.kind} model on {data.name}: {len(data.indices('train'))} settings "
          f"({', '.join(data.space.names)}), {len(data.indices('heldout'))} held out; "
          f"budget {'none' if cfg.budget_s is None else f'{cfg.budget_s:.0f} s'}", flush=True)
    result = train_knobs(data, cfg)
    best = result.best_path
    if not best.exists():
        raise ConfigError(f"{best}: the run wrote no checkpoint (no epoch finished); give a larger --minutes")
    print(f"{result.model.describe()}\nbest validation ESR {result.best_score:.5f} (seen settings, validation "
          f"audio) at epoch {result.best_epoch} of {result.epochs_run}; {result.seconds:.0f} s, "
          f"{result.samples_per_second:,.0f} samples/s")
    if args.out:
        out = write_bytes(args.out, best.read_bytes())
        print(f"checkpoint: {out} (a copy of {best})")
    else:
        print(f"checkpoint: {best}")
    assert result.encoding is not None
    split = "test" if data.splits.get("test") else "validation"
    audio = "unseen audio (test range)" if split == "test" else "validation audio (the data has no test range)"
    unseen, seen = data.indices("heldout"), data.indices("train")
    seen_esr = evaluate_settings(result.model, data, result.encoding, seen, split)
    if not unseen:
        print(f"no held-out settings in {data.name} (role 'heldout'); seen settings, {audio}: ESR {seen_esr:.5f}")
        return 0
    print(f"test ESR on unseen settings, {audio}:")
    values = []
    for i in unseen:
        value = evaluate_settings(result.model, data, result.encoding, [i], split)
        values.append(value)
        label = " ".join(f"{k}={v:.3g}" for k, v in data.settings[i].items())
        print(f"  {label:<28} {value:.5f}")
    mean = sum(values) / len(values)
    print(f"  {'mean (unseen settings)':<28} {mean:.5f}\n  {'mean (seen settings)':<28} {seen_esr:.5f}  "
          f"(unseen/seen {mean / max(seen_esr, 1e-12):.2f}×)")
    return 0


@cli_entry
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.knobs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train one conditioned model on a knob dataset")
    src = t.add_mutually_exclusive_group()
    src.add_argument("--manifest", help="your knob dataset's manifest.json (see helpers.knobs.dataset)")
    src.add_argument("--device", default="overdrive",
                     help="demo: the virtual device rendered at many settings (overdrive, edge_of_breakup, high_gain)")
    t.add_argument("--knobs", nargs="+", default=["drive", "tone"], help="demo: the device's knobs to vary")
    t.add_argument("--levels", type=int, default=None, help="demo: positions per knob (default 4; 3 with --quick)")
    t.add_argument("--heldout", type=int, default=None,
                   help="demo: held-out settings, never trained on (default 4; 2 with --quick)")
    t.add_argument("--kind", default="concat", help="concat, film or concat+film (conditioned WaveNets), lstm")
    t.add_argument("--film", nargs="+", default=None, metavar="POSITION",
                   help="NAM FiLM positions in every layer (default: the recipe's for --kind), e.g. "
                        "activation_pre_film activation_post_film; with --kind concat: FiLM as well as the mixers")
    t.add_argument("--preset", default=None, help="NAM preset of the WaveNets (default standard; nano with --quick)")
    t.add_argument("--encoding", default="values", help="knob encoding: values or onehot")
    t.add_argument("--mixer-lr-scale", type=float, default=None,
                   help="learning-rate multiplier of the mixers' knob columns (default 8 for --kind concat, 1 beside "
                        "FiLM; 1 = the common rate)")
    t.add_argument("--film-lr-scale", type=float, default=None,
                   help="learning-rate multiplier of the FiLM blocks' knob columns (default 16; 1 = the common rate)")
    t.add_argument("--level-balance", type=float, default=None,
                   help="0..1: how far the loss evens out the settings' output levels (default 0, plain MSE; "
                        "1 = every setting counts as its ESR)")
    t.add_argument("--minutes", type=float, default=None, help="wall-clock budget (default 10; 4 × 12 steps with --quick)")
    t.add_argument("--quick", action="store_true", help="short quick-mode data and training (seconds)")
    t.add_argument("--out", default=None, help="write the best checkpoint here too (atomically)")
    t.add_argument("--resume", action="store_true", help="continue the run's last checkpoint instead of starting over")
    t.add_argument("--run-name", default=None, help="checkpoint folder under checkpoints/ (default from data and model)")
    t.add_argument("--workers", default=None,
                   help="CPU only: single-threaded data-parallel processes ('auto': one per core; default auto, "
                        "1 with --quick)")
    t.add_argument("--device-type", default=None, help="cpu, cuda, cuda:1, mps (default: best available)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--no-track", action="store_true", help="no Comet experiment")
    t.set_defaults(func=_train)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
