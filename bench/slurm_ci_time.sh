#!/usr/bin/env bash
# What the Slurm test adds to CI: bring the single-node cluster up (packages installed, daemons
# stopped), run tests/test_slurm.py (the tiny sweep locally and through the slurm profile, side by
# side), bring the cluster down. Prints the median and range of each step over N repeats (default 3).
# Run as root on the Debian machine, with the venv built:  bench/slurm_ci_time.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
n=${1:-3}
times=()
.ci/slurm_cluster.sh down 2>/dev/null
for ((i = 1; i <= n; i++)); do
    t0=$(date +%s.%N)
    .ci/slurm_cluster.sh up 2>/dev/null
    t1=$(date +%s.%N)
    python -m pytest -q -p no:cacheprovider tests/test_slurm.py >/dev/null || { echo "test failed" >&2; exit 1; }
    t2=$(date +%s.%N)
    .ci/slurm_cluster.sh down 2>/dev/null
    t3=$(date +%s.%N)
    times+=("$t0 $t1 $t2 $t3")
    echo "repeat $i/$n done" >&2
done
printf '%s\n' "${times[@]}" | python3 -c '
import statistics, sys
rows = [[float(x) for x in line.split()] for line in sys.stdin]
steps = [("cluster up", 0, 1), ("tests/test_slurm.py", 1, 2), ("cluster down", 2, 3), ("total", 0, 3)]
print(f"| step | median s | min s | max s |  (n = {len(rows)})")
print("|---|---:|---:|---:|")
for name, a, b in steps:
    d = [r[b] - r[a] for r in rows]
    print(f"| {name} | {statistics.median(d):.1f} | {min(d):.1f} | {max(d):.1f} |")
'
