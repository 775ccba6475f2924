"""Capture datasets: reamp signal, demo DI guitar, virtual devices, pair loading, latency, splits, manifest.

Modules (one job each): :mod:`~helpers.capture.reamp` (capture signal + layout),
:mod:`~helpers.capture.guitar` (demo DI guitar), :mod:`~helpers.capture.devices` (virtual amps/pedals),
:mod:`~helpers.capture.pair` (load/validate a user's pair), :mod:`~helpers.capture.latency`,
:mod:`~helpers.capture.repeatability`, :mod:`~helpers.capture.splits`, :mod:`~helpers.capture.normalization`,
:mod:`~helpers.capture.manifest`, :mod:`~helpers.capture.dataset` (pair → dataset on disk),
:mod:`~helpers.capture.demo` (the embedded default capture), :mod:`~helpers.capture.plots`.
"""
