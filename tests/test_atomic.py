import json

import pytest

from helpers import atomic


def test_write_json_round_trip_and_refuses_nan(tmp_path):
    p = atomic.write_json(tmp_path / "m.json", {"a": 1, "b": [1.5, 2]})
    assert json.loads(p.read_text()) == {"a": 1, "b": [1.5, 2]}
    with pytest.raises(ValueError):
        atomic.write_json(p, {"a": float("nan")})
    assert json.loads(p.read_text()) == {"a": 1, "b": [1.5, 2]}


def test_interrupted_write_leaves_previous_file(tmp_path):
    target = tmp_path / "ckpt.bin"
    atomic.write_bytes(target, b"old")
    with pytest.raises(KeyboardInterrupt), atomic.atomic_path(target) as tmp:
        tmp.write_bytes(b"half-writ")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.bin"]


def test_torch_save_atomic(tmp_path):
    import torch

    p = atomic.torch_save({"w": torch.arange(3)}, tmp_path / "c.pt")
    assert torch.load(p)["w"].tolist() == [0, 1, 2]
