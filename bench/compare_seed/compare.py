"""Side-by-side benchmark: this project vs the seed tutorial's library (canns 1.5.0), same tasks and seeds.

For every task (2-, 3-, 4-bit FlipFlop with 3, 4, 6 tanh units; on request ``gru128``, 3-bit with a
128-unit GRU and 4096 starts, see ``TASK_OPTIONS``) and seed, in turn:

1. ``our_runner.py`` (this interpreter, the project's venv): data, init, training, trajectories of
   the test trials, fixed points with the seed's finder settings; it writes the trained network.
2. ``seed_runner.py`` (the canns venv's interpreter): the same pipeline with canns/BrainPy (its own
   training and search, for the timing columns), then canns' finder on OUR trained network and
   trajectories, so the finders are compared on identical networks.

Each runner is a fresh process (compilation included in both); the times are measured inside it
(train = the training call, find = building the finder and the search, run = data + init +
training + trajectories + search). Fixed points of the two finders on the same network are matched
by Euclidean distance (``--match-distance``); "missed by canns" counts our points with no canns
point within that distance, and vice versa. Prints markdown tables of medians over the seeds.

    bash bench/compare_seed/setup_env.sh                      # once: the canns venv
    python bench/compare_seed/compare.py [--tasks 2bit,3bit,4bit] [--seeds 0,1,2,3,4]
    python bench/compare_seed/compare.py --tasks gru128 --seeds 0
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TASKS = {"2bit": (2, 3), "3bit": (3, 4), "4bit": (4, 6), "gru128": (3, 128)}   # name -> (n_bits, n_hidden)
DEFAULT_TASKS = ("2bit", "3bit", "4bit")
# Runner options beyond the seed's defaults. gru128 is a research-size network (the size of Golub &
# Sussillo's examples): the seed's recurrent init (std 0.5 at 128 units, gain ~ 5.7) is chaotic and
# its learning rate 0.08 diverges there, so both sides use std 0.5/8 and Adam 0.01; 4096 starts.
TASK_OPTIONS = {"gru128": ["--rnn-type", "gru", "--recurrent-scale", "0.125", "--learning-rate", "0.01",
                           "--n-inits", "4096"]}
OUR_ONLY_OPTIONS = {"gru128": ["--skip-plain"]}
DEFAULT_SEED_PYTHON = os.path.join(HERE, ".venv", "bin", "python")


def parse_list(text: str, name: str, choices=None) -> list:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise SystemExit(f"error: --{name} is empty; expected a comma-separated list")
    if choices is not None:
        bad = [t for t in items if t not in choices]
        if bad:
            raise SystemExit(f"error: --{name} has unknown value(s) {', '.join(bad)}; expected some of "
                             f"{', '.join(choices)}")
        return items
    try:
        return [int(t) for t in items]
    except ValueError:
        raise SystemExit(f"error: --{name} must be comma-separated integers, got {text!r}") from None


def run_process(cmd: list[str], log_path: str) -> float:
    """Run ``cmd`` with stderr to ``log_path``; return its wall time, or exit naming the failure."""
    start = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        with open(log_path) as log:
            tail = log.read().strip().splitlines()[-15:]
        print("\n".join(tail), file=sys.stderr)
        raise SystemExit(f"error: {' '.join(cmd[:2])} failed with exit status {proc.returncode} "
                         f"(log: {log_path})")
    return seconds


def load(path: str) -> dict:
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def unmatched(a_nxd: np.ndarray, b_kxd: np.ndarray, radius: float) -> np.ndarray:
    """Boolean [n]: rows of ``a`` with no row of ``b`` within Euclidean ``radius``."""
    if len(a_nxd) == 0:
        return np.zeros(0, bool)
    if len(b_kxd) == 0:
        return np.ones(len(a_nxd), bool)
    dist_nxk = np.linalg.norm(a_nxd[:, None, :] - b_kxd[None, :, :], axis=-1)
    return dist_nxk.min(axis=1) > radius


def nearest(a_nxd: np.ndarray, b_kxd: np.ndarray) -> np.ndarray:
    """[n]: distance from each row of ``a`` to the nearest row of ``b`` (inf when ``b`` is empty)."""
    if len(a_nxd) == 0 or len(b_kxd) == 0:
        return np.full(len(a_nxd), np.inf)
    return np.linalg.norm(a_nxd[:, None, :] - b_kxd[None, :, :], axis=-1).min(axis=1)


def by_index(n_unstable: np.ndarray, n_bits: int) -> list[int]:
    """Counts of fixed points with saddle index 0, 1, ... (at least n_bits + 1 entries)."""
    return np.bincount(np.asarray(n_unstable, np.int64), minlength=n_bits + 1).tolist()


def run_pair(task: str, seed: int, args, workdir: str) -> dict:
    n_bits, n_hidden = TASKS[task]
    common = ["--n-bits", str(n_bits), "--n-hidden", str(n_hidden), "--seed", str(seed),
              "--max-epochs", str(args.max_epochs), *TASK_OPTIONS.get(task, [])]
    stem = os.path.join(workdir, f"{task}_seed{seed}")
    ours_proc_s = run_process([sys.executable, os.path.join(HERE, "our_runner.py"), *common,
                               *OUR_ONLY_OPTIONS.get(task, []), "--out", stem + "_ours.npz"], stem + "_ours.log")
    seed_proc_s = run_process([args.seed_python, os.path.join(HERE, "seed_runner.py"), *common,
                               "--out", stem + "_canns.npz", "--network", stem + "_ours.npz"],
                              stem + "_canns.log")
    ours, canns = load(stem + "_ours.npz"), load(stem + "_canns.npz")
    missed_by_canns = unmatched(ours["xstar"], canns["net_xstar"], args.match_distance)
    missed_by_ours = unmatched(canns["net_xstar"], ours["xstar"], args.match_distance)
    dist = np.concatenate([nearest(ours["xstar"], canns["net_xstar"]), nearest(canns["net_xstar"], ours["xstar"])])
    matched = dist <= args.match_distance
    record = dict(
        max_matched_distance=float(dist[matched].max()) if matched.any() else None,
        min_unmatched_distance=float(dist[~matched].min()) if (~matched).any() and np.isfinite(dist).all() else None,
        task=task, seed=seed, n_bits=n_bits, n_hidden=n_hidden,
        same_data=str(ours["data_sha256"]) == str(canns["data_sha256"]),
        same_init=str(ours["init_sha256"]) == str(canns["init_sha256"]),
        replay_diff=float(canns["net_replay_max_abs_diff"]), versions=str(canns["versions"]),
        backend=str(ours["backend"]),
        ours=dict(train_s=float(ours["train_s"]), find_s=float(ours["find_s"]), run_s=float(ours["run_s"]),
                  proc_s=ours_proc_s, epochs=int(ours["epochs"]), final_loss=float(ours["final_loss"]),
                  n_starts=int(ours["n_starts"]), total=int(len(ours["xstar"])), stable=int(np.sum(ours["is_stable"])),
                  by_index=by_index(ours["n_unstable"], n_bits), plain_find_s=float(ours["plain_find_s"]),
                  plain_total=int(len(ours["plain_xstar"])), plain_stable=int(np.sum(ours["plain_is_stable"])),
                  plain_by_index=by_index(ours["plain_n_unstable"], n_bits),
                  plain_missed_by_canns=int(unmatched(ours["plain_xstar"], canns["net_xstar"],
                                                      args.match_distance).sum()),
                  plain_missed=int(unmatched(canns["net_xstar"], ours["plain_xstar"], args.match_distance).sum())),
        canns=dict(train_s=float(canns["train_s"]), find_s=float(canns["find_s"]), run_s=float(canns["run_s"]),
                   proc_s=seed_proc_s, epochs=int(canns["epochs"]), final_loss=float(canns["final_loss"]),
                   own_total=int(len(canns["own_xstar"])), own_stable=int(np.sum(canns["own_is_stable"])),
                   net_find_s=float(canns["net_find_s"]), total=int(len(canns["net_xstar"])),
                   stable=int(np.sum(canns["net_is_stable"])), by_index=by_index(canns["net_n_unstable"], n_bits)),
        missed_by_canns=int(missed_by_canns.sum()),
        missed_by_canns_index=by_index(ours["n_unstable"][missed_by_canns], n_bits),
        missed_by_ours=int(missed_by_ours.sum()),
        missed_by_ours_index=by_index(canns["net_n_unstable"][missed_by_ours], n_bits),
    )
    return record


# -- report -------------------------------------------------------------------------------------
def med(values) -> float:
    return statistics.median(values)


def span(values) -> str:
    """'median (min–max)', or just the value when all are equal."""
    lo, hi, m = min(values), max(values), med(values)
    m_text = f"{m:g}"
    return m_text if lo == hi else f"{m_text} ({lo}–{hi})"


def pad(lists) -> np.ndarray:
    """Per-index count lists of different lengths as one array [runs, max length], zero-padded."""
    width = max(len(x) for x in lists)
    return np.array([list(x) + [0] * (width - len(x)) for x in lists])


def index_medians(lists) -> str:
    return "/".join(f"{v:g}" for v in np.median(pad(lists), axis=0))


def index_sums(lists) -> list[int]:
    return pad(lists).sum(axis=0).tolist()


def report(records: list[dict], args) -> str:
    tasks = [t for t in TASKS if any(r["task"] == t for r in records)]
    lines = []
    lines.append("Times: median seconds over seeds, measured inside each fresh process (compilation included); "
                 "× = canns / ours.")
    lines.append("")
    lines.append("| task | seeds | train ours | train canns | × | find ours | find canns | × "
                 "| whole run ours | whole run canns | × |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for task in tasks:
        rs = [r for r in records if r["task"] == task]
        row = [task, str(len(rs))]
        for key in ("train_s", "find_s", "run_s"):
            o, c = med([r["ours"][key] for r in rs]), med([r["canns"][key] for r in rs])
            row += [f"{o:.2f}", f"{c:.2f}", f"{c / o:.1f}×"]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append(f"Fixed points on identical networks (our trained weights and trajectories loaded into both "
                 f"finders; seed settings, 1024 starts): median (min–max) over seeds; by index = median count "
                 f"with 0, 1, 2, … unstable eigenvalues; missed = points with no point of the other finder "
                 f"within {args.match_distance:g}, summed over seeds (by index). Ours adds completeness starts "
                 f"(midpoints of attractor pairs, box samples) to the 1024 sampled ones by default; the "
                 f"'1024 starts only' run switches them off (do_completeness_starts=False) and reuses the "
                 f"compiled search, so its time excludes compilation.")
    lines.append("")
    lines.append("| task | ideal 3^N | total ours | total canns | stable ours | stable canns | by index ours "
                 "| by index canns | missed by canns | missed by ours | ours with 1024 starts only: total, missed by "
                 "canns, missed by it | find s, same net: ours / ours 1024 only (warm) / canns |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for task in tasks:
        rs = [r for r in records if r["task"] == task]
        n_bits = rs[0]["n_bits"]
        miss_c = index_sums([r["missed_by_canns_index"] for r in rs])
        miss_o = index_sums([r["missed_by_ours_index"] for r in rs])
        lines.append("| " + " | ".join([
            task, str(3 ** n_bits), span([r["ours"]["total"] for r in rs]), span([r["canns"]["total"] for r in rs]),
            span([r["ours"]["stable"] for r in rs]), span([r["canns"]["stable"] for r in rs]),
            index_medians([r["ours"]["by_index"] for r in rs]), index_medians([r["canns"]["by_index"] for r in rs]),
            f"{sum(r['missed_by_canns'] for r in rs)} ({'/'.join(map(str, miss_c))})",
            f"{sum(r['missed_by_ours'] for r in rs)} ({'/'.join(map(str, miss_o))})",
            f"{span([r['ours']['plain_total'] for r in rs])}, {sum(r['ours']['plain_missed_by_canns'] for r in rs)}, "
            f"{sum(r['ours']['plain_missed'] for r in rs)}",
            f"{med([r['ours']['find_s'] for r in rs]):.2f} / {med([r['ours']['plain_find_s'] for r in rs]):.2f} / "
            f"{med([r['canns']['net_find_s'] for r in rs]):.2f}"]) + " |")
    matched = [r["max_matched_distance"] for r in records if r["max_matched_distance"] is not None]
    unmatched_d = [r["min_unmatched_distance"] for r in records if r["min_unmatched_distance"] is not None]
    lines.append("")
    lines.append(f"Matching: the farthest matched pair was {max(matched) if matched else float('nan'):.1e} apart; "
                 + (f"the nearest unmatched point was {min(unmatched_d):.2f} from the other finder's set."
                    if unmatched_d else "every point was matched."))
    lines.append("")
    lines.append("Per run (epochs to loss < 1e-4; starts ours = 1024 sampled + its completeness starts; "
                 "canns own = canns' finder on the network canns trained itself; "
                 "same data/init = identical data and initial weights in both pipelines):")
    lines.append("")
    lines.append("| task | seed | epochs ours | epochs canns | starts ours | total ours (stable) "
                 "| total canns (stable) | canns own (stable) | missed by canns | missed by ours | same data/init |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in records:
        o, c = r["ours"], r["canns"]
        lines.append("| " + " | ".join([
            r["task"], str(r["seed"]), str(o["epochs"]), str(c["epochs"]), str(o["n_starts"]),
            f"{o['total']} ({o['stable']})",
            f"{c['total']} ({c['stable']})", f"{c['own_total']} ({c['own_stable']})",
            str(r["missed_by_canns"]), str(r["missed_by_ours"]),
            "yes" if r["same_data"] and r["same_init"] else "NO"]) + " |")
    return "\n".join(lines)


def header_line(records: list[dict], args) -> str:
    from importlib.metadata import version
    return (f"{datetime.date.today()} · {platform.machine()}, {os.cpu_count()} cores, JAX backend "
            f"{records[0]['backend']} · ours: fixedpoints {version('fixedpoints')}, jax {version('jax')}, "
            f"optax {version('optax')} · seed library: {records[0]['versions']} · max_epochs "
            f"{args.max_epochs}, match distance {args.match_distance:g}")


def save_json(path: str, header: str, match_distance: float, records: list[dict]) -> None:
    """Write the records atomically (a temporary file renamed over ``path``)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"header": header, "match_distance": match_distance, "records": records}, f, indent=1)
    os.replace(tmp, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--tasks", default=",".join(DEFAULT_TASKS), help="comma-separated, of " + ", ".join(TASKS))
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated integers")
    parser.add_argument("--max-epochs", type=int, default=1000, help="training epochs at most (both sides)")
    parser.add_argument("--match-distance", type=float, default=0.05,
                        help="two fixed points are the same when closer than this (Euclidean)")
    parser.add_argument("--seed-python", default=DEFAULT_SEED_PYTHON,
                        help="interpreter of the canns venv (bench/compare_seed/setup_env.sh makes it)")
    parser.add_argument("--workdir", default=None, help="keep the exchanged files and logs here (default: a "
                        "temporary directory, removed at the end)")
    parser.add_argument("--json", default=None, help="also write the per-run records to this JSON file")
    parser.add_argument("--report", default=None, metavar="JSON",
                        help="run nothing: print the tables of the records saved by an earlier --json")
    args = parser.parse_args(argv)
    if args.report:
        try:
            with open(args.report) as f:
                saved = json.load(f)
            records, header = saved["records"], saved["header"]
            args.match_distance = float(saved["match_distance"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise SystemExit(f"error: --report {args.report}: expected a JSON file written by --json "
                             f"({error})") from None
        print(header + "\n")
        print(report(records, args))
        return 0
    tasks = parse_list(args.tasks, "tasks", choices=TASKS)
    seeds = parse_list(args.seeds, "seeds")
    if not os.access(args.seed_python, os.X_OK):
        raise SystemExit(f"error: --seed-python {args.seed_python} is not an executable interpreter; "
                         f"run bash {os.path.join(HERE, 'setup_env.sh')} first")
    if args.max_epochs < 1 or args.match_distance <= 0:
        raise SystemExit("error: --max-epochs must be >= 1 and --match-distance > 0")
    workdir = args.workdir or tempfile.mkdtemp(prefix="compare_seed_")
    os.makedirs(workdir, exist_ok=True)
    records = []
    try:
        for task in tasks:
            for seed in seeds:
                print(f"[compare] {task} seed {seed} ...", file=sys.stderr, flush=True)
                r = run_pair(task, seed, args, workdir)
                print(f"[compare] {task} seed {seed}: ours {r['ours']['run_s']:.1f} s, {r['ours']['total']} fps "
                      f"({r['ours']['stable']} stable); canns {r['canns']['run_s']:.1f} s; canns on our net "
                      f"{r['canns']['total']} fps ({r['canns']['stable']} stable); missed by canns "
                      f"{r['missed_by_canns']}, by ours {r['missed_by_ours']}", file=sys.stderr, flush=True)
                records.append(r)
                if args.json:   # after every pair, so an interrupted session keeps what it measured
                    save_json(args.json, header_line(records, args), args.match_distance, records)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    header = header_line(records, args)
    print(header + "\n")
    print(report(records, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
