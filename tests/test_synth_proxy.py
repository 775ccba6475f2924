"""Preset encoders, MRR, training/resume and sound matching (helpers.synth)."""

import numpy as np
import pytest
import torch

from helpers.errors import CheckpointError
from helpers.synth import evaluate, matching, presets
from helpers.synth.dataset import EmbeddingNormalizer, PresetDataset, build_dataset
from helpers.synth.encoders import ENCODERS, ParameterTokens, build_encoder, count_parameters
from helpers.synth.synth import PARAM_SPECS, TorchSynth
from helpers.synth.teacher import MelStatsEmbedder
from helpers.synth.train import TrainConfig, load_encoder, train_encoder
from helpers.tracking import read_offline_archive

TINY = {"mlp": {"hidden": 32, "layers": 2}, "highway": {"hidden": 32, "layers": 2},
        "bigru": {"d_model": 16, "hidden": 16, "layers": 1}, "transformer": {"d_model": 16, "heads": 2, "layers": 1, "ff": 32}}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def small_data():
    """40 rendered template presets with their teacher embeddings (cached by the dataset module)."""
    synth, melstats = TorchSynth(), MelStatsEmbedder()
    return synth, melstats, build_dataset(synth, melstats, 40, source="templates", seed=11, progress=False)


# -- MRR on constructed examples ---------------------------------------------------------------------------

def test_ranks_and_mrr_on_a_constructed_example():
    target = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    pred = torch.tensor([[0.0], [1.6], [2.9], [0.4]])
    # pred 1 is nearer target 2 (0.4 < 0.6); pred 2 nearer target 3; pred 3 is nearer every other target
    assert evaluate.ranks(pred, target).tolist() == [1, 2, 2, 4]
    assert evaluate.mrr(pred, target) == pytest.approx((1 + 1 / 2 + 1 / 2 + 1 / 4) / 4)
    assert evaluate.top_k_mrr(pred, target, k=2) == pytest.approx((1 + 1 / 2 + 1 / 2 + 0) / 4)
    assert evaluate.top_k_mrr(pred, target, k=1) == pytest.approx(1 / 4)
    assert evaluate.l1_error(pred, target) == pytest.approx((0 + 0.6 + 0.9 + 2.6) / 4)


def test_mrr_uses_l1_distance_and_blocks():
    # in L1 target 1 is nearer (0.9 + 0.9 = 1.8 vs 2.0); in L2 target 0 would be nearer (1.27 vs 2.0)
    target = torch.tensor([[2.0, 0.0], [0.1, 1.1], [5.0, 5.0]])
    pred = torch.tensor([[1.0, 1.0], [0.1, 1.1], [5.0, 5.0]])
    assert evaluate.ranks(pred, target).tolist() == [2, 1, 1]
    perfect = torch.randn(10, 3, generator=torch.Generator().manual_seed(0))
    assert evaluate.mrr(perfect, perfect) == 1.0
    # blocks of 5: the swap of rows 4 and 5 crosses blocks, so each of them is ranked against other rows
    swapped = perfect[[0, 1, 2, 3, 5, 4, 6, 7, 8, 9]]
    rr = evaluate.reciprocal_ranks(swapped, perfect, n_candidates=5)
    assert rr.shape == (10,) and rr[[0, 1, 2, 3, 6, 7, 8, 9]].eq(1).all() and (rr[[4, 5]] < 1).all()
    with pytest.raises(ValueError, match="at least 2"):
        evaluate.mrr(perfect[:1], perfect[:1])


def test_random_predictions_score_chance_mrr():
    gen = torch.Generator().manual_seed(0)
    target = torch.randn(4000, 8, generator=gen)
    pred = torch.randn(4000, 8, generator=gen)
    assert evaluate.mrr(pred, target, n_candidates=100) == pytest.approx(evaluate.random_mrr(100), rel=0.15)
    assert evaluate.random_mrr(1) == 1.0 and evaluate.random_mrr(2) == 0.75


def test_ordering_and_hypothesis():
    results = {"mlp": {"mrr": 0.2, "l1": 0.5}, "highway": {"mrr": 0.3, "l1": 0.4},
               "bigru": {"mrr": 0.25, "l1": 0.45}, "transformer": {"mrr": 0.4, "l1": 0.3}}
    assert evaluate.ordering(results) == ["transformer", "highway", "bigru", "mlp"]
    assert evaluate.ordering(results, "l1") == ["transformer", "highway", "bigru", "mlp"]
    assert not evaluate.matches_hypothesis(evaluate.ordering(results))
    assert evaluate.matches_hypothesis(["transformer", "bigru", "highway", "mlp"])
    assert evaluate.matches_hypothesis(["transformer", "mlp"])


