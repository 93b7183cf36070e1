"""Medians and ratios of a bench/side_by_side.sh output folder, as Markdown tables.

Usage: python bench/summarize.py OUT_DIR
"""
import glob
import json
import os
import re
import statistics
import sys


def load(pattern):
    return [json.load(open(f)) for f in sorted(glob.glob(pattern))]


def per_op(out, workload):
    rows = {}
    loads = []
    for d in load(os.path.join(out, f"gdscope_{workload}_r*.json")):
        loads.append(d["load"])
        for k, v in d["seconds"].items():
            rows.setdefault(k, {"gdscope": [], "jax": []})["gdscope"].append(v)
        floor = d["floor_ratio"]
    for d in load(os.path.join(out, f"jax_{workload}_*_r*.json")):
        loads.append(d["load"])
        for k, v in d["seconds"].items():
            rows.setdefault(k, {"gdscope": [], "jax": []})["jax"].append(v)
    print(f"\n### workload {workload} (load average {min(loads):.2f}–{max(loads):.2f})\n")
    print("| operation | gdscope (median) | JAX (median) | ratio | runs | gdscope × GEMM floor |")
    print("|---|---|---|---|---|---|")
    for k in sorted(rows):
        g, j = rows[k]["gdscope"], rows[k]["jax"]
        if not g or not j:
            continue
        gm, jm = statistics.median(g), statistics.median(j)
        print(f"| {k} | {gm * 1e3:.2f} ms | {jm * 1e3:.2f} ms | **{gm / jm:.2f}** | {len(g)}/{len(j)} "
              f"| {floor.get(k, float('nan')):.2f} |")
    if "f32.gd_step" in rows and rows.get("f32.loss_grad", {}).get("gdscope"):
        print(f"\n(JAX f32 GD step median {statistics.median(rows['f32.gd_step']['jax']) * 1e3:.2f} ms)")


def time_v(path):
    """(wall seconds, minor page faults, max RSS in MiB) from a `/usr/bin/time -v` log."""
    t = open(path).read()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1)
    parts = [float(p) for p in wall.split(":")]
    secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    faults = int(re.search(r"Minor .*: (\d+)", t).group(1))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
    return secs, faults, rss


def eos(out):
    g, j = [], []
    for f in sorted(glob.glob(os.path.join(out, "eos_gdscope_r*.json"))):
        d = json.load(open(f))
        wall, faults, rss = time_v(f.replace(".json", ".time"))
        short = f.replace("eos_gdscope_r", "eos300_gdscope_r").replace(".json", ".time")
        short_faults = time_v(short)[1] if os.path.exists(short) else None
        g.append((wall, d, faults, short_faults, rss, open(f.replace(".json", ".load")).read().strip()))
    for f in sorted(glob.glob(os.path.join(out, "eos_jax_r*.json"))):
        d = json.load(open(f))["runs"][0]
        tv = f.replace(".json", ".time")
        wall = time_v(tv)[0] if os.path.exists(tv) else d["wall_s"]
        j.append((wall, d, open(f.replace(".json", ".load")).read().strip()))
    print("\n### edge-of-stability demo end to end\n")
    print("| run | wall (process) | GD per step | eigen | crossing | median / range of S/(2/η) after "
          "| minor faults 3000 / 300 steps | load |")
    print("|---|---|---|---|---|---|---|---|")
    for wall, d, faults, short_faults, rss, l in g:
        e = d["edge"]
        gd = (d["timings"]["wall_s"] - d["timings"]["eigen_s"]) / d["steps_run"]
        print(f"| gdscope | {wall:.1f} s | {gd * 1e3:.2f} ms | {d['timings']['eigen_s']:.1f} s, {d['eigen_hvps']} HVPs "
              f"| {e['first_crossing_step']} | {e['median_ratio']:.3f} ({e['min_ratio']:.3f}–{e['max_ratio']:.3f}), "
              f"{e['verdict']} | {faults} / {short_faults} | {l} |")
    for wall, d, l in j:
        a = d.get("after_cross", {})
        print(f"| JAX | {wall:.1f} s (run {d['wall_s']:.1f} s) | {d['gd_step_s'] * 1e3:.2f} ms "
              f"| {d['eig_s']:.1f} s, {d['eig_hvps']} HVPs "
              f"| {d['first_step_sharpness_ge_0.95x2/lr']} | {a.get('median_ratio_to_2/lr', float('nan')):.3f} "
              f"({a.get('min_ratio', float('nan')):.3f}–{a.get('max_ratio', float('nan')):.3f}) | | {l} |")
    if g and j:
        gm = statistics.median(w for w, *_ in g)
        jm = statistics.median(w for w, *_ in j)
        print(f"\nmedian wall (whole process): gdscope {gm:.1f} s, JAX {jm:.1f} s, ratio **{gm / jm:.2f}**")
        gs = statistics.median((d["timings"]["wall_s"] - d["timings"]["eigen_s"]) / d["steps_run"] for _, d, *_ in g)
        js = statistics.median(d["gd_step_s"] for _, d, _ in j)
        print(f"median GD step inside the run: gdscope {gs * 1e3:.2f} ms, JAX {js * 1e3:.2f} ms, "
              f"ratio **{gs / js:.2f}**")


if __name__ == "__main__":
    out = sys.argv[1]
    for w in ("a", "eos"):
        if glob.glob(os.path.join(out, f"gdscope_{w}_r*.json")):
            per_op(out, w)
    eos(out)
