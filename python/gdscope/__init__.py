"""gdscope from Python: training runs and sweeps as pandas tables, and gdscope's exact
float64 network engine.

    import gdscope
    run = gdscope.load_run("runs/eos")            # run.metrics (DataFrame), .config, .summary, .weights
    sw = gdscope.load_sweep("runs/lr")            # sw.runs (a row per member), sw.metrics (long form)
    gdscope.train({"steps": 200, "optimizer": {"lr": 0.04}}, out="runs/a")
    gdscope.fork("runs/a", out="runs/a-kick", at_step=100, set={"optimizer.lr": 0.08})
    gdscope.sweep({"steps": 200}, grid={"optimizer.lr": [0.02, 0.04]}, out="runs/b")
    gdscope.analyze("direction", {"objective": {"objective": "paper-fig2"}, "lr": 0.95})
    net = gdscope.Network("mlp:20-64-4:gelu-tanh", "synthetic-linear:n=200,d=20,k=4")
    w = net.init(seed=0); loss, g = net.value_grad(w); hv = net.hvp(w, g)

The training, sweep and analysis functions call the same library entry points as the `gdscope`
command line, so their run directories are the same (docs/python.md).
"""

from __future__ import annotations

import io
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import numpy as np
import pandas as pd

from . import _native
from ._native import GdscopeError, Network

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

__all__ = [
    "GdscopeError",
    "Network",
    "Run",
    "SweepTables",
    "analyze",
    "collect",
    "fork",
    "load_run",
    "load_sweep",
    "run_member",
    "sweep",
    "sweep_status",
    "train",
]
__version__ = _native.__version__

PathLike = Union[str, "os.PathLike[str]"]


@dataclass
class Run:
    """A training run directory, loaded.

    Attributes:
        dir: the run directory.
        metrics: one row per step; NaN where a quantity was not measured. From
            `metrics.parquet` once the run has ended (or was interrupted), else from the
            live `metrics.csv` (a run still going, or killed) — see ``live``.
        config: the resolved configuration (`config.toml`, every default written out); a
            fork's has ``config["fork"]``: parent, step and the changed settings.
        summary: the summary (`summary.json`); empty while the run has not finished.
        weights: the final parameters (`weights.npy`), or None while the run has not finished.
        live: True when ``metrics`` came from `metrics.csv` (the rows written so far; a
            killed run's rows after its last checkpoint are recomputed when it resumes).
    """

    dir: Path
    metrics: pd.DataFrame
    config: dict
    summary: dict
    weights: Optional[np.ndarray]
    live: bool = False


@dataclass
class SweepTables:
    """A sweep directory, loaded.

    Attributes:
        dir: the sweep directory.
        runs: one row per member (`sweep.parquet`): run_id, index, dir, each swept setting as
            its own column, status, reason, and the summary's scalar fields.
        metrics: long form (`metrics.parquet`): run_id, the swept settings, step, every metric.
        manifest: `sweep.toml` (base config, axes, members, launches).
    """

    dir: Path
    runs: pd.DataFrame
    metrics: pd.DataFrame
    manifest: dict = field(repr=False)


def _read_log(path: Path) -> pd.DataFrame:
    """`metrics.csv` up to its last complete line (a running or killed run may have half a row)."""
    text = path.read_bytes()
    text = text[: text.rfind(b"\n") + 1]
    if not text:
        return pd.DataFrame()
    # pandas 3 parses floats exactly by default; older pandas needs the round-trip parser.
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    return pd.read_csv(io.BytesIO(text), **exact)


def load_run(dir: PathLike) -> Run:
    """Loads a run directory written by `gdscope train`, `gdscope reproduce eos`,
    :func:`train`, :func:`fork` or a sweep member — finished, still going, interrupted or
    killed (the metrics then come from the live `metrics.csv`)."""
    d = Path(dir)
    parquet, log = d / "metrics.parquet", d / "metrics.csv"
    if not parquet.exists() and not log.exists() and not (d / "config.toml").exists():
        raise GdscopeError(f"{d} is not a gdscope run directory (no metrics.parquet, metrics.csv or config.toml)")
    live = log.exists() and (not parquet.exists() or log.stat().st_mtime_ns > parquet.stat().st_mtime_ns)
    if live:
        metrics = _read_log(log)
    else:
        metrics = pd.read_parquet(parquet) if parquet.exists() else pd.DataFrame()
    config = tomllib.loads((d / "config.toml").read_text()) if (d / "config.toml").exists() else {}
    summary = json.loads((d / "summary.json").read_text()) if (d / "summary.json").exists() else {}
    weights = np.load(d / "weights.npy") if (d / "weights.npy").exists() else None
    return Run(dir=d, metrics=metrics, config=config, summary=summary, weights=weights, live=live)


