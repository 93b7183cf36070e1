"""Tests of the Python package: import, Network against `gdscope probe` (to 1e-15) and
finite differences, train/load_run, sweep/load_sweep, errors as Python exceptions."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gdscope

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
    for name in ("load_run", "load_sweep", "train", "sweep", "Network"):
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
