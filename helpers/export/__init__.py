"""Export trained amp models to plugin formats, each checked by its own reader.

* :mod:`helpers.export.nam` — Neural Amp Modeler ``.nam`` (NAM WaveNet), export and import;
* :mod:`helpers.export.nam_knobs` — knob-conditioned WaveNets as ``.nam`` 0.7 files (knobs as extra inputs);
* :mod:`helpers.export.wavenetva` — PedalNetRT / WaveNetVA JSON (gated WaveNet: SmartGuitarAmp, WaveNetVA);
* :mod:`helpers.export.rtneural` — RTNeural JSON (sequential TCN);
* :mod:`helpers.export.report` — the export report and its ``ready`` verdict.

Each exporter refuses a model it cannot express and names the format that can.
"""

from helpers.export.common import (
    FORMAT_FOR_FAMILY,
    ExportError,
    UnsupportedModelError,
    fold_gains,
    gains_from_payload,
)
from helpers.export.nam import NamMetadata, export_nam, load_nam
from helpers.export.rtneural import export_rtneural
from helpers.export.wavenetva import export_wavenetva

__all__ = ["FORMAT_FOR_FAMILY", "ExportError", "NamMetadata", "UnsupportedModelError", "export_nam", "export_rtneural",
           "export_wavenetva", "fold_gains", "gains_from_payload", "load_nam"]
