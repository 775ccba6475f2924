"""Independent NumPy re-implementations of plugin runtimes, used to check exported files.

Written from the runtimes' own code and documentation (WaveNetVA ``Convolution.cpp`` /
``ConvolutionStack.cpp`` / ``WaveNet.cpp``; RTNeural ``model_loader.h`` / ``conv1d.h`` / PReLU), and
reading only the exported JSON — never this project's model classes. Each runtime starts with empty
(zero) state like a freshly loaded plugin; :func:`run_after_silence` feeds ``receptive_field - 1``
zeros first, which is what an offline model with zero padding computes.
"""

from helpers.export.reference.rtneural import RTNeuralReference
from helpers.export.reference.wavenetva import WaveNetVAReference

__all__ = ["RTNeuralReference", "WaveNetVAReference"]