def load_sweep(dir: PathLike, collect: bool = True) -> SweepTables:
    """Loads a sweep directory. With ``collect`` (the default) the tables are first rewritten
    from the run directories (`gdscope sweep collect DIR` without figures), so they show
    members that finished since the last collect and the rows running members have written
    so far."""
    d = Path(dir)
    if collect:
        _native.collect_sweep(str(d), False)
    elif not (d / "sweep.parquet").exists():
        raise GdscopeError(f"{d}/sweep.parquet does not exist; run `gdscope sweep collect {d}` or pass collect=True")
    manifest = tomllib.loads((d / "sweep.toml").read_text())
    return SweepTables(
        dir=d,
        runs=pd.read_parquet(d / "sweep.parquet"),
        metrics=pd.read_parquet(d / "metrics.parquet"),
        manifest=manifest,
    )


def sweep_status(dir: PathLike) -> pd.DataFrame:
    """Where every member stands (`gdscope sweep status DIR`), one row per member."""
    return pd.DataFrame(json.loads(_native.sweep_status_json(str(dir))))


def _config_json(config: Union[Mapping[str, Any], PathLike, None]) -> str:
    if config is None:
        return "{}"
    if isinstance(config, Mapping):
        return json.dumps(config)
    path = Path(config)
    try:
        return json.dumps(tomllib.loads(path.read_text()))
    except OSError as e:
        raise GdscopeError(f"cannot read config file {path}: {e}") from e


def _overrides(set: Optional[Mapping[str, Any]]) -> list:
    return [f"{k}={json.dumps(v)}" for k, v in (set or {}).items()]


def _axes(axes: Optional[Mapping[str, Any]]) -> list:
    out = []
    for key, values in (axes or {}).items():
        if isinstance(values, str):
            out.append(f"{key}={values}")  # a list or range as text: "logspace(1e-3,1e-1,7)"
        else:
            out.append(f"{key}=" + ",".join(json.dumps(v) for v in values))
    return out


def analyze(
    command: str,
    spec: Mapping[str, Any],
    out: Optional[PathLike] = None,
    *,
    overwrite: bool = False,
) -> dict:
    """Runs one analysis, as ``gdscope COMMAND ... --json [--out OUT]`` does.

    Args:
        command: ``"direction"``, ``"sweep-lr"``, ``"basin"`` or ``"curvature"``.
        spec: the run spec as a dict: the ``[spec]`` table a run of that command saves in its
            ``config.toml`` (docs/direction.md, "Run specs"), e.g.
            ``{"objective": {"objective": "paper-fig2"}, "lr": 0.95, "x0": [0.2, 0.2]}`` or,
            for curvature, ``{"network": {"run": "runs/eos"}, "top_k": 3, "trace": True}``.
            Missing keys take the command's defaults; unknown keys raise GdscopeError.
        out: write the run directory here (config.toml with the spec, tables, figures).
        overwrite: allow replacing the files of an existing run directory.

    Returns:
        What ``--json`` prints: the summary dict of the run (curvature adds ``warnings``).
    """
    text = _native.analyze(command, json.dumps(dict(spec)), None if out is None else str(out), overwrite)
    return json.loads(text)


def train(
    config: Union[Mapping[str, Any], PathLike, None] = None,
    out: PathLike = "runs/train",
    *,
    set: Optional[Mapping[str, Any]] = None,
    overwrite: bool = False,
    progress: bool = True,
) -> Run:
    """Trains one run, as `gdscope train --config CONFIG --set K=V --out OUT` does.

    Args:
        config: the training config as a dict (the TOML structure, e.g.
            ``{"steps": 500, "optimizer": {"kind": "gd", "lr": 0.04}}``), a TOML file, or
            None for the defaults.
        out: the run directory (must be new or empty unless ``overwrite``).
        set: overrides by dotted path, e.g. ``{"optimizer.lr": 0.04}``.
        overwrite: allow replacing the files of an existing run directory.
        progress: show a progress bar on stderr.

    Returns:
        The finished run, loaded (:func:`load_run`).
    """
    d = _native.train(_config_json(config), str(out), _overrides(set), overwrite, progress)
    return load_run(d)


