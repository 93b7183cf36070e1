"""Tests of the Python package: import, Network against `gdscope probe` (to 1e-15) and
finite differences, train/load_run, sweep/load_sweep, errors as Python exceptions."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gdscope

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python < 3.11 only
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
TINY = {
    "steps": 20,
    "dtype": "f64",
    "model": {"spec": "mlp:5-8-3:tanh"},
    "data": {"kind": "synthetic-linear", "n": 40, "d": 5, "k": 3},
    "optimizer": {"kind": "gd", "lr": 0.2},
    "tracking": {"every": 5, "eval_every": 5},
    "checkpoint": {"every": 10},
}


def gdscope_binary():
    """The gdscope CLI: $GDSCOPE_BIN, else a build in the repository's target/."""
    if os.environ.get("GDSCOPE_BIN"):
        return os.environ["GDSCOPE_BIN"]
    for profile in ("release", "debug"):
        p = REPO / "target" / profile / "gdscope"
        if p.exists():
            return str(p)
    found = shutil.which("gdscope")
    if found:
        return found
    if os.environ.get("GDSCOPE_REQUIRE_BIN"):
        pytest.fail("no gdscope binary (set GDSCOPE_BIN)")
    pytest.skip("no gdscope binary: build it with `cargo build --release -p gdscope-cli` or set GDSCOPE_BIN")


def test_import():
    assert gdscope.__version__
    assert issubclass(gdscope.GdscopeError, Exception)
    for name in ("load_run", "load_sweep", "train", "sweep", "analyze", "Network"):
        assert getattr(gdscope, name).__doc__


@pytest.fixture
def problem():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(30, 4))
    labels = rng.integers(0, 3, size=30)
    net = gdscope.Network("mlp:4-6-3:gelu-tanh", (x, labels))
    w = net.init(seed=2)
    u = rng.normal(size=net.dim)
    v = rng.normal(size=net.dim)
    return net, x, labels, w, u, v


def close(a, b, tol=1e-15):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    scale = max(1.0, float(np.max(np.abs(b))))
    err = float(np.max(np.abs(a - b)))
    assert err <= tol * scale, f"max difference {err:.3e} (scale {scale:.3e})"


def test_network_matches_gdscope_probe(problem, tmp_path):
    net, x, labels, w, u, v = problem
    np.savez(tmp_path / "data.npz", x=x, y=labels)
    for name, a in (("w", w), ("u", u), ("v", v)):
        np.save(tmp_path / f"{name}.npy", a)
    subprocess.run(
        [gdscope_binary(), "probe", "--model", net.spec, "--data", str(tmp_path / "data.npz"),
         "--params", str(tmp_path / "w.npy"), "--u", str(tmp_path / "u.npy"),
         "--v", str(tmp_path / "v.npy"), "--out", str(tmp_path / "probe.npz"), "--dtype", "f64"],
        check=True, capture_output=True,
    )
    probe = np.load(tmp_path / "probe.npz")
    loss, grad = net.value_grad(w)
    close(loss, probe["loss"])
    close(grad, probe["grad"])
    close(net.hvp(w, u), probe["hvp_u"])
    close(net.hvp(w, v), probe["hvp_v"])
    close(net.block_hvp(w, np.stack([u, v], axis=1)), np.stack([probe["hvp_u"], probe["hvp_v"]], axis=1))
    close(net.third_order(w, u, v), probe["d3_uv"])


def test_analyze_is_the_cli_run_of_the_same_spec(tmp_path):
    spec = {"objective": {"objective": "paper-fig2"}, "lr": 0.95, "x0": [0.2, 0.2], "steps": 3000}
    got = gdscope.analyze("direction", spec, out=tmp_path / "py")
    cli = subprocess.run(
        [gdscope_binary(), "direction", "--objective", "paper-fig2", "--lr", "0.95",
         "--x0", "0.2,0.2", "--steps", "3000", "--json"],
        check=True, capture_output=True, text=True,
    )
    assert got == json.loads(cli.stdout)
    assert got["verdict"] == "agrees"
    saved = tomllib.loads((tmp_path / "py" / "config.toml").read_text())
    assert saved["command"] == "direction" and saved["spec"]["lr"] == 0.95
    assert saved["spec"]["steps"] == 3000 and saved["spec"]["objective"] == {"objective": "paper-fig2"}
    basin = gdscope.analyze("basin", {"objective": {"objective": "paper-fig2"}, "lr": 0.95,
                                      "resolution": 6, "steps": 200})
    assert basin["counts"]["total"] == 36
    rows = gdscope.analyze("sweep-lr", {"objective": {"objective": "paper-fig2"}, "count": 3,
                                        "x0": [0.2, 0.2], "steps": 2000})["rows"]
    assert len(rows) == 3
    with pytest.raises(gdscope.GdscopeError, match="unknown field `step`"):
        gdscope.analyze("direction", {"objective": {"objective": "paper-fig2"}, "lr": 0.9, "step": 3})
    with pytest.raises(gdscope.GdscopeError, match="no analysis `train`"):
        gdscope.analyze("train", {})


