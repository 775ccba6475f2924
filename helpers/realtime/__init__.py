"""Real-time (block-by-block) inference: ``make_streamer(model).process_block(x)`` or ``stream(model, x, 64)``.

Every model family of the course has an engine (``nam``, ``gated``, ``tcn``); the output equals the
offline ``model.process(x)`` to float32 precision for any block size.
"""

from helpers.realtime import nam, stacks  # noqa: F401  (registers the engines)
from helpers.realtime.engine import (
    DEFAULT_CAPACITY,
    DelayLine,
    StreamingEngine,
    StreamingError,
    make_streamer,
    register_streamer,
    stream,
    streamable_families,
)

__all__ = ["DEFAULT_CAPACITY", "DelayLine", "StreamingEngine", "StreamingError", "make_streamer", "register_streamer",
           "stream", "streamable_families"]
