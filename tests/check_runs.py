"""`sagemaker-emulator check` run as users run it, in subprocesses started at once, judged by their JUnit reports.

Each run has its own session label, so what it leaves behind can be told apart.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import pytest

CHECK = [sys.executable, "-m", "emulator.cli", "check"]
RUN_TIMEOUT = 900


@dataclass(frozen=True)
class Outcome:
    status: str  # passed | failed | skipped | error
    message: str


@dataclass(frozen=True)
class Report:
    returncode: int
    output: str
    session: str
    outcomes: dict[str, Outcome]  # "test_function[param]" -> outcome

    def of(self, param: str) -> dict[str, Outcome]:
        """Each check's outcome for one image (or `endpoint/hostname`), by test function name."""
        suffix = f"[{param}]"
        return {name.removesuffix(suffix): outcome for name, outcome in self.outcomes.items() if name.endswith(suffix)}


def run_checks(runs: dict[str, list[str]], folder: Path) -> dict[str, Report]:
    """Each run's `check` arguments, all started at once; their reports, by run name."""
    started = {name: _start(arguments, folder, name) for name, arguments in runs.items()}
    return {name: _finish(process, session, folder, name) for name, (process, session) in started.items()}


def _start(arguments: list[str], folder: Path, name: str) -> tuple[subprocess.Popen, str]:
    session = f"cts{uuid.uuid4().hex}"[:12]
    with (folder / f"{name}.log").open("w") as log:  # a file, not a pipe: parallel runs never block on output
        process = subprocess.Popen([*CHECK, *arguments, "--junitxml", str(folder / f"{name}.xml")],
                                   stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "SAGEMAKER_EMULATOR_SESSION": session})
    return process, session


def _finish(process: subprocess.Popen, session: str, folder: Path, name: str) -> Report:
    returncode = process.wait(timeout=RUN_TIMEOUT)
    output = (folder / f"{name}.log").read_text()
    if not (folder / f"{name}.xml").exists():
        pytest.fail(f"`check` ({name}) wrote no report:\n{output}", pytrace=False)
    outcomes = {}
    for case in ElementTree.parse(folder / f"{name}.xml").iter("testcase"):
        result = next(iter(case), None)  # <failure>, <error> or <skipped>; none when it passed
        status = "passed" if result is None else {"failure": "failed"}.get(result.tag, result.tag)
        message = "" if result is None else result.text or result.get("message", "")
        outcomes[case.get("name")] = Outcome(status, message)
    return Report(returncode, output, session, outcomes)
