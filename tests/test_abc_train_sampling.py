"""CharLSTM, training (loss falls, checkpoint + resume = uninterrupted run, Comet log) and sampling."""

import math

import numpy as np
import pytest
import torch

from helpers import tracking
from helpers.abc import evaluate as A
from helpers.abc import model as M
from helpers.abc import sampling
from helpers.abc import train as T
from helpers.abc.vocab import Vocab, join_tunes
from helpers.errors import CheckpointError

TUNES = [f"X:1\nT:t{i}\nM:6/8\nL:1/8\nK:D\n" + "dfa afd|gbg fed|" * (2 + i % 3) + "d3 d3|]" for i in range(12)]
TEXT = join_tunes(TUNES)
VOCAB = Vocab.from_text(TEXT)
IDS = VOCAB.encode(TEXT)
TINY = dict(embedding_dim=8, hidden_size=32)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_model(seed=0):
    torch.manual_seed(seed)
    return M.CharLSTM(M.preset("quick", len(VOCAB), **TINY))


def tiny_config(**kw):
    base = dict(batch_size=8, seq_length=40, lr=1e-2, epochs=2, steps_per_epoch=20, eval_streams=2,
                warmup_fraction=0.05, device="cpu", progress=False, resume=False)
    return T.TrainConfig(**{**base, **kw})


def test_presets_and_shapes():
    lab = M.preset("lab", 80)
    assert (lab.embedding_dim, lab.hidden_size, lab.num_layers) == (256, 1024, 1)
    model = tiny_model()
    assert model.reads_clock and not M.CharLSTM(M.preset("lab", 80)).reads_clock
    logits, (h, _c) = model(torch.zeros(3, 7, 4, dtype=torch.long))
    assert logits.shape == (3, 7, len(VOCAB)) and h.shape == (1, 3, 32)
    with pytest.raises(ValueError, match="bar clock"):
        model(torch.zeros(3, 7, dtype=torch.long))
    with pytest.raises(ValueError, match="bar clock"):
        A.evaluate(model, IDS)
    plain = M.CharLSTM(M.preset("quick", len(VOCAB), clock_dim=0))
    assert plain(torch.zeros(3, 7, dtype=torch.long))[0].shape == (3, 7, len(VOCAB))
    with pytest.raises(KeyError):
        M.preset("huge", 10)
    with pytest.raises(ValueError, match="vocab_size"):
        M.CharLSTM(M.PRESETS["quick"])


def test_untrained_model_scores_about_log_vocab():
    model = tiny_model()
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
    assert A.evaluate(model, IDS, n_streams=2, chunk=50, vocab=VOCAB) == pytest.approx(math.log(len(VOCAB)), rel=1e-5)


def test_training_lowers_validation_loss_and_logs_to_comet(tmp_path):
    model = tiny_model()
    before = A.evaluate(model, IDS, n_streams=2, vocab=VOCAB)
    samples = []

    def sample(m):
        samples.append(sampling.sample_tunes(m, VOCAB, 1, settings=sampling.SampleSettings(max_chars=30))[0])
        return samples[-1]

    with tracking.start_experiment("test_abc_train") as run:
        result = T.train(model, VOCAB, IDS, IDS, tiny_config(sample_every=1, checkpoint_dir=str(tmp_path)),
                         tracker=run, sample_fn=sample)
    assert result.best_score < before - 0.5
    assert result.history[-1]["val_bits"] == pytest.approx(result.history[-1]["val_nats"] / math.log(2))
    logged = tracking.read_offline_archive(run.archive)
    assert len(logged.metrics["train/loss"]) == 4  # every log_every = 10 steps
    assert [s for s, _ in logged.metrics["val/val_nats"]] == [20, 40]
    assert len(samples) == 2 and all(t.startswith("X:") for t in samples)  # one sample per epoch


def test_resume_continues_exactly_and_checks_identity(tmp_path):
    straight = tiny_model()
    T.train(straight, VOCAB, IDS, IDS, tiny_config(checkpoint_dir=str(tmp_path / "straight")))
    first = tiny_model()
    paused = T.train(first, VOCAB, IDS, IDS, tiny_config(checkpoint_dir=str(tmp_path / "run"), resume=True),
                     pause_after_epochs=1)
    assert paused.stopped == "paused" and paused.steps == 20
    resumed = tiny_model(seed=99)  # different initial weights: everything must come from the checkpoint
    result = T.train(resumed, VOCAB, IDS, IDS, tiny_config(checkpoint_dir=str(tmp_path / "run"), resume=True))
    assert result.steps == 40
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b)
    model, vocab = T.load_model(tmp_path / "run", device="cpu")
    assert vocab == VOCAB and model.config == resumed.config
    other_vocab = Vocab.from_text(TEXT + "Z")
    wider = M.CharLSTM(M.preset("quick", len(other_vocab), **TINY))
    with pytest.raises(CheckpointError, match="another run"):
        T.train(wider, other_vocab, other_vocab.encode(TEXT), other_vocab.encode(TEXT),
                tiny_config(checkpoint_dir=str(tmp_path / "run"), resume=True))


def test_cpu_time_budget_stops_training(tmp_path):
    result = T.train(tiny_model(), VOCAB, IDS, IDS, tiny_config(epochs=10_000, budget_s=0.5,
                                                                 checkpoint_dir=str(tmp_path)))
    assert result.stopped == "budget" and 0 < result.steps < 200_000


