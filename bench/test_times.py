"""Compares the last two test runs' time reports (tests/time_report.py writes one per run): wall time,
the seconds per marker and per test file, and the tests whose time changed most.

    python3 bench/test_times.py            # the last two runs of this checkout
    python3 bench/test_times.py OLD NEW    # two given reports
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPORTS = Path(__file__).resolve().parents[1] / ".pytest_cache" / "d" / "test-times"
SHOWN = 15


def changes(old: dict[str, float], new: dict[str, float]) -> list[tuple[str, float, float]]:
    """(name, old seconds, new seconds), the biggest change first; a name only one run has counts 0 in the other."""
    rows = [(name, old.get(name, 0.0), new.get(name, 0.0)) for name in {*old, *new}]
    return sorted(rows, key=lambda row: -abs(row[2] - row[1]))


def table(title: str, rows: list[tuple[str, float, float]], shown: int | None = None) -> None:
    print(f"\n{title}: old s -> new s (change)")
    for name, before, after in rows[:shown]:
        print(f"  {before:8.1f} -> {after:8.1f}  ({after - before:+7.1f})  {name}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="*", type=Path, help="OLD NEW (default: the last two in " + str(REPORTS) + ")")
    paths = parser.parse_args(argv).reports or sorted(REPORTS.glob("*.json"))[-2:]
    if len(paths) != 2:
        print(f"two reports are needed, found {len(paths)} (in {REPORTS}): run the tests twice, or name OLD NEW")
        return 2
    old, new = (json.loads(path.read_text()) for path in paths)
    print(f"old: {paths[0]}\nnew: {paths[1]}")
    for name, run in (("old", old), ("new", new)):
        test_seconds = sum(test["seconds"] for test in run["tests"].values())
        print(f"{name}: {len(run['tests'])} tests, {test_seconds:.0f} s of test time, {run['wall_seconds']:.0f} s wall "
              f"time, {run['workers'] or 'no'} xdist workers")
    table("per marker", changes(old["markers"], new["markers"]))
    table("per file", changes(old["files"], new["files"]), SHOWN)
    seconds = {name: {test: data["seconds"] for test, data in run["tests"].items()} for name, run in (("old", old), ("new", new))}
    table("per test", changes(seconds["old"], seconds["new"]), SHOWN)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
