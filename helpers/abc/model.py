"""The character LSTM of the MIT lab (Embedding → LSTM → Linear), configurable, with presets."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class CharLSTMConfig:
    """Sizes of a :class:`CharLSTM` (``vocab_size`` is filled in from the vocabulary)."""

    vocab_size: int = 0
    embedding_dim: int = 256
    hidden_size: int = 1024
    num_layers: int = 1
    dropout: float = 0.0

    def with_vocab(self, vocab_size: int) -> CharLSTMConfig:
        return CharLSTMConfig(**{**asdict(self), "vocab_size": vocab_size})


#: ``lab``: the reference lab's Embedding(256) → LSTM(1024). ``quick``: seconds on a CPU, for tests and
#: quick mode. ``full``: chosen for ~10 CPU minutes of training: a narrower LSTM sees 8× more characters per
#: CPU second (batch 32 × 200) than the lab's, and dropout before the output keeps it from overfitting.
PRESETS: dict[str, CharLSTMConfig] = {
    "lab": CharLSTMConfig(embedding_dim=256, hidden_size=1024, num_layers=1, dropout=0.0),
    "quick": CharLSTMConfig(embedding_dim=32, hidden_size=128, num_layers=1, dropout=0.0),
    "full": CharLSTMConfig(embedding_dim=64, hidden_size=512, num_layers=1, dropout=0.2),
}


def preset(name: str, vocab_size: int, **overrides) -> CharLSTMConfig:
    """A preset's config for ``vocab_size`` characters, with any field overridden."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return CharLSTMConfig(**{**asdict(PRESETS[name]), **overrides, "vocab_size": vocab_size})


class CharLSTM(nn.Module):
    """Embedding → LSTM (``num_layers``, dropout between layers and before the output) → Linear logits."""

    def __init__(self, config: CharLSTMConfig):
        super().__init__()
        if config.vocab_size <= 0:
            raise ValueError("CharLSTMConfig.vocab_size must be set (use config.with_vocab(len(vocab)))")
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim)
        self.lstm = nn.LSTM(
            config.embedding_dim, config.hidden_size, num_layers=config.num_layers, batch_first=True,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """``x``: ids ``(batch, time)`` → logits ``(batch, time, vocab)`` and the LSTM state ``(h, c)``."""
        out, state = self.lstm(self.embedding(x), state)
        return self.head(self.dropout(out)), state

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
