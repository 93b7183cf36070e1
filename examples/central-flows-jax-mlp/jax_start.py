"""The start of the central-flows JAX package's MLP example, for gdscope, and the package's own
run from it (docs/central-flows.md "The JAX package's MLP example").

    python jax_start.py export [--out DIR]
        Writes DIR/data.npz (x: 128 × 8, y: 128 × 1, float64) and DIR/w0.npy (the 433 initial
        parameters, float64, gdscope's layout) exactly as the package's example draws them:
        flax `nnx.Rngs(0)`, x ~ N(0, I₈), y ~ N(0, 1), then the three `nnx.Linear` layers of
        an 8→16→16→1 swish MLP. DIR defaults to this script's folder.

    python jax_start.py run STEPS --package-src SRC [--out FILE]
        Runs the package (its `Flow` and `GradientDescent`, imported from SRC, the folder that
        holds `central_flows_jax`) for STEPS steps from the same start: GD, its stable flow and
        its central flow, 5 eigenvalues each, float32 as the package runs; writes per-step
        losses and eigenvalues converted to gdscope's units to FILE (JSON; default
        jax_run.json in the working directory).

    python jax_start.py compare JAX_RUN.json RUN_DIR [--steps 0,100,...]
        Prints, at the given steps, GD's loss and top eigenvalue, the central flow's loss,
        predicted loss and top two eigenvalues, and the stable flow's loss, of the package run
        (FILE above) beside gdscope's run directory (`gdscope train --config
        examples/central-flows-jax-mlp.toml --out RUN_DIR`; needs pandas with pyarrow).

Units. The package minimizes mean (f − y)² with η = 0.1; gdscope's "mse" is ½·mean (f − y)²,
so gdscope's η = 0.2 gives the same trajectory: gdscope's loss is half the package's, and the
package's effective eigenvalues (η·∇², edge at 2) are gdscope's Hessian eigenvalues times 0.2.

gdscope's parameter layout (docs/training.md "Starting from your own weights"): for each layer
its weight as fan_in × fan_out row-major, then its bias. A flax kernel is (in, out), so it is
written as it is.

Needs jax, flax (nnx) and numpy; gdscope's tests do not run it.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

N, D, WIDTH = 128, 8, 16
PACKAGE_LR = 0.1  # on mean (f − y)²
LOSS_SCALE = 0.5  # gdscope's ½-MSE over the package's MSE
EIG_SCALE = 1.0 / 0.2  # package effective eigenvalue → gdscope Hessian eigenvalue


def example():
    """x, y, the model and the generator, drawn in the order of the package's example."""
    from flax import nnx

    rngs = nnx.Rngs(0)
    x = rngs.normal((N, D))
    y = rngs.normal((N,))
    model = nnx.Sequential(
        nnx.Linear(D, WIDTH, rngs=rngs),
        nnx.swish,
        nnx.Linear(WIDTH, WIDTH, rngs=rngs),
        nnx.swish,
        nnx.Linear(WIDTH, 1, rngs=rngs),
        lambda h: h[..., 0],
    )
    return x, y, model, rngs


def gdscope_layout(model):
    """The flat parameter vector in gdscope's layout (kernel row-major, then bias, per layer)."""
    from flax import nnx

    parts = []
    for layer in model.layers:
        if isinstance(layer, nnx.Linear):
            parts.append(np.asarray(layer.kernel[...], dtype=np.float64).reshape(-1))
            parts.append(np.asarray(layer.bias[...], dtype=np.float64))
    return np.concatenate(parts)


def export(out):
    x, y, model, _ = example()
    os.makedirs(out, exist_ok=True)
    np.savez(
        os.path.join(out, "data.npz"),
        x=np.asarray(x, dtype=np.float64),
        y=np.asarray(y, dtype=np.float64).reshape(-1, 1),
    )
    w0 = gdscope_layout(model)
    np.save(os.path.join(out, "w0.npy"), w0)
    print(f"wrote {out}/data.npz (x {x.shape}, y {y.shape}) and {out}/w0.npy ({w0.size} parameters)")