def test_analyze_curvature_of_a_network(problem, tmp_path):
    net, x, labels, w, u, v = problem
    np.savez(tmp_path / "data.npz", x=x, y=labels)
    np.save(tmp_path / "w.npy", w)
    network = {"model": net.spec, "data": str(tmp_path / "data.npz"), "params": str(tmp_path / "w.npy")}
    r = gdscope.analyze("curvature", {"network": network, "top_k": 1})
    assert r["warnings"] == [] and r["converged"]
    # The top eigenvalue is the largest one of the Hessian assembled column by column from Network.hvp.
    dense = np.stack([net.hvp(w, e) for e in np.eye(net.dim)], axis=1)
    assert abs(r["top"][0] - np.linalg.eigvalsh(0.5 * (dense + dense.T))[-1]) < 1e-6 * max(1.0, abs(r["top"][0]))


def test_network_derivatives_by_finite_differences(problem):
    net, _, _, w, u, v = problem
    h = 1e-5
    _, g = net.value_grad(w)
    fd = (net.value(w + h * u) - net.value(w - h * u)) / (2 * h)
    assert abs(fd - g @ u) <= 1e-8 * max(1.0, abs(fd))
    hv = net.hvp(w, u)
    fd = (net.value_grad(w + h * u)[1] - net.value_grad(w - h * u)[1]) / (2 * h)
    assert np.max(np.abs(fd - hv)) <= 1e-7 * max(1.0, np.max(np.abs(hv)))
    # ∇(uᵀHv) against the difference of H·v along u.
    t = net.third_order(w, u, v)
    fd = (net.hvp(w + h * v, u) - net.hvp(w - h * v, u)) / (2 * h)
    assert abs(fd @ v - t @ v) <= 1e-6 * max(1.0, abs(t @ v))


def test_network_from_a_data_spec_and_errors():
    net = gdscope.Network("mlp:5-8-3:tanh", "synthetic-linear:n=40,d=5,k=3", loss="ce", dtype="f32")
    assert (net.dim, net.num_examples) == (5 * 8 + 8 + 8 * 3 + 3, 40)
    w = net.init(seed=0, scheme="he")
    assert w.dtype == np.float64 and np.isfinite(net.value(w))
    with pytest.raises(ValueError, match="has 75 parameters"):
        net.hvp(w, w[:3])
    with pytest.raises(ValueError, match="unknown loss"):
        gdscope.Network("mlp:5-8-3:tanh", "synthetic-linear:n=40,d=5,k=3", loss="l1")
    with pytest.raises(gdscope.GdscopeError, match="unknown data kind"):
        gdscope.Network("mlp:5-8-3:tanh", "nope:n=3")
    with pytest.raises(ValueError, match="input width is 5"):
        gdscope.Network("mlp:5-8-3:tanh", (np.zeros((4, 2)), np.zeros(4, dtype=np.int64)))
    with pytest.raises(ValueError, match="not an integer class"):
        gdscope.Network("mlp:5-8-3:tanh", (np.zeros((4, 5)), np.array([0, 1, 2, 3])))


def test_train_and_load_run(tmp_path):
    run = gdscope.train(TINY, out=tmp_path / "run", set={"optimizer.lr": 0.1}, progress=False)
    assert isinstance(run.metrics, pd.DataFrame)
    assert len(run.metrics) == 20 and {"step", "loss", "sharpness"} <= set(run.metrics.columns)
    assert run.config["optimizer"]["lr"] == 0.1
    assert run.config["tracking"]["every"] == 5 and "stop" in run.config  # every default saved
    assert run.summary["steps_run"] == 20
    assert run.weights.shape == (75,) and run.weights.dtype == np.float64
    again = gdscope.load_run(tmp_path / "run")
    pd.testing.assert_frame_equal(again.metrics, run.metrics)
    with pytest.raises(gdscope.GdscopeError, match="lrr"):
        gdscope.train(TINY, out=tmp_path / "bad", set={"optimizer.lrr": 0.1}, progress=False)
    with pytest.raises(gdscope.GdscopeError, match="already holds a run"):
        gdscope.train(TINY, out=tmp_path / "run", progress=False)
    with pytest.raises(gdscope.GdscopeError, match="not a gdscope run directory"):
        gdscope.load_run(tmp_path / "nothing")