def fork(
    parent: PathLike,
    out: PathLike,
    *,
    at_step: Optional[int] = None,
    set: Optional[Mapping[str, Any]] = None,
    overwrite: bool = False,
    progress: bool = True,
) -> Run:
    """Forks a run, as `gdscope train --resume PARENT --fork OUT --at-step T --set K=V` does:
    a new run that starts from the parent's state after ``at_step`` steps with the settings
    in ``set`` changed (the parent is only read).

    Args:
        parent: the parent run directory.
        out: the fork's run directory (must be new or empty unless ``overwrite``).
        at_step: the parent's step to start from (default: its last checkpoint). A kept
            checkpoint (``checkpoint.keep`` / ``checkpoint.keep_every``) starts at once;
            another step is replayed from the nearest earlier one.
        set: the changed settings by dotted path, e.g. ``{"optimizer.lr": 0.08}``; anything
            but the model, the data, the processes and the eigen-solver's options.
        overwrite: allow replacing the files of an existing run directory.
        progress: show a progress bar on stderr.

    Returns:
        The finished fork, loaded: its metrics begin with the parent's rows before
        ``at_step``; ``config["fork"]`` and ``summary["fork"]`` hold the lineage.
    """
    d = _native.fork(str(parent), str(out), at_step, _overrides(set), overwrite, progress)
    return load_run(d)


def sweep(
    config: Union[Mapping[str, Any], PathLike, None] = None,
    out: PathLike = "runs/sweep",
    *,
    fork_from: Optional[PathLike] = None,
    at_step: Optional[int] = None,
    grid: Optional[Mapping[str, Any]] = None,
    zip: Optional[Mapping[str, Any]] = None,
    set: Optional[Mapping[str, Any]] = None,
    backend: str = "local",
    workers: Optional[int] = None,
    threads_per_worker: Optional[int] = None,
    slurm: Optional[Mapping[str, Any]] = None,
    dry_run: bool = False,
    progress: bool = True,
) -> Path:
    """Creates (or continues) a sweep and runs it, as `gdscope sweep` does.

    Args:
        config: the base training config (dict or TOML file; may hold ``sweep`` and
            ``slurm`` sections).
        out: the sweep directory; given again with the same sweep, it continues it.
        fork_from: instead of ``config``: a run directory whose state after ``at_step`` steps
            (default: its last checkpoint) every member starts from — a sweep of forks, the
            axes being the interventions (`gdscope sweep --fork-from`).
        at_step: with ``fork_from``: the parent's step.
        grid: axes crossed with each other, e.g. ``{"optimizer.lr": [0.01, 0.02],
            "seed": "range(0,4)"}`` (a string is a list or range as on the command line).
        zip: axes that advance together (all of one length).
        set: overrides of the base config by dotted path.
        backend: ``"local"`` (run here; tables written at the end) or ``"slurm"`` (submit an
            ``sbatch --array`` job whose tasks run ``python -m gdscope run-member``).
        workers, threads_per_worker: local concurrency (default: one worker per CPU).
        slurm: Slurm options (partition, time, mem, cpus_per_task, max_concurrent, job_name,
            extra, setup), merged over the config's ``slurm`` section.
        dry_run: Slurm only: write the script without submitting it.
        progress: local only: progress lines on stderr.

    Returns:
        The sweep directory; load the tables with :func:`load_sweep`.
    """
    if fork_from is not None and config is not None:
        raise GdscopeError("give either config or fork_from (a sweep of forks takes the parent's config)")
    if at_step is not None and fork_from is None:
        raise GdscopeError("at_step needs fork_from")
    member_command = [sys.executable, "-m", "gdscope", "run-member"]
    d = _native.sweep(
        _config_json(config),
        str(out),
        _overrides(set),
        _axes(grid),
        _axes(zip),
        backend,
        workers,
        threads_per_worker,
        json.dumps(dict(slurm or {})),
        dry_run,
        progress,
        member_command,
        None if fork_from is None else str(fork_from),
        at_step,
    )
    return Path(d)


def run_member(dir: PathLike, index: int) -> dict:
    """Runs one member of a sweep (what each Slurm task of a Python-launched sweep runs)."""
    return json.loads(_native.run_sweep_member(str(dir), int(index)))


def collect(dir: PathLike, *, figures: bool = True, metric: Optional[str] = None,
            summary_field: Optional[str] = None, vs: Optional[str] = None) -> list:
    """Writes sweep.parquet, metrics.parquet and the sweep figures (`gdscope sweep collect`);
    returns the paths written."""
    return [Path(p) for p in _native.collect_sweep(str(dir), figures, metric, summary_field, vs)]
