"""Benchmark, music part: this project's character LSTM trainer against the MIT lab's configuration.

Both get the same CPU-time budget (``time.process_time``, all threads counted; validation not counted) on the
same by-tune split of the cleaned Irish corpus. Reported: validation loss (nats/char and bits/char,
best of the periodic evaluations), the clean rate of 100 sampled tunes (no abc2midi Error and no
bar-length warning; the pure-Python checker when abc2midi is absent) at the best of a few temperatures
≤ 1 with top-p 0.9, notes in key, share of tunes copying a training tune, and generation speed.
Held-out human tunes are judged the same way. The full run keeps both trained models under
``outputs/bench/``.

Targets: validation ≤ 1.05 nats/char; clean rate ≥ 80 % at temperature ≤ 1 with top-p 0.9; < 5 % copies.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from helpers.abc import corpus, novelty, sampling, validity
from helpers.abc import evaluate as abc_evaluate
from helpers.abc import model as abc_model
from helpers.abc import train as abc_train
from helpers.abc.vocab import Vocab, get_batch, join_tunes
from helpers.atomic import torch_save
from helpers.paths import outputs_dir
from helpers.runtime import find_tool, seed_everything

FULL_BUDGET_S = 600.0  # CPU seconds per trainer
QUICK_BUDGET_S = 6.0
#: torch threads (``NAL_BENCH_THREADS`` overrides). One thread by default: on a shared 2-core machine a
#: second thread mostly spins waiting (measured: 13× more CPU seconds per step for a small LSTM under load),
#: which would make "CPU time" measure contention rather than training.
THREADS = int(os.environ.get("NAL_BENCH_THREADS", "1"))
SAMPLE_SETTINGS = sampling.SampleSettings(temperature=0.9, top_p=0.9, max_chars=1200, seed=0)
#: Temperatures tried (all ≤ 1, top-p 0.9); the table shows the one with the best clean rate for each model.
TEMPERATURES = (0.5, 0.7, 0.9)
#: Bar-level rejection sampling: a bar of the wrong length is re-sampled up to this many times.
BAR_RETRIES = 20


class LabCharLSTM(nn.Module):
    """The reference lab's model, written out independently: Embedding(256) → LSTM(1024) → Linear."""

    def __init__(self, vocab_size: int, embedding_dim: int = 256, hidden_size: int = 1024):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, state=None):
        out, state = self.lstm(self.embedding(x), state)
        return self.head(out), state


