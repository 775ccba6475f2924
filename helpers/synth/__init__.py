"""Neural proxies for sound synthesizers (notebook 08), after Combes et al., "Neural Proxies for Sound
Synthesizers: Learning Perceptually Informed Presets Representations".

A preset encoder f learns to output, from a synthesizer preset alone, the embedding that a fixed audio
model g (the teacher) gives for the sound the synth renders from that preset.

Modules: :mod:`~helpers.synth.synth` (the course's torch synth and parameter specs), :mod:`~.presets`
(sampling and the silence filter), :mod:`~.vst` (VST3 instruments through pedalboard), :mod:`~.teacher`
(audio embeddings), :mod:`~.dataset` (rendered + embedded presets, cached), :mod:`~.encoders` (MLP,
highway, BiGRU, transformer), :mod:`~.train`, :mod:`~.evaluate` (MRR) and :mod:`~.matching` (sound
matching, 2-D maps).
"""
