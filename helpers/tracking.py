"""Experiment tracking with Comet ML: offline archives by default, online with an API key.

One call starts an experiment::

    with start_experiment("02_train_wavenet", params={"preset": "feather"}) as run:
        run.log_metric("train/loss", 0.12, step=10)

Mode (``NAL_TRACKING`` overrides): ``online`` when ``COMET_API_KEY`` is set (project and workspace
from ``COMET_PROJECT_NAME`` / ``COMET_WORKSPACE``), else ``offline`` (a zip archive under
``outputs/comet/``, uploadable later with ``comet upload``), or ``disabled`` (nothing recorded).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from helpers.errors import ConfigError, ToolError
from helpers.paths import outputs_dir

Mode = Literal["online", "offline", "disabled"]
DEFAULT_PROJECT = "neural-audio-lab"


def tracking_mode() -> Mode:
    """The mode a new experiment gets: ``NAL_TRACKING``, else online iff ``COMET_API_KEY`` is set."""
    forced = os.environ.get("NAL_TRACKING", "").strip().lower()
    if forced:
        if forced not in ("online", "offline", "disabled"):
            raise ConfigError(f"NAL_TRACKING must be online, offline or disabled, not {forced!r}; fix or unset it")
        return forced  # type: ignore[return-value]
    return "online" if os.environ.get("COMET_API_KEY") else "offline"


def _import_comet_quietly():
    # Comet prints a block of "COMET INFO" lines per experiment; keep notebooks readable.
    os.environ.setdefault("COMET_LOGGING_CONSOLE", "ERROR")
    os.environ.setdefault("COMET_DISABLE_AUTO_LOGGING", "1")
    import comet_ml

    logging.getLogger("comet_ml").setLevel(logging.ERROR)
    return comet_ml


_QUIET_OPTIONS = dict(
    auto_metric_logging=False,
    auto_param_logging=False,
    auto_histogram_weight_logging=False,
    auto_output_logging=False,
    log_code=False,
    log_graph=False,
    log_git_metadata=False,
    log_git_patch=False,
    log_env_details=False,
    log_env_gpu=False,
    log_env_cpu=False,
    log_env_host=False,
    display_summary_level=0,
    parse_args=False,
)


class Tracker:
    """A running experiment. Every method is a no-op when tracking is disabled."""

    def __init__(self, name: str, mode: Mode, experiment: Any | None, offline_dir: Path | None):
        self.name = name
        self.mode = mode
        self.experiment = experiment
        self.offline_dir = offline_dir
        self.archive: Path | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="nal-comet-")

    # -- logging -------------------------------------------------------------------------
    def log_parameters(self, params: dict[str, Any]) -> None:
        """Record hyper-parameters (nested dicts are flattened as ``a.b``)."""
        if self.experiment is not None:
            self.experiment.log_parameters(_flatten(params))

    def log_metric(self, name: str, value: float, step: int | None = None, epoch: int | None = None) -> None:
        """Record one scalar at a training step."""
        if self.experiment is not None:
            self.experiment.log_metric(name, float(value), step=step, epoch=epoch)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None, epoch: int | None = None) -> None:
        """Record several scalars at the same step."""
        for key, value in metrics.items():
            self.log_metric(key, value, step=step, epoch=epoch)

    def log_figure(self, figure: Any, name: str, step: int | None = None) -> None:
        """Record a matplotlib figure as an image."""
        if self.experiment is not None:
            self.experiment.log_figure(figure_name=name, figure=figure, step=step)

    def log_audio(self, x: np.ndarray, sample_rate: int, name: str, step: int | None = None) -> None:
        """Record a clip (shape ``(n,)``, float, Hz) as a 32-bit float WAV, levels untouched."""
        if self.experiment is None:
            return
        from helpers.audio import save_wav

        path = Path(self._tmp.name) / (name if name.endswith(".wav") else f"{name}.wav")
        save_wav(path, x, sample_rate)
        self.experiment.log_audio(str(path), sample_rate=sample_rate, file_name=path.name, step=step)

    def log_text(self, text: str, step: int | None = None, metadata: dict[str, Any] | None = None) -> None:
        """Record a piece of text (e.g. a generated tune)."""
        if self.experiment is not None:
            self.experiment.log_text(text, step=step, metadata=metadata)

    def log_model(self, name: str, path: str | os.PathLike[str]) -> None:
        """Record a model file (checkpoint or export)."""
        if self.experiment is not None:
            self.experiment.log_model(name, str(path))

    # -- lifecycle -----------------------------------------------------------------------
    def end(self) -> Path | None:
        """Finish the experiment; return the offline archive path (``None`` online/disabled)."""
        if self.experiment is not None:
            key = self.experiment.get_key()
            self.experiment.end()
            self.experiment = None
            if self.mode == "offline" and self.offline_dir is not None:
                candidate = self.offline_dir / f"{key}.zip"
                self.archive = candidate if candidate.exists() else _newest_zip(self.offline_dir)
        self._tmp.cleanup()
        return self.archive

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.end()

    def __repr__(self) -> str:
        where = f", archive={self.archive}" if self.archive else ""
        return f"Tracker({self.name!r}, mode={self.mode!r}{where})"


def start_experiment(
    name: str,
    *,
    params: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    mode: Mode | None = None,
    project: str | None = None,
    offline_dir: str | os.PathLike[str] | None = None,
) -> Tracker:
    """Start a Comet experiment named ``name``; see the module docstring for modes."""
    mode = mode or tracking_mode()
    if mode == "disabled":
        return Tracker(name, mode, None, None)
    comet_ml = _import_comet_quietly()
    project = project or os.environ.get("COMET_PROJECT_NAME", DEFAULT_PROJECT)
    folder: Path | None = None
    if mode == "online":
        api_key = os.environ.get("COMET_API_KEY")
        if not api_key:
            raise ToolError("online tracking needs COMET_API_KEY in the environment; set it, or set "
                            "NAL_TRACKING=offline to keep the experiment in a local archive")
        experiment = comet_ml.Experiment(
            api_key=api_key, project_name=project, workspace=os.environ.get("COMET_WORKSPACE"), **_QUIET_OPTIONS
        )
    else:
        folder = Path(offline_dir) if offline_dir else outputs_dir("comet")
        folder.mkdir(parents=True, exist_ok=True)
        experiment = comet_ml.OfflineExperiment(
            offline_directory=str(folder), project_name=project, workspace=os.environ.get("COMET_WORKSPACE"),
            **_QUIET_OPTIONS,
        )
    experiment.set_name(name)
    if tags:
        experiment.add_tags(list(tags))
    tracker = Tracker(name, mode, experiment, folder)
    if params:
        tracker.log_parameters(params)
    return tracker


def _flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in params.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{full}."))
        else:
            flat[full] = value if isinstance(value, (int, float, str, bool)) or value is None else str(value)
    return flat


def _newest_zip(folder: Path) -> Path | None:
    zips = sorted(folder.glob("*.zip"), key=lambda p: p.stat().st_mtime)
    return zips[-1] if zips else None


@dataclass
class OfflineArchive:
    """What an offline Comet archive holds, read back from its zip."""

    path: Path
    experiment: dict[str, Any]
    parameters: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, list[tuple[int | None, float]]] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    name: str | None = None


def read_offline_archive(path: str | os.PathLike[str]) -> OfflineArchive:
    """Parse an offline archive (``experiment.json`` + ``messages.json`` lines) into plain data."""
    p = Path(path)
    with zipfile.ZipFile(p) as zf:
        experiment = json.loads(zf.read("experiment.json"))
        lines = zf.read("messages.json").decode("utf-8").splitlines()
    archive = OfflineArchive(path=p, experiment=experiment)
    metrics: dict[str, list[tuple[int | None, float]]] = defaultdict(list)
    for line in lines:
        if not line.strip():
            continue
        msg = json.loads(line)
        payload = msg.get("payload", {})
        kind = msg.get("type")
        if kind == "metric_msg":
            m = payload["metric"]
            metrics[m["metricName"]].append((m.get("step"), float(m["metricValue"])))
        elif kind == "parameter_msg" and payload["param"].get("source") == "manual":
            archive.parameters[payload["param"]["paramName"]] = payload["param"]["paramValue"]
        elif kind == "file_upload":
            archive.files.append(payload.get("additional_params", {}) | {"upload_type": payload.get("upload_type")})
        elif kind == "log_other" and payload.get("key") == "Name":
            archive.name = payload.get("value")
    archive.metrics = dict(metrics)
    return archive