def run(steps, package_src, out):
    sys.path.insert(0, package_src)
    import jax
    import jax.numpy as jnp
    from central_flows_jax import Flow, GradientDescent

    from jax.flatten_util import ravel_pytree

    x, y, model, rngs = example()
    # The package's own parameter order (the example's ravel of the model); the loss is the
    # same function of the same weights.
    flat, unravel = ravel_pytree(model)

    def loss_fn(p):
        return jnp.mean((unravel(p)(x) - y) ** 2)

    opt = GradientDescent(lr=PACKAGE_LR)
    flow = Flow(loss_fn, opt)
    u0 = rngs.normal((flat.size, 5))
    discrete = stable = central = (flat, opt.init(flat), u0)
    rows = []
    t0 = time.perf_counter()
    for step in range(steps):
        discrete, d = flow.discrete(*discrete)
        stable, s = flow.stable(*stable)
        central, c = flow.central(*central)
        d, s, c = jax.device_get((d, s, c))
        rows.append(
            dict(
                step=step,
                loss=LOSS_SCALE * float(d["L"]),
                eigs=[EIG_SCALE * float(e) for e in d["eigs"]],
                stable_loss=LOSS_SCALE * float(s["L"]),
                stable_eigs=[EIG_SCALE * float(e) for e in s["eigs"]],
                central_loss=LOSS_SCALE * float(c["L"]),
                central_predicted_loss=LOSS_SCALE * float(c["L"] + np.trace(c["X"])),
                central_eigs=[EIG_SCALE * float(e) for e in c["eigs"]],
            )
        )
    wall = time.perf_counter() - t0
    with open(out, "w") as f:
        json.dump(dict(steps=steps, wall_s=wall, dtype=str(flat.dtype), rows=rows), f)
    print(f"{steps} steps in {wall:.1f} s ({flat.dtype}); wrote {out}")


def compare(jax_run, run_dir, steps):
    import pandas as pd

    with open(jax_run) as f:
        rows = {r["step"]: r for r in json.load(f)["rows"]}
    m = pd.read_parquet(os.path.join(run_dir, "metrics.parquet")).set_index("step")
    cols = [
        ("GD loss", "loss", lambda r: r["loss"]),
        ("GD λ1", "eig_1", lambda r: r["eigs"][0]),
        ("CF loss", "central.loss", lambda r: r["central_loss"]),
        ("CF L+trX", "central.predicted_loss", lambda r: r["central_predicted_loss"]),
        ("CF λ1", "central.eig_1", lambda r: r["central_eigs"][0]),
        ("CF λ2", "central.eig_2", lambda r: r["central_eigs"][1]),
        ("SF loss", "stable.loss", lambda r: r["stable_loss"]),
    ]
    print("| step | " + " | ".join(f"{name} gdscope / package" for name, _, _ in cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for t in steps:
        if t not in rows or t not in m.index:
            continue
        cells = [f"{m.at[t, c]:.4g} / {get(rows[t]):.4g}" for _, c, get in cols]
        print(f"| {t} | " + " | ".join(cells) + " |")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export", help="write data.npz and w0.npy")
    e.add_argument("--out", default=here)
    r = sub.add_parser("run", help="run the package from the same start")
    r.add_argument("steps", type=int)
    r.add_argument("--package-src", required=True)
    r.add_argument("--out", default="jax_run.json")
    c = sub.add_parser("compare", help="the two runs side by side")
    c.add_argument("jax_run")
    c.add_argument("run_dir")
    c.add_argument("--steps", default="0,100,200,300,400,500,600,700,800,900,999")
    a = ap.parse_args()
    if a.cmd == "export":
        export(a.out)
    elif a.cmd == "run":
        run(a.steps, a.package_src, a.out)
    else:
        compare(a.jax_run, a.run_dir, [int(t) for t in a.steps.split(",")])


if __name__ == "__main__":
    main()
