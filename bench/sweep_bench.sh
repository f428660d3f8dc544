#!/usr/bin/env bash
# Time a whole sweep with `snakemake --cores N` from an empty results/, then print the median
# wall time ("s") and CPU time per job of every rule, read from the Snakemake benchmark files.
#
#   bash bench/sweep_bench.sh                      # the default sweep (config.yaml), --cores 2
#   CORES=4 CONFIG=tests/sweep/config.yaml bash bench/sweep_bench.sh
#   CACHE=off bash bench/sweep_bench.sh            # without the JAX compilation cache
#   WARM=1 bash bench/sweep_bench.sh               # time a second sweep that finds the cache filled
#   KEEP=1 bash bench/sweep_bench.sh               # keep the work folder (its path is printed)
#
# The sweep runs in a temporary copy of the workflow, so the repository's results/ is untouched.
# It also times the bare start of a job's Python process (interpreter + imports) for comparison.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cores=${CORES:-2}
config=${CONFIG:-config.yaml}
work=$(mktemp -d "${TMPDIR:-/tmp}/sweep_bench.XXXXXX")
if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$work"' EXIT; else echo "work folder: $work"; fi

cp "$repo/Snakefile" "$work/"
cp "$repo/$config" "$work/config.yaml"
cp -r "$repo/workflow" "$work/workflow"
ln -s workflow/profiles "$work/profiles"
extra=()
if [ "${CACHE:-on}" = off ]; then extra=(--config "jax_cache_dir=")
fi

cd "$work"
if [ -n "${WARM:-}" ]; then      # fill the compilation cache, then forget every other result
    snakemake --cores "$cores" --quiet rules "${extra[@]}" > snakemake.out 2>&1 || {
        tail -n 40 snakemake.out; exit 1; }
    find results -mindepth 1 -maxdepth 1 ! -name .jax_cache -exec rm -rf {} +
    rm -rf .snakemake
fi
start=$(date +%s.%N)
snakemake --cores "$cores" --quiet rules "${extra[@]}" > snakemake.out 2>&1 || {
    tail -n 40 snakemake.out; exit 1; }
end=$(date +%s.%N)

python - "$start" "$end" "$cores" "$config" "${CACHE:-on}${WARM:+ (warm)}" <<'PY'
import statistics, subprocess, sys, time
from pathlib import Path
import pandas as pd

start, end, cores, config, cache = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
rows = []
for rule_dir in sorted(Path("results/benchmarks").iterdir()):
    files = [rule_dir] if rule_dir.is_file() else sorted(rule_dir.rglob("*.tsv"))
    tables = [pd.read_csv(f, sep="\t") for f in files]
    wall = [t["s"].iloc[0] for t in tables]
    cpu = [t["cpu_time"].iloc[0] for t in tables]
    rows.append((rule_dir.name.removesuffix(".tsv"), len(files), statistics.median(wall), statistics.median(cpu),
                 sum(wall)))
starts = []
for _ in range(3):
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import fixedpoints.finder, fixedpoints.plotting, fixedpoints.summary"],
                   check=True)
    starts.append(time.perf_counter() - t0)
print(f"sweep {config}, --cores {cores}, compilation cache {cache}: {end - start:.1f} s wall in all, "
      f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
print(f"{'rule':<18} {'jobs':>5} {'median s':>9} {'median cpu s':>13} {'sum s':>8}")
for name, n, wall, cpu, total in rows:
    print(f"{name:<18} {n:>5} {wall:>9.2f} {cpu:>13.2f} {total:>8.1f}")
print(f"python start + imports of a job (median of 3): {statistics.median(starts):.2f} s")
PY
