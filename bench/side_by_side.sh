#!/usr/bin/env bash
# Side-by-side timings of gdscope and JAX, interleaved, repeated (docs/PERFORMANCE.md).
#
#   bench/side_by_side.sh SHARED_BENCH_DIR OUT_DIR [ROUNDS] [EOS_ROUNDS]
#
# SHARED_BENCH_DIR holds the reference scripts (refcommon.py, jaxmlp.py, eos_a_jax.py); PYTHON
# (default ~/.venvs/gdscope-ref/bin/python) must have jax. Each round runs, back to back:
# `gdscope bench --json` and bench/jax_ops.py on workload A and on the EoS network, in f32 and
# f64. Then EOS_ROUNDS rounds of the edge-of-stability demo end to end: `gdscope reproduce eos`
# (examples/eos.toml, 3000 steps), the same config cut to 300 steps (for the page-fault
# comparison) and `eos_a_jax.py --runs gelu,20,0.08`, all under `/usr/bin/time -v`. Every result
# file records the load average before the run. Summarise with bench/summarize.py OUT_DIR.
set -euo pipefail
bench_dir=$(cd "$1" && pwd)
out=$(mkdir -p "$2" && cd "$2" && pwd)
rounds=${3:-3}
eos_rounds=${4:-2}
python=${PYTHON:-$HOME/.venvs/gdscope-ref/bin/python}
here=$(cd "$(dirname "$0")/.." && pwd)
gdscope=${GDSCOPE:-$here/target/release/gdscope}
export REF_QUIET_MAX_WAIT_S=${REF_QUIET_MAX_WAIT_S:-0} REF_OUT=$out

load() { cut -d' ' -f1 /proc/loadavg; }
{ date -u; uname -a; nproc; grep -m1 'model name' /proc/cpuinfo; "$gdscope" info 2>/dev/null | head -5 || true; } > "$out/machine.txt"

for r in $(seq "$rounds"); do
  for w in a eos; do
    echo "round $r workload $w (load $(load))"
    l=$(load); "$gdscope" bench --workload "$w" --repeats 7 --json \
      | "$python" -c "import json,sys; d=json.load(sys.stdin); d['load']=$l; print(json.dumps(d))" \
      > "$out/gdscope_${w}_r$r.json"
    for dt in float32 float64; do
      l=$(load); "$python" "$here/bench/jax_ops.py" "$bench_dir" --workload "$w" --dtype "$dt" \
        | "$python" -c "import json,sys; d=json.load(sys.stdin); d['load']=$l; print(json.dumps(d))" \
        > "$out/jax_${w}_${dt}_r$r.json"
    done
  done
done

for r in $(seq "$eos_rounds"); do
  echo "EoS round $r: gdscope (load $(load))"
  l=$(load)
  /usr/bin/time -v "$gdscope" reproduce eos --out "$out/eos_gdscope_r$r" --overwrite \
    > "$out/eos_gdscope_r$r.log" 2> "$out/eos_gdscope_r$r.time"
  cp "$out/eos_gdscope_r$r/summary.json" "$out/eos_gdscope_r$r.json"
  echo "$l" > "$out/eos_gdscope_r$r.load"
  echo "EoS round $r: gdscope, 300 steps (load $(load))"
  /usr/bin/time -v "$gdscope" train --config "$here/examples/eos.toml" --set steps=300 \
    --out "$out/eos300_gdscope_r$r" --overwrite > /dev/null 2> "$out/eos300_gdscope_r$r.time"
  echo "EoS round $r: JAX (load $(load))"
  l=$(load)
  (cd "$bench_dir" && /usr/bin/time -v "$python" eos_a_jax.py --runs gelu,20,0.08 \
    --out "$out/eos_jax_r$r.json") > "$out/eos_jax_r$r.log" 2> "$out/eos_jax_r$r.time"
  echo "$l" > "$out/eos_jax_r$r.load"
done
echo "done: $out"
