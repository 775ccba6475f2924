"""The export report — the gate a capture passes before it goes to a plugin.

For one trained model: parity of every file format that can express it (the exported file, read
back by its runtime's reader, against the PyTorch model on a test clip); test-split ESR; streaming
real-time factor per block size on this CPU with one thread (and the cost against offline
processing); aliasing-to-signal ratio from sine probes; parameter count and receptive field; and a
``ready`` verdict listing every failed criterion. Thresholds live in :class:`ReadyThresholds`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from helpers.amp.checkpoint import validation_esr
from helpers.atomic import write_json
from helpers.export import nam as nam_format
from helpers.export import rtneural as rtneural_format
from helpers.export import wavenetva as wavenetva_format
from helpers.export.aliasing import PROBE_FREQUENCIES, PROBE_LEVELS_DB, measure_aliasing
from helpers.export.common import ExportError, UnsupportedModelError, fold_gains, gains_from_payload
from helpers.export.nam_core import core_parity
from helpers.export.reference import rtneural as rtneural_ref
from helpers.export.reference import wavenetva as wavenetva_ref
from helpers.models import CausalModel
from helpers.realtime import make_streamer

BLOCK_SIZES: tuple[int, ...] = (32, 64, 128, 256, 512, 1024)
FORMATS: dict[str, str] = {"nam": ".nam", "wavenetva": ".json", "rtneural": ".json"}


@dataclass
class ReadyThresholds:
    """What "ready for a plugin" means (all configurable)."""

    parity_tolerance: float = 1e-5  #: max |file output - PyTorch output| on the test clip
    max_test_esr: float = 0.05  #: test-split ESR (NAM calls < 0.035 "not bad", < 0.01 "great")
    rtf_block_size: int = 64  #: block size (samples) the real-time criterion is judged at
    max_rtf: float = 0.5  #: compute time / audio time at that block size (headroom for the host)
    max_aliasing_db: float = -30.0  #: worst aliasing-to-signal ratio over the probes (dB)
    max_receptive_field: int | None = None  #: samples; None = no limit


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Torch and BLAS limited to one thread inside the block (restored afterwards)."""
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(before)


