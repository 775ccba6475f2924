"""``python -m helpers.bench [PART ...] [--quick]``: run benchmark parts (default: all that exist)."""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import sys
import time

from helpers.atomic import write_json
from helpers.bench import PARTS
from helpers.errors import ConfigError, cli_entry
from helpers.paths import outputs_dir


@cli_entry
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.bench", description=__doc__)
    parser.add_argument("parts", nargs="*", help=f"parts to run (default: {', '.join(PARTS)})")
    parser.add_argument("--quick", action="store_true", help="tiny budgets: checks the benchmark runs, not the figures")
    parser.add_argument("--minutes", type=float, default=None,
                        help="training budget per run for the parts that train (amp, knobs default: 10)")
    parser.add_argument("--presets", nargs="+", default=None,
                        help="amp part: NAM presets to compare (default: feather standard)")
    parser.add_argument("--devices", nargs="+", default=None,
                        help="amp part: demo devices (default: overdrive edge_of_breakup high_gain)")
    parser.add_argument("--mechanisms", nargs="+", default=None,
                        help="knobs part: conditioned models to train (default: concat concat+film; also film)")
    parser.add_argument("--knob-minutes", type=float, default=None,
                        help="knobs part: budget of each conditioned run (default: --minutes; 4 × --minutes matches "
                             "the four dedicated captures' total)")
    args = parser.parse_args(argv)
    unknown = [p for p in args.parts if p not in PARTS]
    if unknown:
        raise ConfigError(f"unknown benchmark part(s) {', '.join(map(repr, unknown))}; choose from {', '.join(PARTS)} "
                          "(or none for all)")
    results = {}
    for part in args.parts or PARTS:
        try:
            module = importlib.import_module(f"helpers.bench.{part}")
        except ModuleNotFoundError as exc:
            if exc.name == f"helpers.bench.{part}":
                print(f"[{part}] not available yet")
                continue
            raise
        print(f"\n=== bench: {part} ===", flush=True)
        start = time.perf_counter()
        kwargs = {"quick": args.quick}
        accepted = inspect.signature(module.run).parameters
        for name in ("minutes", "knob_minutes", "presets", "devices", "mechanisms"):
            if getattr(args, name) is not None and name in accepted:
                kwargs[name] = getattr(args, name)
        results[part] = module.run(**kwargs)
        print(f"[{part}] done in {time.perf_counter() - start:.0f} s")
    path = write_json(outputs_dir("bench", "results.json"), results)
    print(f"\nresults written to {path}")
    json.dump(results, sys.stdout, indent=1, default=str)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
