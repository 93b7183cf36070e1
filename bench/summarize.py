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


def done(pattern):
    """Result files matching `pattern` that are complete (a run in progress leaves one empty)."""
    return [f for f in sorted(glob.glob(pattern)) if os.path.getsize(f) > 0]


def per_op(out, workload):
    """Per operation: medians over rounds of wall and CPU seconds, their ratios, the range of
    the wall ratio between runs of the same round, and the median ratio to the GEMM floor."""
    rows = {}
    loads = []

    def add(d, who, r):
        loads.append(d["load"])
        for metric in ("seconds", "cpu_seconds"):
            for k, v in d.get(metric, {}).items():
                rows.setdefault(k, {}).setdefault((who, metric), {})[r] = v

    floors, cpu_floors = {}, {}
    for f in done(os.path.join(out, f"gdscope_{workload}_r*.json")):
        d = json.load(open(f))
        add(d, "gdscope", f.rsplit("_r", 1)[1])
        for k, v in d["floor_ratio"].items():
            floors.setdefault(k, []).append(v)
        for k, v in d.get("cpu_floor_ratio", {}).items():
            cpu_floors.setdefault(k, []).append(v)
    for f in done(os.path.join(out, f"jax_{workload}_*_r*.json")):
        add(json.load(open(f)), "jax", f.rsplit("_r", 1)[1])
    if not loads:
        return
    print(f"\n### workload {workload} (load average {min(loads):.2f}–{max(loads):.2f})\n")
    print("| operation | gdscope wall | JAX wall | wall ratio (range over rounds) | gdscope CPU "
          "| JAX CPU | CPU ratio | rounds | gdscope × GEMM floor (wall / CPU) |")
    print("|---|---|---|---|---|---|---|---|---|")
    med = statistics.median
    for k in sorted(rows):
        g, j = rows[k].get(("gdscope", "seconds"), {}), rows[k].get(("jax", "seconds"), {})
        if not g or not j:
            continue
        paired = [g[r] / j[r] for r in g if r in j]
        gc, jc = rows[k].get(("gdscope", "cpu_seconds"), {}), rows[k].get(("jax", "cpu_seconds"), {})
        cpu = (f"{med(gc.values()) * 1e3:.1f} ms | {med(jc.values()) * 1e3:.1f} ms "
               f"| **{med(gc.values()) / med(jc.values()):.2f}**") if gc and jc else "| |"
        print(f"| {k} | {med(g.values()) * 1e3:.2f} ms | {med(j.values()) * 1e3:.2f} ms "
              f"| **{med(g.values()) / med(j.values()):.2f}** ({min(paired):.2f}–{max(paired):.2f}) "
              f"| {cpu} | {len(g)}/{len(j)} | {med(floors.get(k, [float('nan')])):.2f} / "
              f"{med(cpu_floors.get(k, [float('nan')])):.2f} |")


def time_v(path):
    """(wall seconds, minor page faults, max RSS in MiB, CPU seconds user + system) from a
    `/usr/bin/time -v` log."""
    t = open(path).read()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1)
    parts = [float(p) for p in wall.split(":")]
    secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    faults = int(re.search(r"Minor .*: (\d+)", t).group(1))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
    cpu = sum(float(re.search(rf"{k} time \(seconds\): (\S+)", t).group(1)) for k in ("User", "System"))
    return secs, faults, rss, cpu


def eos(out):
    g, j = [], []
    for f in sorted(glob.glob(os.path.join(out, "eos_gdscope_r*.json"))):
        d = json.load(open(f))
        wall, faults, rss, cpu = time_v(f.replace(".json", ".time"))
        short = f.replace("eos_gdscope_r", "eos300_gdscope_r").replace(".json", ".time")
        short_faults = time_v(short)[1] if os.path.exists(short) else None
        g.append((wall, d, faults, short_faults, rss, cpu, open(f.replace(".json", ".load")).read().strip()))
    for f in sorted(glob.glob(os.path.join(out, "eos_jax_r*.json"))):
        d = json.load(open(f))["runs"][0]
        tv = f.replace(".json", ".time")
        wall, cpu = (time_v(tv)[0], time_v(tv)[3]) if os.path.exists(tv) else (d["wall_s"], float("nan"))
        j.append((wall, d, cpu, open(f.replace(".json", ".load")).read().strip()))
    print("\n### edge-of-stability demo end to end\n")
    print("| run | wall (process) | CPU (user + sys) | GD per step | eigen | crossing "
          "| median / range of S/(2/η) after | minor faults 3000 / 300 steps | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for wall, d, faults, short_faults, rss, cpu, l in g:
        e = d["edge"]
        gd = (d["timings"]["wall_s"] - d["timings"]["eigen_s"]) / d["steps_run"]
        print(f"| gdscope | {wall:.1f} s | {cpu:.1f} s | {gd * 1e3:.2f} ms | {d['timings']['eigen_s']:.1f} s, {d['eigen_hvps']} HVPs "
              f"| {e['first_crossing_step']} | {e['median_ratio']:.3f} ({e['min_ratio']:.3f}–{e['max_ratio']:.3f}), "
              f"{e['verdict']} | {faults} / {short_faults} | {l} |")
    for wall, d, cpu, l in j:
        a = d.get("after_cross", {})
        print(f"| JAX | {wall:.1f} s (run {d['wall_s']:.1f} s) | {cpu:.1f} s | {d['gd_step_s'] * 1e3:.2f} ms "
              f"| {d['eig_s']:.1f} s, {d['eig_hvps']} HVPs "
              f"| {d['first_step_sharpness_ge_0.95x2/lr']} | {a.get('median_ratio_to_2/lr', float('nan')):.3f} "
              f"({a.get('min_ratio', float('nan')):.3f}–{a.get('max_ratio', float('nan')):.3f}) | | {l} |")
    if g and j:
        gm = statistics.median(w for w, *_ in g)
        jm = statistics.median(w for w, *_ in j)
        print(f"\nmedian wall (whole process): gdscope {gm:.1f} s, JAX {jm:.1f} s, ratio **{gm / jm:.2f}**")
        gc = statistics.median(x[5] for x in g)
        jc = statistics.median(x[2] for x in j)
        print(f"median CPU time (user + system): gdscope {gc:.1f} s, JAX {jc:.1f} s, ratio **{gc / jc:.2f}**")
        gs = statistics.median((d["timings"]["wall_s"] - d["timings"]["eigen_s"]) / d["steps_run"] for _, d, *_ in g)
        js = statistics.median(d["gd_step_s"] for _, d, *_ in j)
        print(f"median GD step inside the run: gdscope {gs * 1e3:.2f} ms, JAX {js * 1e3:.2f} ms, "
              f"ratio **{gs / js:.2f}**")


if __name__ == "__main__":
    out = sys.argv[1]
    for w in ("a", "eos"):
        if glob.glob(os.path.join(out, f"gdscope_{w}_r*.json")):
            per_op(out, w)
    eos(out)
