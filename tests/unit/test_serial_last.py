"""tests/serial_last.py in a real pytest-xdist run: the tests sharing a module fixture on one worker, the longest
work first, the serial tests last and alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[2]

RECORDING = """
import os, time
import pytest

@pytest.fixture(scope="module")
def shared():
    return object()

def record(name):
    started = time.time()
    time.sleep(0.3)
    with open({log!r}, "a") as log:
        log.write(f"{{name}} {{os.environ['PYTEST_XDIST_WORKER']}} {{started}} {{time.time()}}\\n")
"""


def test_serial_tests_wait_for_every_other_test_then_run_on_one_worker(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the plugin, as tests.serial_last
    log = pytester.path / "ran.txt"
    pytester.makeini("[pytest]\nmarkers =\n    serial: alone\n")
    pytester.makeconftest('pytest_plugins = ["tests.serial_last"]\n')
    header = RECORDING.format(log=str(log))
    for name in ("a", "b", "c"):
        pytester.makepyfile(**{f"test_{name}": header + "".join(
            f"def test_{name}{number}(shared):\n    record('{name}')\n" for number in range(3))})
    pytester.makepyfile(test_timed=header + "".join(
        f"@pytest.mark.serial\ndef test_timed{number}():\n    record('serial')\n" for number in range(3))
        + "def test_untimed(shared):\n    record('timed-file')\n")
    pytester.makepyfile(test_alone=header + "".join(  # no fixture shared: each test goes where a worker is free
        f"def test_alone{number}(tmp_path):\n    record('alone')\n" for number in range(6)))

    result = pytester.runpytest_subprocess("-n", "3", "--dist", "loadgroup")

    result.assert_outcomes(passed=19)
    runs = [line.split() for line in log.read_text().splitlines()]
    serial = [(worker, float(start)) for name, worker, start, _ in runs if name == "serial"]
    others = [(name, worker, float(end)) for name, worker, _, end in runs if name != "serial"]
    assert len(serial) == 3 and len({worker for worker, _ in serial}) == 1
    assert min(start for _, start in serial) >= max(end for _, _, end in others)
    for name in ("a", "b", "c", "timed-file"):  # a file's module fixtures are made once: its tests share a worker
        assert len({worker for file, worker, _ in others if file == name}) == 1
    assert len([name for name, _, _ in others if name == "alone"]) == 6


def test_the_work_the_last_runs_timed_longest_starts_first(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    log = pytester.path / "ran.txt"
    pytester.makeini("[pytest]\nmarkers =\n    serial: alone\n")
    pytester.makeconftest('pytest_plugins = ["tests.serial_last", "tests.time_report"]\n')
    header = RECORDING.format(log=str(log))
    for name in ("many", "long"):  # xdist alone would start with the file of most tests
        pytester.makepyfile(**{f"test_{name}": header + "".join(
            f"def test_{name}{number}(shared):\n    record('{name}')\n" for number in range(4 if name == "many" else 2))})
    reports = pytester.path / ".pytest_cache" / "d" / "test-times"
    reports.mkdir(parents=True)
    timed = {f"test_many.py::test_many{number}": 1.0 for number in range(4)}
    timed |= {"test_long.py::test_long0": 60.0, "test_long.py::test_long1": 1.0}
    (reports / "20260101-000000.json").write_text(json.dumps({"tests": {
        nodeid: {"seconds": seconds} for nodeid, seconds in timed.items()}}))

    result = pytester.runpytest_subprocess("-n", "1", "--dist", "loadgroup")

    result.assert_outcomes(passed=6)
    assert [line.split()[0] for line in log.read_text().splitlines()] == ["long"] * 2 + ["many"] * 4


@pytest.mark.parametrize("nodeid, plain", [("tests/a.py::test_x@serial", "tests/a.py::test_x"),
                                           ("tests/a.py::test_x[a@b]", "tests/a.py::test_x[a@b]"),
                                           ("tests/a.py::test_x[a@b]@tests/a.py", "tests/a.py::test_x[a@b]")])
def test_the_time_report_names_a_test_without_its_xdist_group(nodeid, plain):
    from tests.time_report import without_group

    assert without_group(nodeid) == plain