def test_paired_bootstrap():
    a = torch.ones(50)
    diff, lo, hi = evaluate.paired_bootstrap_ci(a, torch.full((50,), 0.5))
    assert diff == pytest.approx(0.5) and lo == pytest.approx(0.5) and hi == pytest.approx(0.5)
    noise = torch.rand(200, generator=torch.Generator().manual_seed(1))
    _, lo, hi = evaluate.paired_bootstrap_ci(noise, noise.flip(0))
    assert lo < 0 < hi


# -- encoders -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ENCODERS)
def test_encoder_shapes_and_gradients(name):
    model = build_encoder(name, PARAM_SPECS, 24, **TINY[name])
    x = presets.sample_uniform(5, seed=0)
    y = model(x)
    assert y.shape == (5, 24) and torch.isfinite(y).all()
    y.abs().sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    assert count_parameters(model) > 0
    # categorical and numerical inputs both matter
    cat_col = next(j for j, s in enumerate(PARAM_SPECS) if s.kind == "categorical")
    num_col = next(j for j, s in enumerate(PARAM_SPECS) if s.kind == "numerical")
    for col, value in ((cat_col, 2.0), (num_col, 0.9)):
        changed = x.clone()
        changed[0, col] = value if x[0, col] != value else 1.0
        with torch.no_grad():
            assert not torch.allclose(model(changed)[0], model(x)[0])
    with pytest.raises(ValueError, match="shape"):
        model(x[:, :10])


def test_default_sizes_build_and_unknown_encoder_is_refused():
    for name in ENCODERS:
        assert build_encoder(name, PARAM_SPECS, 128)(presets.sample_uniform(2, 0)).shape == (2, 128)
    with pytest.raises(ValueError, match="unknown encoder"):
        build_encoder("lstm", PARAM_SPECS, 8)


def test_parameter_tokens_follow_parameter_order():
    tok = ParameterTokens(PARAM_SPECS, 8)
    x = presets.sample_uniform(3, seed=1)
    t = tok(x)
    assert t.shape == (3, len(PARAM_SPECS), 8)
    # a categorical token depends only on its own choice: same choice → same token across presets
    j = next(i for i, s in enumerate(PARAM_SPECS) if s.kind == "categorical")
    x[1, j] = x[0, j]
    t = tok(x)
    assert torch.allclose(t[0, j], t[1, j])


# -- training -----------------------------------------------------------------------------------------------

def test_training_learns_checkpoints_and_tracks(small_data):
    synth, _, data = small_data
    train, val = data.split(10)
    config = TrainConfig(encoder="mlp", epochs=12, batch_size=10, lr=1e-2, encoder_kwargs=TINY["mlp"], n_candidates=10,
                         run_name="t-learn", progress=False)
    result = train_encoder(train, val, synth.specs, config)
    assert result.epochs_run == 12 and result.best_path.exists()
    assert result.history[-1]["train_loss"] < 0.7 * result.history[0]["train_loss"]
    assert result.archive is not None
    logged = read_offline_archive(result.archive)
    assert [s for s, _ in logged.metrics["val/val_mrr"]] == [(e + 1) * 3 for e in range(12)]
    assert logged.parameters["encoder"] == "mlp"
    model, normalizer, cfg = load_encoder(result.best_path)
    assert cfg.encoder == "mlp"
    assert torch.allclose(evaluate.predict(model, val.presets), evaluate.predict(result.model, val.presets))
    assert torch.equal(normalizer.mean, result.normalizer.mean)


