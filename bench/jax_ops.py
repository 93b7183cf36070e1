"""JAX timings of the operations `gdscope bench` times, for side-by-side ratios.

Workload "A" (MLP 3072-256-256-4) or "eos" (MLP 20-256-256-4, the edge-of-stability demo
network), GELU tanh approximation, MSE, LeCun init, n = 1000 — built with the reference
helpers of the shared benchmark folder (`refcommon.py`, `jaxmlp.py`), timed as
`bench_a_jax.py` times them: jit(value_and_grad), jvp of grad, vmap of it over 3 directions,
jvp of the HVP; plus one GD step (jit(w - lr * grad)). Median of --repeats after two warm-up
calls, block_until_ready. Prints one JSON object with keys "<dtype>.<operation>" in seconds.

Usage: python jax_ops.py SHARED_BENCH_DIR --workload eos --dtype float32 [--repeats 7]
"""
import argparse
import json
import os
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bench_dir")
    ap.add_argument("--workload", choices=["a", "eos"], default="a")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    sys.path.insert(0, os.path.abspath(args.bench_dir))

    import jax
    if args.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import numpy as np
    from refcommon import make_data, layer_sizes, init_params_flat, n_params
    from jaxmlp import make_loss, make_derivs

    d = 3072 if args.workload == "a" else 20
    lr = 0.02 if args.workload == "a" else 0.08
    jdt = jnp.float32 if args.dtype == "float32" else jnp.float64
    xn, yn, _ = make_data(d=d)
    sizes = layer_sizes(d=d)
    p = n_params(sizes)
    x, y = jnp.asarray(xn, jdt), jnp.asarray(yn, jdt)
    w = jnp.asarray(init_params_flat(sizes), jdt)
    rng = np.random.default_rng(123)
    u = jnp.asarray(rng.standard_normal(p), jdt)
    v = jnp.asarray(rng.standard_normal(p), jdt)
    v3 = jnp.asarray(rng.standard_normal((3, p)), jdt)

    loss, _ = make_loss(sizes, "gelu")
    grad, hvp, t3, _ = make_derivs(loss)
    ops = {
        "loss_grad": (jax.jit(jax.value_and_grad(loss)), (w, x, y)),
        "hvp": (jax.jit(hvp), (w, v, x, y)),
        "hvp_block3": (jax.jit(jax.vmap(hvp, in_axes=(None, 0, None, None))), (w, v3, x, y)),
        "third_order": (jax.jit(t3), (w, u, v, x, y)),
        "gd_step": (jax.jit(lambda w, x, y: w - lr * grad(w, x, y)), (w, x, y)),
    }
    short = "f32" if args.dtype == "float32" else "f64"
    out = {"framework": "jax " + jax.__version__, "workload": args.workload, "seconds": {}}
    for name, (f, a) in ops.items():
        for _ in range(2):
            jax.block_until_ready(f(*a))
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            jax.block_until_ready(f(*a))
            times.append(time.perf_counter() - t)
        out["seconds"][f"{short}.{name}"] = sorted(times)[len(times) // 2]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