def test_sweep_and_load_sweep(tmp_path):
    d = gdscope.sweep(
        TINY, out=tmp_path / "sw", zip={"optimizer.lr": [0.05, 0.1, 0.2, 0.1], "data.d": [5, 5, 5, 7]},
        workers=2, progress=False,
    )
    tables = gdscope.load_sweep(d)
    runs = tables.runs
    assert len(runs) == 4
    assert list(runs["optimizer.lr"]) == [0.05, 0.1, 0.2, 0.1]
    assert list(runs["status"]) == ["completed"] * 3 + ["failed"]
    assert "input width is 5" in runs["reason"].iloc[3]
    assert len(tables.metrics) == 60 and set(tables.metrics["run_id"]) == set(runs["run_id"][:3])
    assert tables.manifest["members"][3]["settings"]["data.d"] == 7
    status = gdscope.sweep_status(d)
    assert list(status["state"]) == ["completed"] * 3 + ["failed"]
    figures = gdscope.collect(d)
    assert any(p.name == "sweep-sharpness.png" for p in figures)


def test_slurm_script_runs_members_with_python(tmp_path):
    d = gdscope.sweep(TINY, out=tmp_path / "sl", grid={"seed": "range(0,2)"}, backend="slurm",
                      slurm={"partition": "short"}, dry_run=True)
    script = (d / "slurm" / "submit-1.sh").read_text()
    assert f"'{sys.executable}' '-m' 'gdscope' 'run-member'" in script
    assert "#SBATCH --partition=short" in script
    done = subprocess.run([sys.executable, "-m", "gdscope", "run-member", str(d), "1"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "member 1 (001-seed1): completed" in done.stdout
    assert list(gdscope.sweep_status(d)["state"]) == ["pending", "completed"]


def test_fork_lineage_and_sweep_of_forks(tmp_path):
    parent = gdscope.train(TINY, out=tmp_path / "parent", set={"checkpoint.keep_every": 5}, progress=False)
    child = gdscope.fork(parent.dir, tmp_path / "child", at_step=10, set={"optimizer.lr": 0.4}, progress=False)
    assert child.config["fork"]["step"] == 10
    assert child.config["fork"]["changes"] == {"optimizer.lr": 0.4}
    assert child.config["optimizer"]["lr"] == 0.4
    assert Path(child.summary["fork"]["parent"]) == (tmp_path / "parent").resolve()
    # One table tells the whole story: the parent's rows before step 10, then the fork's.
    assert len(child.metrics) == 20 and not child.live
    np.testing.assert_array_equal(child.metrics["loss"][:11], parent.metrics["loss"][:11])
    assert child.metrics["loss"][11] != parent.metrics["loss"][11]
    assert list(child.metrics["lr"][9:11]) == [0.2, 0.4]
    with pytest.raises(gdscope.GdscopeError, match="last checkpoint is at step 20"):
        gdscope.fork(parent.dir, tmp_path / "late", at_step=99, set={"steps": 200}, progress=False)
    with pytest.raises(gdscope.GdscopeError, match="`model.spec` cannot change"):
        gdscope.fork(parent.dir, tmp_path / "bad", at_step=5, set={"model.spec": "mlp:5-9-3:tanh"}, progress=False)

    d = gdscope.sweep(fork_from=parent.dir, at_step=5, grid={"optimizer.lr": [0.1, 0.4]},
                      out=tmp_path / "kick", workers=2, progress=False)
    tables = gdscope.load_sweep(d)
    assert list(tables.runs["optimizer.lr"]) == [0.1, 0.4]
    assert list(tables.runs["fork.step"]) == [5, 5]
    assert list(tables.runs["status"]) == ["completed", "completed"]
    first = tables.metrics[tables.metrics["step"] < 5]
    for _, rows in first.groupby("run_id"):
        np.testing.assert_array_equal(rows["loss"].to_numpy(), parent.metrics["loss"][:5].to_numpy())
    with pytest.raises(gdscope.GdscopeError, match="either config or fork_from"):
        gdscope.sweep(TINY, fork_from=parent.dir, out=tmp_path / "both")


def test_load_run_of_a_live_or_killed_run(tmp_path):
    run = gdscope.train(TINY, out=tmp_path / "run", progress=False)
    # What a run killed at step 12 leaves: rows up to 11, half a row, no final outputs.
    killed = tmp_path / "killed"
    killed.mkdir()
    for name in ("config.toml", "metrics.csv"):
        (killed / name).write_bytes((run.dir / name).read_bytes())
    lines = (killed / "metrics.csv").read_text().splitlines(keepends=True)
    (killed / "metrics.csv").write_text("".join(lines[:13]) + lines[13][:9])
    live = gdscope.load_run(killed)
    assert live.live and live.weights is None and live.summary == {}
    assert list(live.metrics["step"]) == list(range(12))
    np.testing.assert_array_equal(live.metrics["loss"], run.metrics["loss"][:12])
    # A run still going after an interrupt: its metrics.csv is newer than metrics.parquet.
    os.utime(run.dir / "metrics.csv", ns=(0, (run.dir / "metrics.parquet").stat().st_mtime_ns + 10**9))
    assert gdscope.load_run(run.dir).live
