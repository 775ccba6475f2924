import numpy as np
import pytest

from helpers import paths, runtime


def test_seed_everything_repeats_numpy_and_torch():
    import torch

    runtime.seed_everything(7)
    a = (np.random.rand(3), torch.rand(3))
    g1 = runtime.seed_everything(7)
    b = (np.random.rand(3), torch.rand(3))
    np.testing.assert_array_equal(a[0], b[0])
    assert torch.equal(a[1], b[1])
    assert g1.random() == runtime.seed_everything(7).random()


def test_pick_device_respects_choice(monkeypatch):
    import torch

    assert runtime.pick_device("cpu") == "cpu"
    monkeypatch.setenv("NAL_DEVICE", "cpu")
    assert runtime.pick_device() == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            runtime.pick_device("cuda")


def test_tools_can_be_hidden_to_force_fallbacks(monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv(runtime.NO_TOOLS_ENV, "1")
    assert all(v is None for v in runtime.tools_report().values())
    monkeypatch.setenv(runtime.NO_TOOLS_ENV, "0")
    assert runtime.find_tool("sh") is not None


def test_environment_report_lists_required_packages():
    report = runtime.environment_report()
    assert report.problems() == []
    assert report.packages["torch"] and report.device in ("cpu", "cuda", "mps")
    assert set(report.tools) == set(runtime.OPTIONAL_TOOLS)


def test_paths_follow_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("NAL_OUTPUTS", str(tmp_path / "o"))
    assert paths.outputs_dir("x.wav") == tmp_path / "o" / "x.wav"
    assert (tmp_path / "o").is_dir()
    assert (paths.repo_root() / "pyproject.toml").exists()
