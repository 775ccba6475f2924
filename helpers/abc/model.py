"""The character LSTM of the MIT lab (Embedding → LSTM → Linear), configurable, with presets."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from helpers.abc import metre
from helpers.errors import ConfigError


@dataclass(frozen=True)
class CharLSTMConfig:
    """Sizes of a :class:`CharLSTM` (``vocab_size`` is filled in from the vocabulary)."""

    vocab_size: int = 0
    embedding_dim: int = 256
    hidden_size: int = 1024
    num_layers: int = 1
    dropout: float = 0.0
    #: Size of each of the three bar-clock embeddings fed next to each character (0: characters only, as in the lab).
    clock_dim: int = 0

    def with_vocab(self, vocab_size: int) -> CharLSTMConfig:
        return CharLSTMConfig(**{**asdict(self), "vocab_size": vocab_size})


#: ``lab``: the reference lab's Embedding(256) → LSTM(1024). ``quick``: seconds on a CPU, for tests and
#: quick mode. ``full``: chosen for ~10 CPU minutes of training: a narrower LSTM sees 8× more characters per
#: CPU second (batch 32 × 200) than the lab's, and dropout 0.5 before the output (with weight decay in its
#: training preset) holds off overfitting the ~700 training tunes (measured: dropout 0.2 peaks at 1.076
#: nats/char after 5 minutes, 0.4 at 1.049, 0.5 with weight decay 0.1 at 1.046; 10 CPU minutes, one thread).
#: ``quick`` and ``full`` also read the bar clock (:mod:`helpers.abc.metre`), so they need not learn to count.
PRESETS: dict[str, CharLSTMConfig] = {
    "lab": CharLSTMConfig(embedding_dim=256, hidden_size=1024, num_layers=1, dropout=0.0),
    "quick": CharLSTMConfig(embedding_dim=32, hidden_size=128, num_layers=1, dropout=0.0, clock_dim=8),
    "full": CharLSTMConfig(embedding_dim=64, hidden_size=512, num_layers=1, dropout=0.5, clock_dim=16),
}


def preset(name: str, vocab_size: int, **overrides) -> CharLSTMConfig:
    """A preset's config for ``vocab_size`` characters, with any field overridden."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return CharLSTMConfig(**{**asdict(PRESETS[name]), **overrides, "vocab_size": vocab_size})


class CharLSTM(nn.Module):
    """Embedding → LSTM (``num_layers``, dropout between layers and before the output) → Linear logits.

    With ``clock_dim > 0`` each step's input is (character id, then the three bar-clock features of
    :mod:`helpers.abc.metre`) and the LSTM reads their embeddings side by side.
    """

    def __init__(self, config: CharLSTMConfig):
        super().__init__()
        if config.vocab_size <= 0:
            raise ConfigError("CharLSTMConfig.vocab_size must be set (use config.with_vocab(len(vocab)))")
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim)
        self.clock_embeddings = nn.ModuleList(
            [nn.Embedding(size, config.clock_dim) for size in metre.SIZES] if config.clock_dim else [])
        self.lstm = nn.LSTM(
            config.embedding_dim + config.clock_dim * len(self.clock_embeddings), config.hidden_size, num_layers=config.num_layers, batch_first=True,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """``x``: ids ``(batch, time)``, or ``(batch, time, 4)`` (character id and the three clock features) for
        a model with a clock → logits ``(batch, time, vocab)`` and the LSTM state ``(h, c)``."""
        chars = x[..., 0] if x.dim() == 3 else x
        inputs = self.embedding(chars)
        if self.reads_clock:
            if x.dim() != 3 or x.shape[-1] != 1 + len(self.clock_embeddings):
                raise ConfigError("this model reads the bar clock: give it (character, clock features) rows "
                                 "(helpers.abc.evaluate.model_stream builds them from text)")
            inputs = torch.cat([inputs, *(emb(x[..., 1 + k]) for k, emb in enumerate(self.clock_embeddings))], dim=-1)
        out, state = self.lstm(inputs, state)
        return self.head(self.dropout(out)), state

    @property
    def reads_clock(self) -> bool:
        """True when each input step is (character id, three bar-clock features)."""
        return len(self.clock_embeddings) > 0

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
