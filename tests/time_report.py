"""Where a test run's time goes: every test's seconds (setup, call and teardown) and the run's wall time go
into a JSON report under pytest's cache (.pytest_cache/d/test-times/), and the summary prints the total per
test file and per marker. `python3 bench/test_times.py` compares the last two reports.

Reports reach this hook in the main process, from every xdist worker too, so one report covers a whole run.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict

import pytest

REPORTS = "test-times"
KEPT = 20  # reports kept; older ones are removed
SHOWN_FILES = 25


class TimeReport:
    def __init__(self, config: pytest.Config):
        self.config = config
        self.started = time.time()
        self.markers = {line.split(":")[0].split("(")[0].strip() for line in config.getini("markers")}
        self.tests: dict[str, dict] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        test = self.tests.setdefault(without_group(report.nodeid), {"seconds": 0.0, "outcome": "passed", "markers": []})
        test["seconds"] += report.duration
        test["markers"] = sorted(self.markers.intersection(report.keywords))
        if report.outcome != "passed" and test["outcome"] == "passed":
            test["outcome"] = report.outcome

    def totals(self, key) -> dict[str, float]:
        seconds: dict[str, float] = defaultdict(float)
        for nodeid, test in self.tests.items():
            for name in key(nodeid, test):
                seconds[name] += test["seconds"]
        return dict(sorted(seconds.items(), key=lambda item: -item[1]))

    def summary(self) -> dict:
        return {"started": self.started, "wall_seconds": time.time() - self.started,
                "workers": getattr(self.config.option, "numprocesses", None) or 0,
                "files": self.totals(lambda nodeid, test: [file_of(nodeid)]),
                "markers": self.totals(lambda nodeid, test: test["markers"] or ["(no marker)"]),
                "tests": self.tests}

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.tests:
            return
        summary = self.summary()
        folder = self.config.cache.mkdir(REPORTS)
        path = folder / time.strftime("%Y%m%d-%H%M%S.json", time.gmtime(self.started))
        path.write_text(json.dumps(summary, indent=1))
        for old in sorted(folder.glob("*.json"))[:-KEPT]:
            old.unlink()
        write = terminalreporter.write_line
        terminalreporter.section("time per test file and per marker")
        test_seconds = sum(test["seconds"] for test in self.tests.values())
        write(f"{len(self.tests)} tests, {test_seconds:.0f} s of test time in {summary['wall_seconds']:.0f} s "
              f"wall time ({summary['workers'] or 'no'} xdist workers); report: {path}")
        for title, totals, shown in (("file", summary["files"], SHOWN_FILES), ("marker", summary["markers"], None)):
            write(f"per {title}:")
            for name, seconds in list(totals.items())[:shown]:
                write(f"  {seconds:8.1f} s  {name}")
            if shown is not None and len(totals) > shown:
                write(f"  ... {len(totals) - shown} more {title}s in the report")


def recorded_seconds(config: pytest.Config) -> dict[str, float]:
    """Each test's seconds in the latest kept report that ran it (by test id, without its group); empty
    without a cache or a report (a clean clone)."""
    cache = getattr(config, "cache", None)
    if cache is None:
        return {}
    seconds: dict[str, float] = {}
    for report in sorted(cache.mkdir(REPORTS).glob("*.json")):  # oldest first: a later run's figure wins
        try:
            tests = json.loads(report.read_text())["tests"]
        except (OSError, ValueError, KeyError):
            continue  # a report being written, or of another format: the others still count
        seconds.update((nodeid, test["seconds"]) for nodeid, test in tests.items())
    return seconds


def without_group(nodeid: str) -> str:
    """The test's id without the "@group" that xdist's loadgroup appends (serial_last.py)."""
    group = nodeid.rfind("@")
    return nodeid[:group] if group > nodeid.rfind("]") else nodeid


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and getattr(config, "cache", None):  # the main process, with a cache
        config.pluginmanager.register(TimeReport(config), "time-report")

