"""The course synth, preset sampling, the teacher embedding and the dataset cache (helpers.synth)."""

import warnings

import numpy as np
import pytest
import torch

from helpers.synth import dataset, presets, teacher
from helpers.synth.synth import PARAM_SPECS, PresetError, TorchSynth, adsr, check_presets, preset_to_dict
from helpers.synth.vst import PluginLoadError, PluginNotFoundError, VSTError, VSTSynth

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def synth():
    return TorchSynth()


@pytest.fixture(scope="module")
def melstats():
    return teacher.MelStatsEmbedder()


def spectral_centroid(x: torch.Tensor, sr: int) -> float:
    mag = torch.fft.rfft(x).abs()
    freqs = torch.fft.rfftfreq(x.shape[-1], 1 / sr)
    return float((mag * freqs).sum() / mag.sum())


def test_parameter_space_mixes_numerical_and_categorical():
    kinds = [s.kind for s in PARAM_SPECS]
    assert len(PARAM_SPECS) >= 30
    assert kinds.count("categorical") >= 4 and kinds.count("numerical") >= 20
    assert len({s.name for s in PARAM_SPECS}) == len(PARAM_SPECS)
    for s in PARAM_SPECS:
        if s.kind == "numerical":
            for u in (0.0, 0.3, 1.0):
                assert s.to_unit(float(s.to_physical(torch.tensor(u)))) == pytest.approx(u, abs=1e-5)


def test_rendering_is_deterministic_and_independent_of_the_batch(synth):
    x = presets.sample_uniform(12, seed=3)
    a, b = synth.render(x), synth.render(x)
    assert a.shape == (12, synth.num_samples) == (12, 16_000)
    assert a.dtype == torch.float32 and torch.isfinite(a).all()
    assert torch.equal(a, b)
    assert torch.allclose(synth.render(x[4:7]), a[4:7], atol=1e-5)
    assert a.abs().max() <= 1.0
    assert not torch.allclose(a[0], a[1])  # different presets, different sounds


def test_noise_is_seeded(synth):
    noisy = presets.physical_preset({"osc1_level": 0.0, "noise_level": 1.0, "filter_cutoff": 7000.0}).unsqueeze(0)
    assert torch.equal(synth.render(noisy), TorchSynth().render(noisy))
    assert not torch.allclose(synth.render(noisy), TorchSynth(noise_seed=1).render(noisy))


def test_bad_presets_are_refused_with_a_clear_message(synth):
    x = presets.sample_uniform(2, seed=0)
    with pytest.raises(PresetError, match="shape"):
        synth.render(x[:, :5])
    bad = x.clone()
    bad[0, 3] = 1.5  # osc1_level, numerical
    with pytest.raises(PresetError, match="osc1_level"):
        check_presets(bad, PARAM_SPECS)
    bad = x.clone()
    bad[0, 0] = 7  # osc1_wave has 4 choices
    with pytest.raises(PresetError, match="choice index"):
        check_presets(bad, PARAM_SPECS)


def test_adsr_shape():
    t = torch.arange(1000) / 1000.0
    one = torch.ones(1, 1)
    env = adsr(t, 0.1 * one, 0.1 * one, 0.5 * one, 0.1 * one, note_off=0.6)[0]
    assert env[0] == 0 and env[100] == pytest.approx(1.0, abs=0.02)
    assert env[500] == pytest.approx(0.5, abs=0.01)  # sustain
    assert env[999] < 0.01 and (env >= 0).all() and (env <= 1).all()


def test_filter_cutoff_moves_the_brightness(synth):
    dark = presets.physical_preset({"filter_cutoff": 200.0})
    bright = presets.physical_preset({"filter_cutoff": 6000.0})
    audio = synth.render(torch.stack([dark, bright]))
    assert spectral_centroid(audio[0], 16_000) < 0.5 * spectral_centroid(audio[1], 16_000)


def test_note_is_released(synth):
    audio = synth.render(presets.physical_preset({"amp_release": 0.05}).unsqueeze(0))[0]
    held = audio[int(0.4 * 16_000):int(0.6 * 16_000)].abs().max()
    tail = audio[int(0.9 * 16_000):].abs().max()
    assert tail < 0.01 * held


