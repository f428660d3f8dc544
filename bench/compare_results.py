"""Compare two sweeps' results/ bit for bit: every HDF5 dataset and attribute, every figure's bytes.

    python bench/compare_results.py OLD/results NEW/results [--no-figures]

For checking that a change for speed keeps the numbers: run the sweep before and after (e.g.
``KEEP=1 bash bench/sweep_bench.sh``, or bench/sweep_vs_seed.py --keep) and compare. Ignored, as they
differ from run to run or between checkouts by nature: the attributes ``wall_s`` and ``provenance_*``,
the logs, benchmarks and compilation cache, and the runs table's wall-time columns. Prints one line per
file that differs (and what differs), then a summary; exits 1 when anything differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import reliability_support  # noqa: E402  (the tests' HDF5 reader)

SKIPPED_FOLDERS = {"logs", "benchmarks", ".jax_cache"}


def h5_contents(path: Path) -> dict:
    """Every dataset (dtype, shape, bytes) and attribute of an HDF5 file (the tests' reader), timings and
    provenance aside."""
    return {key: value for key, value in reliability_support.h5_contents(path, ignore_attrs={"wall_s"}).items()
            if "@provenance_" not in key}


def files(results: Path, figures: bool) -> list[Path]:
    suffixes = {".h5", ".csv"} | ({".png", ".pdf"} if figures else set())
    return sorted(p.relative_to(results) for p in results.rglob("*")
                  if p.is_file() and p.suffix in suffixes and not p.name.startswith(".")
                  and p.relative_to(results).parts[0] not in SKIPPED_FOLDERS)


def differences(old: Path, new: Path) -> list[str]:
    """What differs between two files of the same name (empty: the same)."""
    if old.suffix == ".h5":
        a, b = h5_contents(old), h5_contents(new)
        return sorted({k for k in a.keys() | b.keys() if a.get(k) != b.get(k)})
    if old.suffix == ".csv":
        a, b = pd.read_csv(old), pd.read_csv(new)
        keep = [c for c in a.columns if not c.startswith("wall_s")]
        if list(a.columns) != list(b.columns):
            return ["columns"]
        return [c for c in keep if not a[c].equals(b[c])]
    return [] if old.read_bytes() == new.read_bytes() else ["bytes"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path, help="results/ of the reference sweep")
    parser.add_argument("new", type=Path, help="results/ of the sweep to check")
    parser.add_argument("--no-figures", action="store_true", help="compare the HDF5 and CSV files only")
    args = parser.parse_args(argv)
    old, new = files(args.old, not args.no_figures), files(args.new, not args.no_figures)
    differing = 0
    for name in sorted(set(old) ^ set(new)):
        print(f"only in {'old' if name in old else 'new'}: {name}")
        differing += 1
    for name in sorted(set(old) & set(new)):
        what = differences(args.old / name, args.new / name)
        if what:
            differing += 1
            print(f"differs: {name}: {', '.join(what[:8])}{' …' if len(what) > 8 else ''}")
    print(f"{len(set(old) & set(new))} files compared, {differing} differ")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
