"""Folk tunes in ABC notation: corpus, vocabulary, character LSTM, sampling, judging and listening.

Modules: :mod:`corpus` (load, split, clean, split by tune), :mod:`parse` (a small ABC reader),
:mod:`vocab` (characters ↔ ids, batches), :mod:`model` (CharLSTM and presets), :mod:`train`,
:mod:`sampling`, :mod:`validity`, :mod:`novelty`, :mod:`render` (ABC → MIDI → WAV) and :mod:`widgets`.
"""