def test_sampling_is_deterministic_by_seed():
    a, b, c = (presets.sample_uniform(50, s) for s in (1, 1, 2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    check_presets(a, PARAM_SPECS)
    cats = [j for j, s in enumerate(PARAM_SPECS) if s.kind == "categorical"]
    assert all(len(a[:, j].unique()) > 1 for j in cats)
    t1, names1 = presets.sample_templates(40, seed=5)
    t2, names2 = presets.sample_templates(40, seed=5)
    assert torch.equal(t1, t2) and names1 == names2
    assert set(names1) <= set(presets.TEMPLATES) and len(set(names1)) > 3
    check_presets(t1, PARAM_SPECS)
    # perturbed presets stay near their template
    base = presets.template_presets()
    num = [j for j, s in enumerate(PARAM_SPECS) if s.kind == "numerical"]
    dist = torch.stack([(t1[i, num] - base[n][num]).abs().mean() for i, n in enumerate(names1)])
    assert dist.mean() < 0.1


def test_unknown_template_parameter_is_refused():
    with pytest.raises(PresetError, match="unknown parameters"):
        presets.physical_preset({"cutof": 100.0})
    with pytest.raises(PresetError, match="not one of"):
        presets.physical_preset({"osc1_wave": "wobble"})


def test_silent_and_broken_presets_are_filtered(synth):
    silent = presets.physical_preset({"osc1_level": 0.0})
    ok = presets.template_presets()
    audio = synth.render(torch.stack([silent, *ok.values()]))
    mask = presets.degenerate_mask(audio)
    assert mask.tolist() == [True] + [False] * len(ok)
    broken = audio.clone()
    broken[1, 10] = float("nan")
    assert presets.degenerate_mask(broken)[1]


def test_teacher_embedding_shape_and_gain_invariance(synth, melstats):
    audio = synth.render(presets.sample_templates(6, seed=0)[0])
    emb = melstats(audio)
    assert emb.shape == (6, melstats.dim) and melstats.dim == 2 * 40 + 2 * 20 + 8
    assert torch.isfinite(emb).all()
    for gain in (0.05, 3.0):
        assert torch.allclose(melstats(gain * audio), emb, atol=1e-2)
    # the embedding does tell sounds apart: nearest neighbour of each clip (other than itself) is far
    dist = torch.cdist(emb, emb, p=1)
    assert (dist + torch.eye(6) * 1e9).min() > 1.0


class _Pool(torch.nn.Module):
    """A tiny "pretrained" audio model: mean |x| and std over 100-sample frames → (B, 2)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = x[:, : x.shape[1] // 100 * 100].reshape(x.shape[0], -1, 100)
        return torch.stack([frames.abs().mean(dim=(1, 2)), frames.std(dim=(1, 2))], dim=1)


def test_exported_teacher_from_disk(tmp_path, synth):
    batch = torch.export.Dim("batch", min=1, max=1024)
    program = torch.export.export(_Pool(), (torch.randn(2, 16_000),), dynamic_shapes=({0: batch},))
    path = tmp_path / "pool.pt2"
    torch.export.save(program, str(path))
    emb = teacher.SavedModelEmbedder(path, sample_rate=16_000)
    assert isinstance(emb, teacher.AudioEmbedder)
    audio = synth.render(presets.sample_uniform(3, seed=0))
    out = emb(audio)
    assert out.shape == (3, 2) and emb.dim == 2
    assert torch.allclose(emb(0.1 * audio), out, atol=1e-4)


def test_torchscript_teacher_and_loading_errors(tmp_path, synth):
    path = tmp_path / "pool.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(_Pool()).save(str(path))
    emb = teacher.SavedModelEmbedder(path, sample_rate=16_000)
    audio = synth.render(presets.sample_uniform(2, seed=1))
    assert torch.allclose(emb(audio), _Pool()(teacher.normalize_rms(audio)), atol=1e-6)
    with pytest.raises(teacher.TeacherError, match="no such model file"):
        teacher.SavedModelEmbedder(tmp_path / "missing.pt2", 16_000)
    for junk in (tmp_path / "junk.pt", tmp_path / "junk.pt2"):
        junk.write_text("not a model")
        with pytest.raises(teacher.TeacherError, match="not a"):
            teacher.SavedModelEmbedder(junk, 16_000)


def test_teacher_with_wrong_output_shape_is_refused(tmp_path):
    class Frames(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.reshape(x.shape[0], 4, -1)

    path = tmp_path / "frames.pt2"
    torch.export.save(torch.export.export(Frames(), (torch.randn(2, 16_000),)), str(path))
    with pytest.raises(teacher.TeacherError, match="pool over time"):
        teacher.SavedModelEmbedder(path, 16_000)


def test_dataset_is_built_filtered_and_cached(synth, melstats):
    ds = dataset.build_dataset(synth, melstats, 24, source="templates", seed=2, batch_size=8, progress=False)
    assert ds.presets.shape == (24, len(PARAM_SPECS)) and ds.embeddings.shape == (24, melstats.dim)
    assert ds.labels is not None and len(ds.labels) == 24
    assert ds.path is not None and ds.path.exists()
    assert not presets.degenerate_mask(synth.render(ds.presets)).any()
    assert torch.allclose(melstats(synth.render(ds.presets[:4])), ds.embeddings[:4], atol=1e-4)
    again = dataset.build_dataset(synth, melstats, 24, source="templates", seed=2, progress=False)
    assert torch.equal(again.presets, ds.presets) and again.labels == ds.labels and again.path == ds.path
    other = dataset.build_dataset(synth, melstats, 24, source="templates", seed=3, progress=False)
    assert other.path != ds.path and not torch.equal(other.presets, ds.presets)
    train, val = ds.split(4)
    assert len(train) == 20 and len(val) == 4 and val.labels == ds.labels[20:]


def test_dataset_drops_silent_presets(synth, melstats):
    # half of these have every source muted: they must be replaced by audible ones
    x = presets.sample_uniform(16, seed=0)
    levels = [j for j, s in enumerate(PARAM_SPECS) if s.name.endswith("_level")]
    x[::2][:, levels] = 0.0
    emb, bad = dataset.embed_presets(synth, melstats, x, batch_size=5, progress=False)
    assert bad[::2].all() and emb.shape == (16, melstats.dim)
    assert (emb[bad] == 0).all()


def test_normalizer_zscores():
    rng = torch.Generator().manual_seed(0)
    e = torch.randn(200, 5, generator=rng) * torch.tensor([1.0, 10, 100, 0.1, 0.0]) + 3
    norm = dataset.EmbeddingNormalizer.fit(e)
    z = norm(e)
    assert torch.allclose(z.mean(0), torch.zeros(5), atol=1e-5)
    assert torch.allclose(z.std(0)[:4], torch.ones(4), atol=1e-4)
    assert torch.isfinite(z).all()


def test_preset_to_dict_is_readable():
    d = preset_to_dict(presets.template_presets()["bass"], PARAM_SPECS)
    assert d["osc1_octave"] == "-1" and d["filter_type"] == "lowpass" and d["filter_cutoff"].endswith("Hz")
    assert float(d["filter_cutoff"].split()[0]) == pytest.approx(300, rel=0.01)


def test_vst_missing_plugin_is_a_clear_error(tmp_path):
    with pytest.raises(PluginNotFoundError, match="no such plugin") as err:
        VSTSynth(tmp_path / "Dexed.vst3")
    assert isinstance(err.value, FileNotFoundError) and isinstance(err.value, VSTError)


def test_vst_unloadable_file_is_a_clear_error(tmp_path):
    fake = tmp_path / "NotAPlugin.vst3"
    fake.write_bytes(b"\x00" * 64)
    with pytest.raises(PluginLoadError, match="could not load"):
        VSTSynth(fake)


def test_rms_dbfs_helper_matches_audio_module(synth):
    from helpers.audio import rms_dbfs

    audio = synth.render(presets.sample_uniform(3, seed=9))
    assert presets.rms_dbfs_of(audio) == pytest.approx([rms_dbfs(a.numpy()) for a in audio], abs=1e-3)
    assert np.all(np.isfinite(presets.rms_dbfs_of(audio)))


def test_dataset_refuses_a_teacher_at_another_rate(synth):
    with pytest.raises(ValueError, match="22050 Hz"):
        dataset.embed_presets(synth, teacher.MelStatsEmbedder(sample_rate=22_050), presets.sample_uniform(2, 0),
                              progress=False)