def test_clip(sample_rate: int = 48_000, seconds: float = 0.5, seed: int = 0) -> np.ndarray:
    """A deterministic parity clip: plucked notes, then noise bursts at three levels ``(samples,)``."""
    n = int(sample_rate * seconds)
    rng = np.random.default_rng(seed)
    half = n // 2
    notes = nam_format.loudness_probe(sample_rate, half / sample_rate)
    noise = rng.standard_normal(n - half) * np.repeat([0.02, 0.2, 0.6], (n - half) // 3 + 1)[: n - half]
    return np.concatenate([notes, noise]).astype(np.float32)


# -- parity ----------------------------------------------------------------------------------------
def _nam_reader_output(nam: dict[str, Any], x: np.ndarray) -> tuple[np.ndarray, str]:
    """Output of the official ``neural-amp-modeler`` reader when installed, else of our own importer."""
    if importlib.util.find_spec("nam") is not None:
        from nam.models import init_from_nam  # imported lazily: it pulls in pytorch-lightning

        reader = init_from_nam(nam_format.for_python_reader(nam)).eval()
        from importlib.metadata import version

        with torch.no_grad():
            return reader(torch.from_numpy(x)).numpy(), f"neural-amp-modeler {version('neural-amp-modeler')} (init_from_nam)"
    model = nam_format.nam_model_from_dict(nam)
    with torch.no_grad():
        return model.process(torch.from_numpy(x)).numpy(), "helpers.export.nam importer (install neural-amp-modeler for the independent check)"


def export_and_check(model: CausalModel, fmt: str, path: str | Path, clip: np.ndarray, *, input_gain: float = 1.0,
                     output_gain: float = 1.0, tolerance: float = 1e-5, **kwargs: Any) -> dict[str, Any]:
    """Export ``model`` as ``fmt`` (``nam``, ``wavenetva``, ``rtneural``) to ``path``, read the file back
    with its runtime's reader and compare with the PyTorch model (gains folded) on ``clip``.

    Returns ``{"format", "path", "reader", "max_abs_diff", "ok"}`` (``.nam`` files also ``"nam_core"``: the same
    check in NAM's C++ core, see :func:`helpers.export.nam_core.core_parity`), or ``{"format", "refused": message}``
    when the format cannot express the model.
    """
    writers = {"nam": nam_format.export_nam, "wavenetva": wavenetva_format.export_wavenetva,
               "rtneural": rtneural_format.export_rtneural}
    if fmt not in writers:
        raise ExportError(f"unknown format {fmt!r}; choose one of {sorted(writers)}")
    try:
        written = writers[fmt](model, path, input_gain=input_gain, output_gain=output_gain, **kwargs)
    except UnsupportedModelError as exc:
        return {"format": fmt, "refused": str(exc)}
    content = json.loads(Path(written).read_text())
    x = np.asarray(clip, dtype=np.float32)
    folded = fold_gains(model, input_gain, output_gain)
    with torch.no_grad():
        expected = folded.process(torch.from_numpy(x)).numpy()
    if fmt == "nam":
        got, reader = _nam_reader_output(content, x)
    elif fmt == "wavenetva":
        got, reader = wavenetva_ref.run_after_silence(content, x), "NumPy WaveNetVA reference (helpers.export.reference)"
    else:
        got, reader = rtneural_ref.run_after_silence(content, x), "NumPy RTNeural reference (helpers.export.reference)"
    diff = float(np.max(np.abs(np.asarray(got, dtype=np.float64) - expected)))
    result = {"format": fmt, "path": str(written), "reader": reader, "max_abs_diff": diff, "ok": diff <= tolerance}
    if fmt == "nam":  # the plugins' own runtime too, where it is installed
        result["nam_core"] = core_parity(written, folded, x, tolerance=tolerance)
    return result


# -- speed -----------------------------------------------------------------------------------------
def measure_rtf(model: CausalModel, block_sizes: Sequence[int] = BLOCK_SIZES, seconds: float = 1.0,
                sample_rate: int = 48_000, repeats: int = 3, seed: int = 0) -> dict[str, Any]:
    """Streaming real-time factor (compute seconds per audio second; < 1 is real time) per block size,
    on one thread, best of ``repeats``; plus the offline (whole-signal PyTorch) RTF and the ratios."""
    x = (np.random.default_rng(seed).standard_normal(int(seconds * sample_rate)) * 0.2).astype(np.float32)
    model = model.cpu().eval()
    rows = []
    with single_thread(), torch.inference_mode():
        model.process(torch.from_numpy(x[: model.receptive_field + 64]))  # warm-up
        offline = min(_timed(lambda: model.process(torch.from_numpy(x))) for _ in range(repeats)) / seconds
        engine = make_streamer(model)
        for bs in block_sizes:
            blocks = [x[i : i + bs] for i in range(0, len(x), bs)]

            def run(blocks: list[np.ndarray] = blocks) -> None:
                for b in blocks:
                    engine.process_block(b)

            rtf = min(_timed(run) for _ in range(repeats)) / seconds
            rows.append({"block_size": bs, "rtf": rtf, "block_ms": 1000 * bs / sample_rate,
                         "compute_ms_per_block": 1000 * rtf * bs / sample_rate, "stream_offline_ratio": rtf / offline})
    return {"sample_rate": sample_rate, "seconds": seconds, "threads": 1, "repeats": repeats, "offline_rtf": offline,
            "blocks": rows}


def _timed(fn: Any) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


# -- the report ------------------------------------------------------------------------------------
def export_report(model: CausalModel, out_dir: str | Path, *, payload: dict[str, Any] | None = None,
                  data: Any | None = None, name: str = "capture", thresholds: ReadyThresholds | None = None,
                  metadata: nam_format.NamMetadata | None = None, sample_rate: int | None = None,
                  block_sizes: Sequence[int] = BLOCK_SIZES, rtf_seconds: float = 1.0,
                  frequencies: Sequence[float] = PROBE_FREQUENCIES, levels_db: Sequence[float] = PROBE_LEVELS_DB,
                  progress: bool = True) -> dict[str, Any]:
    """Export ``model`` to every format that can express it (into ``out_dir``) and judge it.

    ``payload`` (the checkpoint's, from :func:`helpers.amp.checkpoint.load_model`) supplies the level
    normalisation to undo, the validation ESR and the sample rate; ``data`` (an ``AmpData``) the test split.
    Returns the report as a JSON-ready dict and writes it to ``out_dir / f"{name}_report.json"``.
    Everything runs on one thread (the plugin's situation; restored afterwards).
    """
    with single_thread():
        return _export_report(model, out_dir, payload=payload, data=data, name=name, thresholds=thresholds,
                              metadata=metadata, sample_rate=sample_rate, block_sizes=block_sizes,
                              rtf_seconds=rtf_seconds, frequencies=frequencies, levels_db=levels_db, progress=progress)


def _export_report(model: CausalModel, out_dir: str | Path, *, payload: dict[str, Any] | None, data: Any | None,
                   name: str, thresholds: ReadyThresholds | None, metadata: nam_format.NamMetadata | None,
                   sample_rate: int | None, block_sizes: Sequence[int], rtf_seconds: float,
                   frequencies: Sequence[float], levels_db: Sequence[float], progress: bool) -> dict[str, Any]:
    th = thresholds or ReadyThresholds()
    payload = payload or {}
    out = Path(out_dir)
    sr = int(sample_rate or payload.get("sample_rate") or getattr(data, "sample_rate", None) or 48_000)
    g_in, g_out = gains_from_payload(payload)
    model = model.cpu().eval()
    steps = tqdm(total=4, desc="export report", disable=not progress)

    clip = test_clip(sr)
    if data is not None and data.splits.get("test"):
        start, end = data.splits["test"][0]
        clip = data.x[start : min(end, start + len(clip))].astype(np.float32)
    meta = metadata or nam_format.NamMetadata(name=name, validation_esr=validation_esr(payload))
    extra: dict[str, dict[str, Any]] = {"nam": {"metadata": meta, "sample_rate": sr}, "wavenetva": {"name": name},
                                        "rtneural": {}}
    exports = {fmt: export_and_check(model, fmt, out / f"{name}{suffix}" if fmt == "nam" else out / f"{name}_{fmt}{suffix}",
                                     clip, input_gain=g_in, output_gain=g_out, tolerance=th.parity_tolerance,
                                     **extra[fmt])
               for fmt, suffix in FORMATS.items()}
    steps.update()

    test_esr = None
    if data is not None and data.splits.get("test"):
        from helpers.amp.evaluate import evaluate_split

        test_esr = float(evaluate_split(model, data, "test"))
    steps.update()

    streaming = measure_rtf(model, block_sizes, seconds=rtf_seconds, sample_rate=sr)
    steps.update()
    probes = measure_aliasing(fold_gains(model, g_in, g_out), model.receptive_field, sr, frequencies, levels_db)
    steps.update()
    steps.close()

    asr = [p.asr_db for p in probes]
    report: dict[str, Any] = {
        "name": name,
        "model": {"family": model.family, "config": model.config(), "parameters": model.num_weights(),
                  "receptive_field": model.receptive_field, "receptive_field_ms": 1000 * model.receptive_field / sr,
                  "sample_rate": sr},
        "gains": {"input_gain": g_in, "output_gain": g_out, "normalization": payload.get("normalization")},
        "exports": exports,
        "test_esr": test_esr,
        "validation_esr": validation_esr(payload),
        "streaming": streaming,
        "aliasing": {"probes": [asdict(p) for p in probes], "worst_db": max(asr), "mean_db": float(np.mean(asr))},
        "thresholds": asdict(th),
    }
    report["failed"] = failed_criteria(report, th)
    report["ready"] = not report["failed"]
    write_json(out / f"{name}_report.json", report)
    return report


def failed_criteria(report: dict[str, Any], th: ReadyThresholds) -> list[str]:
    """Every criterion the report misses, as readable sentences (empty: ready)."""
    failed = []
    checked = [e for e in report["exports"].values() if "refused" not in e]
    if not checked:
        failed.append("no file format can express this model")
    for e in checked:
        if not e["ok"]:
            failed.append(f"parity {e['format']}: max |diff| {e['max_abs_diff']:.2e} > {th.parity_tolerance:.0e}")
        core = e.get("nam_core", {})
        if core.get("ok") is False:
            failed.append(f"parity {e['format']} in NAM's C++ core: max |diff| {core['max_abs_diff']:.2e} > "
                          f"{th.parity_tolerance:.0e}")
    esr = report["test_esr"]
    if esr is None:
        failed.append("test ESR not measured (pass the capture data)")
    elif esr > th.max_test_esr:
        failed.append(f"test ESR {esr:.4f} > {th.max_test_esr}")
    rows = {r["block_size"]: r for r in report["streaming"]["blocks"]}
    if th.rtf_block_size not in rows:
        failed.append(f"real-time factor not measured at block {th.rtf_block_size}")
    elif rows[th.rtf_block_size]["rtf"] > th.max_rtf:
        failed.append(f"real-time factor {rows[th.rtf_block_size]['rtf']:.2f} at block {th.rtf_block_size} > {th.max_rtf}")
    worst = report["aliasing"]["worst_db"]
    if worst > th.max_aliasing_db:
        failed.append(f"aliasing-to-signal ratio {worst:.1f} dB > {th.max_aliasing_db} dB (worst probe)")
    rf = report["model"]["receptive_field"]
    if th.max_receptive_field is not None and rf > th.max_receptive_field:
        failed.append(f"receptive field {rf} samples > {th.max_receptive_field}")
    return failed


def summary_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per criterion (for a table in the notebook)."""
    th = report["thresholds"]
    rows = []
    for e in report["exports"].values():
        if "refused" in e:
            rows.append({"criterion": f"export {e['format']}", "value": "not applicable", "limit": "", "pass": None,
                         "note": e["refused"]})
        else:
            rows.append({"criterion": f"parity {e['format']}", "value": f"{e['max_abs_diff']:.1e}",
                         "limit": f"≤ {th['parity_tolerance']:.0e}", "pass": e["ok"], "note": e["reader"]})
            core = e.get("nam_core")
            if core and "skipped" in core:
                rows.append({"criterion": f"parity {e['format']}, NAM's C++ core", "value": "not run", "limit": "",
                             "pass": None, "note": core["skipped"]})
            elif core:
                rows.append({"criterion": f"parity {e['format']}, NAM's C++ core", "value": f"{core['max_abs_diff']:.1e}",
                             "limit": f"≤ {th['parity_tolerance']:.0e}", "pass": core["ok"],
                             "note": f"{core['reader']}; {core['max_abs_diff_exact_tanh']:.1e} from the exact tanh"})
    esr = report["test_esr"]
    rows.append({"criterion": "test ESR", "value": "—" if esr is None else f"{esr:.4f}", "limit": f"≤ {th['max_test_esr']}",
                 "pass": None if esr is None else esr <= th["max_test_esr"], "note": ""})
    for r in report["streaming"]["blocks"]:
        judged = r["block_size"] == th["rtf_block_size"]
        rows.append({"criterion": f"RTF block {r['block_size']}", "value": f"{r['rtf']:.3f}",
                     "limit": f"≤ {th['max_rtf']}" if judged else "", "pass": (r["rtf"] <= th["max_rtf"]) if judged else None,
                     "note": f"{r['stream_offline_ratio']:.2f}× offline cost"})
    al = report["aliasing"]
    rows.append({"criterion": "aliasing (worst probe)", "value": f"{al['worst_db']:.1f} dB",
                 "limit": f"≤ {th['max_aliasing_db']} dB", "pass": al["worst_db"] <= th["max_aliasing_db"],
                 "note": f"mean {al['mean_db']:.1f} dB over {len(al['probes'])} probes"})
    m = report["model"]
    rows.append({"criterion": "parameters / receptive field", "value": f"{m['parameters']:,} / {m['receptive_field']}",
                 "limit": "" if th["max_receptive_field"] is None else f"rf ≤ {th['max_receptive_field']}",
                 "pass": None if th["max_receptive_field"] is None else m["receptive_field"] <= th["max_receptive_field"],
                 "note": f"{m['receptive_field_ms']:.1f} ms"})
    return rows
