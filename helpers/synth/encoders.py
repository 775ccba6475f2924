"""Preset encoders f: a preset ``(B, P)`` → a predicted teacher embedding ``(B, D)``.

Inputs follow the paper (Combes et al., "Neural Proxies for Sound Synthesizers"):

* **MLP** and **highway network** see one flat vector: numerical values as they are (normalised to [0, 1])
  and each categorical parameter one-hot encoded.
* **BiGRU** and **transformer** see one token per synthesizer parameter: a numerical parameter's token is a
  learned projection of its value (its own weight and bias vector), a categorical parameter's token is a
  learned embedding of its choice (one table row per choice of each parameter); a learned parameter-id
  embedding is added to every token so the model knows which parameter it is looking at. The BiGRU reads the
  tokens in parameter order and mean-pools its states; the transformer prepends a ``[CLS]`` token and reads
  its output. A final linear layer maps to the embedding size.
"""

from __future__ import annotations

import torch
from torch import nn

from helpers.errors import ConfigError
from helpers.synth.synth import ParamSpec, PresetError

ENCODERS = ("mlp", "highway", "bigru", "transformer")


class _SpecIndex(nn.Module):
    """Column indices of numerical and categorical parameters, as buffers (move with the model)."""

    # the buffers registered below, declared for type checkers
    num_idx: torch.Tensor
    cat_idx: torch.Tensor
    cat_offsets: torch.Tensor

    def __init__(self, specs: tuple[ParamSpec, ...]):
        super().__init__()
        if not specs:
            raise ConfigError("a preset encoder needs at least one parameter spec; pass the synth's specs")
        self.n_params = len(specs)
        self.register_buffer("num_idx", torch.tensor([j for j, s in enumerate(specs) if s.kind == "numerical"],
                                                     dtype=torch.long), persistent=False)
        self.register_buffer("cat_idx", torch.tensor([j for j, s in enumerate(specs) if s.kind == "categorical"],
                                                     dtype=torch.long), persistent=False)
        cards = [s.cardinality for s in specs if s.kind == "categorical"]
        self.cards = cards
        offsets = torch.tensor([0, *cards[:-1]], dtype=torch.long).cumsum(0) if cards else torch.zeros(0)
        self.register_buffer("cat_offsets", offsets.long(), persistent=False)

    def check(self, presets: torch.Tensor) -> None:
        if presets.ndim != 2 or presets.shape[1] != self.n_params:
            raise PresetError(f"presets must have shape (batch, {self.n_params}), got {tuple(presets.shape)}; "
                              "encode presets of the synth the encoder was built for")


class FlatFeatures(_SpecIndex):
    """``(B, P)`` presets → ``(B, n_numerical + Σ choices)``: numerical values then one-hot categoricals."""

    @property
    def out_dim(self) -> int:
        return len(self.num_idx) + sum(self.cards)

    def forward(self, presets: torch.Tensor) -> torch.Tensor:
        self.check(presets)
        parts = [presets[:, self.num_idx].float()]
        cats = presets[:, self.cat_idx].long()
        parts += [nn.functional.one_hot(cats[:, k], c).float() for k, c in enumerate(self.cards)]
        return torch.cat(parts, dim=1)


class ParameterTokens(_SpecIndex):
    """``(B, P)`` presets → ``(B, P, d_model)`` tokens, one per parameter, in parameter order."""

    def __init__(self, specs: tuple[ParamSpec, ...], d_model: int):
        super().__init__(specs)
        n_num = len(self.num_idx)
        self.num_weight = nn.Parameter(torch.randn(n_num, d_model) * 0.5)
        self.num_bias = nn.Parameter(torch.zeros(n_num, d_model))
        self.cat_table = nn.Embedding(max(sum(self.cards), 1), d_model)
        self.param_id = nn.Embedding(len(specs), d_model)
        nn.init.normal_(self.cat_table.weight, std=0.5)
        nn.init.normal_(self.param_id.weight, std=0.5)
        self.d_model = d_model

    def forward(self, presets: torch.Tensor) -> torch.Tensor:
        self.check(presets)
        b = presets.shape[0]
        tokens = presets.new_zeros(b, self.n_params, self.d_model, dtype=torch.float32)
        values = presets[:, self.num_idx].float().unsqueeze(2)  # (B, Pn, 1)
        tokens[:, self.num_idx] = values * self.num_weight + self.num_bias
        if len(self.cat_idx):
            choice = presets[:, self.cat_idx].long() + self.cat_offsets  # (B, Pc)
            tokens[:, self.cat_idx] = self.cat_table(choice)
        return tokens + self.param_id.weight


