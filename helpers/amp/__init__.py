"""Amp and pedal captures: data from a capture manifest, training, evaluation, listening, CLI.

``python -m helpers.amp train --manifest data/demo/overdrive/manifest.json --model nam --preset feather --minutes 10``
"""
