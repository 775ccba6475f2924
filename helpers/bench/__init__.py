"""Benchmarks (``make bench``): each part measures this project against a baseline in the same run
and prints the ratios. Parts live in their own modules and expose ``run(quick: bool) -> dict``."""

PARTS = ("amp", "export", "knobs", "music", "synth")