class MLPEncoder(nn.Module):
    """Flat features → ``layers`` × (Linear, LayerNorm, ReLU, Dropout) → Linear to ``out_dim``."""

    def __init__(self, specs: tuple[ParamSpec, ...], out_dim: int, hidden: int = 512, layers: int = 3,
                 dropout: float = 0.0):
        super().__init__()
        self.inputs = FlatFeatures(specs)
        blocks: list[nn.Module] = []
        width = self.inputs.out_dim
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.LayerNorm(hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(width, out_dim)

    def forward(self, presets: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.inputs(presets)))


class HighwayLayer(nn.Module):
    """``y = T(x) · relu(H(x)) + (1 − T(x)) · x`` with a sigmoid gate ``T`` (Srivastava et al., 2015)."""

    def __init__(self, width: int, dropout: float = 0.0):
        super().__init__()
        self.transform = nn.Linear(width, width)
        self.gate = nn.Linear(width, width)
        nn.init.constant_(self.gate.bias, -1.0)  # start close to the identity: gradients flow through depth
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = torch.sigmoid(self.gate(x))
        return t * self.dropout(torch.relu(self.transform(x))) + (1 - t) * x


class HighwayEncoder(nn.Module):
    """Flat features → Linear → ``layers`` highway layers → Linear to ``out_dim``."""

    def __init__(self, specs: tuple[ParamSpec, ...], out_dim: int, hidden: int = 256, layers: int = 4,
                 dropout: float = 0.0):
        super().__init__()
        self.inputs = FlatFeatures(specs)
        self.proj = nn.Linear(self.inputs.out_dim, hidden)
        self.body = nn.Sequential(*(HighwayLayer(hidden, dropout) for _ in range(layers)))
        self.head = nn.Linear(hidden, out_dim)

    def forward(self, presets: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(torch.relu(self.proj(self.inputs(presets)))))


class BiGRUEncoder(nn.Module):
    """Parameter tokens → bidirectional GRU → mean over tokens → Linear to ``out_dim``."""

    def __init__(self, specs: tuple[ParamSpec, ...], out_dim: int, d_model: int = 64, hidden: int = 128,
                 layers: int = 2, dropout: float = 0.0):
        super().__init__()
        self.tokens = ParameterTokens(specs, d_model)
        self.gru = nn.GRU(d_model, hidden, num_layers=layers, batch_first=True, bidirectional=True,
                          dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Sequential(nn.LayerNorm(2 * hidden), nn.Linear(2 * hidden, out_dim))

    def forward(self, presets: torch.Tensor) -> torch.Tensor:
        states, _ = self.gru(self.tokens(presets))  # (B, P, 2 * hidden)
        return self.head(states.mean(dim=1))


class TransformerEncoder(nn.Module):
    """``[CLS]`` + parameter tokens → pre-norm transformer encoder → ``[CLS]`` output → Linear to ``out_dim``."""

    def __init__(self, specs: tuple[ParamSpec, ...], out_dim: int, d_model: int = 64, heads: int = 4,
                 layers: int = 3, ff: int = 256, dropout: float = 0.0):
        super().__init__()
        self.tokens = ParameterTokens(specs, d_model)
        self.cls = nn.Parameter(torch.randn(1, 1, d_model) * 0.5)
        layer = nn.TransformerEncoderLayer(d_model, heads, ff, dropout, batch_first=True, norm_first=True,
                                           activation="gelu")
        self.body = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.LayerNorm(d_model), nn.Linear(d_model, out_dim))

    def forward(self, presets: torch.Tensor) -> torch.Tensor:
        tok = self.tokens(presets)
        x = torch.cat([self.cls.expand(tok.shape[0], -1, -1), tok], dim=1)
        return self.head(self.body(x)[:, 0])


#: Constructor of each encoder, by name.
ENCODER_CLASSES: dict[str, type[nn.Module]] = {
    "mlp": MLPEncoder, "highway": HighwayEncoder, "bigru": BiGRUEncoder, "transformer": TransformerEncoder,
}


def build_encoder(name: str, specs: tuple[ParamSpec, ...], out_dim: int, **kwargs) -> nn.Module:
    """Encoder ``name`` (one of :data:`ENCODERS`) for ``specs`` → ``out_dim``; ``kwargs`` set its sizes."""
    if name not in ENCODER_CLASSES:
        raise ConfigError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODERS)}")
    return ENCODER_CLASSES[name](specs, out_dim, **kwargs)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable weights."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