def test_training_resumes_to_the_same_weights_and_checks_identity(small_data, tmp_path):
    synth, _, data = small_data
    train, val = data.split(10)
    config = TrainConfig(encoder="transformer", epochs=3, batch_size=8, encoder_kwargs=TINY["transformer"],
                         n_candidates=10, track=False, progress=False)
    straight = train_encoder(train, val, synth.specs, TrainConfig(**{**config.__dict__, "run_name": "t-straight"}))
    chunks = TrainConfig(**{**config.__dict__, "run_name": "t-chunks"})
    first = train_encoder(train, val, synth.specs, chunks, pause_after_epochs=1)
    assert first.epochs_run == 1 and first.stopped == "paused"
    rest = train_encoder(train, val, synth.specs, chunks)
    assert rest.epochs_run == 3
    for a, b in zip(straight.model.state_dict().values(), rest.model.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6)
    done = train_encoder(train, val, synth.specs, chunks)
    assert done.history == rest.history  # a finished run is loaded, not retrained
    other = TrainConfig(**{**chunks.__dict__, "encoder_kwargs": {**TINY["transformer"], "ff": 16}})
    with pytest.raises(CheckpointError, match="another run"):  # another encoder on that checkpoint: refused
        train_encoder(train, val, synth.specs, other)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_encoder(tmp_path / "nothing.pt")


# -- sound matching and the map ------------------------------------------------------------------------------

def test_sound_matching_finds_the_preset_behind_a_sound(small_data):
    synth, melstats, data = small_data
    config = TrainConfig(encoder="mlp", epochs=60, batch_size=40, lr=1e-2, encoder_kwargs={"hidden": 128, "layers": 2},
                         n_candidates=40, run_name="t-match", track=False, progress=False)
    # memorise the candidates: the search then has a known answer for each of them
    result = train_encoder(data, data.subset(slice(0, 8)), synth.specs, config)
    pred = evaluate.predict(result.model, data.presets)
    hits = []
    for j in range(0, 40, 5):
        match = matching.match_sound(synth.render(data.presets[j:j + 1])[0], result.model, melstats,
                                     result.normalizer, synth, data.presets, k=3, candidate_embeddings=pred)
        assert match.audio.shape == (3, synth.num_samples) and match.indices.shape == (3,)
        assert (match.proxy_distance.diff() >= 0).all()
        hits.append(j in match.indices.tolist())
    assert sum(hits) >= 6, hits
    idx, dist = matching.search_presets(result.model, result.normalizer(data.embeddings[0]), data.presets, k=100)
    assert len(idx) == 40 and dist[0] <= dist[-1]


def test_pca_map_is_deterministic_and_orders_variance():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(300, 6, generator=gen) * torch.tensor([5.0, 2.0, 0.1, 0.1, 0.1, 0.1])
    xy = matching.pca_2d(x)
    assert xy.shape == (300, 2)
    assert np.var(xy[:, 0]) > np.var(xy[:, 1]) > 1.0
    assert np.allclose(np.abs(np.corrcoef(xy[:, 0], x[:, 0].numpy())[0, 1]), 1.0, atol=0.01)
    assert np.array_equal(xy, matching.pca_2d(x))
    perm = torch.randperm(300, generator=gen)
    assert np.allclose(matching.pca_2d(x[perm]), xy[perm.numpy()])  # the sign convention: no flip on reordering


def test_plot_map_draws_both_kinds():
    import matplotlib.pyplot as plt

    xy = np.random.default_rng(0).normal(size=(20, 2))
    ax = matching.plot_map(xy, np.arange(20) % 3, "choices", categorical=["a", "b", "c"])
    assert len(ax.collections) == 3
    ax = matching.plot_map(xy, np.linspace(0, 1, 20), "values")
    assert len(ax.collections) == 1
    plt.close("all")


def test_dataset_subset_keeps_labels():
    ds = PresetDataset(torch.zeros(4, 2), torch.arange(8.0).reshape(4, 2), ["a", "b", "c", "d"])
    sub = ds.subset(torch.tensor([3, 1]))
    assert sub.labels == ["d", "b"] and torch.equal(sub.embeddings, torch.tensor([[6.0, 7.0], [2.0, 3.0]]))
    norm = EmbeddingNormalizer.fit(ds.embeddings)
    assert torch.allclose(EmbeddingNormalizer.from_state_dict(norm.state_dict())(ds.embeddings), norm(ds.embeddings))


def test_bench_part_runs_in_quick_mode(capsys):
    from helpers.bench import synth as bench_synth

    figures = bench_synth.run(quick=True)
    assert set(figures) == {"render_batched_per_s", "render_loop_per_s", "render_embed_per_s", "proxy_mlp_per_s",
                            "proxy_transformer_per_s"}
    assert all(v > 0 for v in figures.values())
    assert figures["proxy_mlp_per_s"] > figures["render_embed_per_s"]  # the point of a proxy
    assert "presets/s" in capsys.readouterr().out
