"""Knob-conditioned captures: one model for every setting of the device (notebook 05).

* :mod:`~helpers.knobs.space` — the knobs as an ordered space (validation, 0-1 scale);
* :mod:`~helpers.knobs.plans` — recording plans (isolated, combinatorial, hybrid, Latin hypercube);
* :mod:`~helpers.knobs.dataset` — knob manifests (simple and general forms), demo datasets, unseen-setting split;
* :mod:`~helpers.knobs.encoding` — one-hot type + level and value-per-knob encodings;
* :mod:`~helpers.knobs.models` — conditioned WaveNet (concat / FiLM) and conditioned LSTM;
* :mod:`~helpers.knobs.train` — the training loop; :mod:`~helpers.knobs.evaluate` — 2×2 grid,
  interpolation curves, knob-move check; :mod:`~helpers.knobs.listen` — slider player;
  :mod:`~helpers.knobs.export` — GuitarML LSTM JSON and the conditioned-WaveNet JSON (NAM ``.nam`` 0.7 files:
  :mod:`helpers.export.nam_knobs`).
"""