def train_reference(vocab: Vocab, train_ids: np.ndarray, val_ids: np.ndarray, budget_s: float, *,
                    batch_size: int = 8, seq_length: int = 100, lr: float = 5e-3, eval_every: int = 50,
                    seed: int = 0) -> tuple[nn.Module, dict]:
    """The lab's loop (Adam 5e-3, batch 8, sequence 100, random windows, no schedule or clipping) for
    ``budget_s`` CPU seconds; the best weights of the periodic validations are kept, as for ours."""
    seed_everything(seed)
    rng = np.random.default_rng(seed)
    model = LabCharLSTM(len(vocab))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    start, step, history = time.process_time(), 0, []
    best, best_state = float("inf"), None
    while True:
        done = time.process_time() - start >= budget_s
        if step % eval_every == 0 or done:
            eval_start = time.process_time()
            val = abc_evaluate.evaluate(model, val_ids, n_streams=16, device="cpu")
            start += time.process_time() - eval_start  # validation is not training time (as in train())
            history.append({"step": step, "seconds": time.process_time() - start, "val_nats": val})
            if val < best:
                best, best_state = val, {k: v.clone() for k, v in model.state_dict().items()}
        if done:
            break
        x, y = get_batch(train_ids, seq_length, batch_size, rng)
        logits, _ = model(torch.from_numpy(x))
        loss = nn.functional.cross_entropy(logits.reshape(-1, len(vocab)), torch.from_numpy(y).reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
    assert best_state is not None  # validation runs before the first step
    model.load_state_dict(best_state)
    return model.eval(), {"steps": step, "best_val": best, "history": history}


def project_setup(quick: bool, budget_s: float, vocab_size: int) -> tuple[abc_model.CharLSTMConfig, abc_train.TrainConfig]:
    """This project's model and training settings for the benchmark."""
    name = "quick" if quick else "full"
    cfg = abc_model.preset(name, vocab_size)
    train_cfg = abc_train.preset_config(name, budget_s=budget_s, clock="process", epochs=1_000_000, device="cpu",
                                        progress=False, track=False, resume=False,
                                        checkpoint_dir=str(outputs_dir("bench", "music_project")))
    return cfg, train_cfg


def judge_samples(tunes: list[str], index: novelty.NgramIndex) -> dict[str, float]:
    """Clean rate, in-key share and copy rate of a list of tunes."""
    table = validity.judge_many(tunes)
    summary = validity.summary(table)
    summary.update(index.summary(tunes))
    return summary


def sample_and_judge(model: nn.Module, vocab: Vocab, index: novelty.NgramIndex, n_samples: int,
                     settings: sampling.SampleSettings, *, quick: bool, label: str) -> dict:
    """Sample ``n_samples`` tunes at each temperature of :data:`TEMPERATURES` (plain sampling) and at the
    chosen one with bar-level rejection (``BAR_RETRIES``); judge them; report the best temperature's figures."""
    row: dict = {"chars_per_s_batch1": sampling.generation_speed(model, vocab, n_chars=50 if quick else 300)}
    sweep: dict[float, dict[str, Any]] = {}
    for temperature in TEMPERATURES[-1:] if quick else TEMPERATURES:
        start = time.perf_counter()
        tunes = sampling.sample_tunes(model, vocab, n_samples, device="cpu",
                                      settings=sampling.SampleSettings(**{**settings.__dict__, "temperature": temperature}))
        sample_s = time.perf_counter() - start
        sweep[temperature] = {"temperature": temperature, "chars_per_s_batch": sum(map(len, tunes)) / sample_s,
                              **judge_samples(tunes, index), "examples": tunes[:3]}
        r = sweep[temperature]
        print(f"[{label}] T={temperature}: clean {r['clean_rate']:.2f}, syntax ok {r['syntax_ok_rate']:.2f}, "
              f"bar warnings {r['bar_warning_rate']:.2f}, copies {r['copy_rate']:.2f}", flush=True)
    chosen = max(sweep.values(), key=lambda r: (r["clean_rate"], -r["copy_rate"]))
    row.update({k: v for k, v in chosen.items() if k != "examples"})
    row["temperature_sweep"] = {t: {k: v for k, v in r.items() if k != "examples"} for t, r in sweep.items()}
    row["examples"] = chosen["examples"]
    careful = sampling.SampleSettings(**{**settings.__dict__, "temperature": chosen["temperature"], "bar_retries": BAR_RETRIES})
    start = time.perf_counter()
    tunes = sampling.sample_tunes(model, vocab, n_samples, device="cpu", settings=careful)
    judged = judge_samples(tunes, index)
    row["bar_retries"] = {"retries": BAR_RETRIES, "chars_per_s_batch": sum(map(len, tunes)) / (time.perf_counter() - start),
                          **judged, "examples": tunes[:3]}
    print(f"[{label}] T={chosen['temperature']} with bar retries {BAR_RETRIES}: clean {judged['clean_rate']:.2f}, "
          f"copies {judged['copy_rate']:.2f}", flush=True)
    return row


def run(quick: bool) -> dict:
    """Train both models for the same CPU budget, sample, judge, print a table; return the figures."""
    torch.set_num_threads(THREADS)
    budget = QUICK_BUDGET_S if quick else FULL_BUDGET_S
    n_samples = 10 if quick else 100
    data = corpus.load_corpus(include_user_folder=False)
    train_tunes, val_tunes = corpus.split_by_tune(data.tunes, 0.1, seed=0)
    vocab = Vocab.from_text(join_tunes(data.tunes))
    train_ids, val_ids = vocab.encode(join_tunes(train_tunes)), vocab.encode(join_tunes(val_tunes))
    if quick:  # a smoke test of the benchmark, not its figures: validate on the first few tunes
        val_ids = val_ids[:4000]
    index = novelty.NgramIndex(train_tunes)
    settings = sampling.SampleSettings(**{**SAMPLE_SETTINGS.__dict__, "max_chars": 400 if quick else 1200})
    checker = "abc2midi" if find_tool("abc2midi") else "python"

    cfg, train_cfg = project_setup(quick, budget, len(vocab))
    seed_everything(0)
    ours = abc_model.CharLSTM(cfg)
    ours_result = abc_train.train(ours, vocab, train_ids, val_ids, train_cfg)
    print(f"[project] {ours_result.steps} steps, best validation {ours_result.best_score:.3f} nats/char", flush=True)
    ref, ref_result = train_reference(vocab, train_ids, val_ids, budget, eval_every=5 if quick else 50)
    print(f"[lab reference] {ref_result['steps']} steps, best validation {ref_result['best_val']:.3f} nats/char", flush=True)
    if not quick:
        torch_save({"state": ref.state_dict(), "vocab": list(vocab.chars)}, outputs_dir("bench", "music_lab_reference.pt"))

    results: dict[str, dict] = {}
    for name, model, best, steps in (("project", ours.eval(), ours_result.best_score, ours_result.steps),
                                     ("lab_reference", ref, ref_result["best_val"], ref_result["steps"])):
        row = {"val_nats_per_char": best, "val_bits_per_char": best / math.log(2), "train_steps": steps,
               "params": sum(p.numel() for p in model.parameters())}
        row.update(sample_and_judge(model, vocab, index, n_samples, settings, quick=quick, label=name))
        results[name] = row
    human = judge_samples(val_tunes, index)
    results["human_validation"] = human

    for row in (results["project"], results["lab_reference"]):
        row["retry_clean_rate"] = row["bar_retries"]["clean_rate"]
        row["retry_copy_rate"] = row["bar_retries"]["copy_rate"]
    p, r = results["project"], results["lab_reference"]
    print(f"CPU budget {budget:.0f} s per trainer ({THREADS} torch threads); {len(train_tunes)} train / "
          f"{len(val_tunes)} validation tunes; checker: {checker}; sampling top-p={settings.top_p}, "
          f"temperatures {TEMPERATURES[-1:] if quick else TEMPERATURES}")
    print(f"{'':24}{'project':>12}{'lab ref.':>12}{'ratio':>9}{'human':>9}")
    print(f"{'temperature (best ≤ 1)':<24}{p['temperature']:>12}{r['temperature']:>12}")
    for key, label, fmt in (("val_nats_per_char", "val nats/char", ".3f"), ("val_bits_per_char", "val bits/char", ".3f"),
                            ("train_steps", "training steps", ".0f"), ("params", "parameters", ".0f"),
                            ("clean_rate", "clean rate", ".2f"), ("in_key", "notes in key", ".3f"),
                            ("copy_rate", "copies a train tune", ".2f"), ("mean_notes", "notes per tune", ".0f"),
                            ("retry_clean_rate", f"clean, bar retries {BAR_RETRIES}", ".2f"),
                            ("retry_copy_rate", "copies, bar retries", ".2f"),
                            ("chars_per_s_batch1", "chars/s (1 tune)", ".0f"),
                            ("chars_per_s_batch", f"chars/s ({n_samples} tunes)", ".0f")):
        ratio = p[key] / r[key] if r.get(key) else float("nan")
        h = human.get(key)
        print(f"{label:<24}{p[key]:>12{fmt}}{r[key]:>12{fmt}}{ratio:>9.2f}{'' if h is None else format(h, fmt):>9}")
    targets = {"val_nats_per_char<=1.05": p["val_nats_per_char"] <= 1.05, "clean_rate>=0.80": p["clean_rate"] >= 0.80,
               "copy_rate<0.05": p["copy_rate"] < 0.05,
               "clean_rate>=0.80 (bar retries)": p["retry_clean_rate"] >= 0.80,
               "copy_rate<0.05 (bar retries)": p["retry_copy_rate"] < 0.05}
    print("targets:", ", ".join(f"{k} {'✓' if v else '✗'}" for k, v in targets.items()))
    return {"budget_cpu_s": budget, "threads": THREADS, "checker": checker, "quick": quick, **results,
            "targets": targets, "project_history": ours_result.history}

