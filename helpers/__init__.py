"""Neural Audio Lab: the code behind the course notebooks.

Modules are small and have one job each; import what you need, e.g.
``from helpers import audio`` or ``from helpers.tracking import start_experiment``.
"""

__version__ = "0.1.0"