def test_presets_are_engine_configs():
    assert T.TRAIN_PRESETS["full"].clock == "process" and not T.TRAIN_PRESETS["full"].budget_counts_validation
    assert T.TRAIN_PRESETS["lab"].schedule == "constant" and T.TRAIN_PRESETS["lab"].grad_clip == 0.0
    assert T.preset_config("quick", lr=1.0).lr == 1.0 and T.TRAIN_PRESETS["quick"].lr != 1.0


def test_top_p_keeps_the_smallest_set_reaching_p():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    logits = probs.log()
    kept = sampling.filter_logits(logits, top_p=0.8) > 0
    assert kept.tolist() == [[True, True, False, False]]  # 0.5 + 0.3 reaches 0.8
    kept = sampling.filter_logits(logits, top_p=0.81) > 0
    assert kept.tolist() == [[True, True, True, False]]
    assert (sampling.filter_logits(logits, top_p=0.1) > 0).sum() == 1
    out = sampling.filter_logits(logits, top_p=0.8)
    torch.testing.assert_close(out, torch.tensor([[0.625, 0.375, 0.0, 0.0]]))


def test_top_k_and_temperature():
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]])
    assert ((sampling.filter_logits(logits, top_k=2) > 0).tolist()) == [[True, True, False, False]]
    cold = sampling.filter_logits(logits, temperature=0.1)
    hot = sampling.filter_logits(logits, temperature=10.0)
    assert cold[0, 0] > 0.99 and hot.max() - hot.min() < 0.1
    with pytest.raises(ValueError):
        sampling.filter_logits(logits, temperature=0)
    with pytest.raises(ValueError):
        sampling.filter_logits(logits, top_p=0)


def test_sampling_is_seeded_primed_and_stops_at_the_end_of_a_tune(tmp_path):
    model = tiny_model()
    T.train(model, VOCAB, IDS, IDS, tiny_config(epochs=1, steps_per_epoch=80, checkpoint_dir=str(tmp_path)))
    settings = sampling.SampleSettings(temperature=0.8, top_p=0.95, max_chars=400, seed=5)
    tunes = sampling.sample_tunes(model, VOCAB, 4, prime="X:1\nT:", settings=settings)
    assert len(tunes) == 4 and all(t.startswith("X:1\nT:") for t in tunes)
    assert all("\n\n" not in t for t in tunes)
    assert any(len(t) < 400 for t in tunes)  # at least one tune ended by itself
    assert sampling.sample_tunes(model, VOCAB, 4, prime="X:1\nT:", settings=settings) == tunes
    other = sampling.sample_tunes(model, VOCAB, 4, prime="X:1\nT:", settings=sampling.SampleSettings(seed=6, max_chars=400))
    assert other != tunes
    assert sampling.generation_speed(model, VOCAB, n_chars=50) > 0
    with pytest.raises(ValueError):
        sampling.sample_tunes(model, VOCAB, 1, prime="")


def test_get_batch_feeds_training_with_int64():
    x = np.asarray(IDS[:10])
    assert x.dtype == np.int64


def test_bar_retries_take_back_bars_of_the_wrong_length(tmp_path):
    from helpers.abc.parse import parse_tune
    from helpers.abc.validity import flagged_bars

    assert sampling.last_bar_is_wrong("X:1\nT:t\nM:2/4\nL:1/8\nK:D\nAB|cd ef|ga|")
    assert not sampling.last_bar_is_wrong("X:1\nT:t\nM:2/4\nL:1/8\nK:D\nAB|cd ef|ga fe|")
    model = tiny_model()
    T.train(model, VOCAB, IDS, IDS, tiny_config(epochs=1, steps_per_epoch=30, checkpoint_dir=str(tmp_path)))

    def wrong_bars(retries):
        settings = sampling.SampleSettings(temperature=1.0, top_p=None, max_chars=300, seed=1, bar_retries=retries)
        tunes = sampling.sample_tunes(model, VOCAB, 6, prime="X:1\nT:t\nM:6/8\nL:1/8\nK:D\n", settings=settings)
        bars = [parse_tune(t) for t in tunes]
        return sum(len(flagged_bars(p)) for p in bars), sum(len(p.bars) for p in bars)

    plain, plain_total = wrong_bars(0)
    careful, careful_total = wrong_bars(50)
    assert plain > 0 and careful_total > 0
    assert careful / careful_total < plain / plain_total


@pytest.mark.parametrize("bar_retries", [0, 2])
def test_sampling_feeds_the_same_bar_clock_as_training(bar_retries, tmp_path):
    """Greedy samples must be what teacher forcing on the finished text predicts at every step: any
    difference between the clock the sampler feeds (incl. after a bar roll-back) and model_stream's shows."""
    model = tiny_model()
    T.train(model, VOCAB, IDS, IDS, tiny_config(epochs=1, steps_per_epoch=150, checkpoint_dir=str(tmp_path)))
    prime = "X:1\nT:t\nM:9/8\nL:1/8\nK:D\n"  # trained on 6/8 only: it writes short bars, which get retried
    settings = sampling.SampleSettings(top_k=1, top_p=None, max_chars=120, seed=0, bar_retries=bar_retries)
    texts = sampling.sample_tunes(model, VOCAB, 3, prime=prime, settings=settings, stop_at_end=False, device="cpu")
    for text in texts:
        stream = T.model_stream(model, VOCAB, VOCAB.encode(text))
        with torch.no_grad():
            logits, _ = model(torch.from_numpy(stream)[None])
        predicted = logits[0, len(prime) - 1 : -1].argmax(-1).numpy()
        np.testing.assert_array_equal(predicted, stream[len(prime):, 0])
