"""Parallel runs (pytest-xdist, `--dist loadgroup`): the tests of a file that share a fixture wider than a test
stay on one worker, every other test goes wherever a worker is free, and the tests marked `serial` run last, on
one worker, once every other worker has finished.

A file's module-scoped fixtures (an emulator, a pipeline) are started once, by the worker that runs the tests
that use them. A test that starts all it needs itself (only function-scoped fixtures, and the session's cheap
ones every worker makes anyway) is a unit of its own, so a long file of such tests spreads over the workers
instead of leaving one of them with the tail of the run. Tests marked `serial` measure time or load the
machine on purpose; beside other tests their bounds would measure the neighbours, so they wait until they
have the machine to themselves.
"""

from __future__ import annotations

import statistics

import pytest
from xdist.scheduler import LoadGroupScheduling

from tests.time_report import recorded_seconds, without_group

SERIAL = "serial"  # the xdist group of the tests marked serial
# Session fixtures of this project that start nothing or next to nothing (each worker makes its own): sharing
# them does not tie a test to its file. Any other fixture wider than a test does.
PER_WORKER = {"docker_engine", "example_images", "arm64_image", "sagemaker_startup_timeout",
              "sagemaker_docker_host", "sagemaker_reuse", "sagemaker_endpoints"}
PLUGIN_PACKAGES = ("emulator", "contract_tests")  # this project's pytest plugins, whose fixtures start endpoints


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook turns the groups into node ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker(SERIAL):
            item.add_marker(pytest.mark.xdist_group(SERIAL))
        elif not item.get_closest_marker("xdist_group") and shares_a_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))


def shares_a_fixture(item: pytest.Item) -> bool:
    """Whether the test uses a fixture that outlives a test (other than PER_WORKER), from a test file, a conftest
    or this project's plugins: a module's emulator, a session's pipeline. pytest's and other plugins' own
    (tmp_path_factory, ...) start nothing."""
    definitions = getattr(item, "_fixtureinfo", None)
    if definitions is None:  # not a function (a doctest, a plugin's item): keep it with its file
        return True
    return any(fixture.scope != "function" and name not in PER_WORKER
               and (fixture.baseid or fixture.func.__module__.split(".")[0] in PLUGIN_PACKAGES)
               for name, fixtures in definitions.name2fixturedefs.items() for fixture in fixtures)


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getvalue("dist") == "loadgroup":
        return SerialLast(config, log)
    return None


class SerialLast(LoadGroupScheduling):
    """xdist's loadgroup scheduling, the longest work first, holding the serial group back: workers that run
    out of other work stop, and the last one left runs the serial group alone."""

    ordered = False

    def _assign_work_unit(self, node) -> None:
        if not self.ordered:  # the queue is complete at the first assignment
            self.ordered = True
            self.longest_first()
        parallel = next((group for group in self.workqueue if group != SERIAL), None)
        if parallel is not None:
            self.workqueue.move_to_end(parallel, last=False)
            super()._assign_work_unit(node)
        elif len(self.assigned_work) == 1:
            super()._assign_work_unit(node)
        elif any(not other.shutting_down for other in self.assigned_work if other is not node):
            node.shutdown()
        # else: every other worker is stopping; this one gets the serial group when they have gone

    def longest_first(self) -> None:
        """The work units by their tests' seconds in the last runs (tests/time_report.py), so a long file is not
        started last and left running alone; a test never timed counts as the mean. Without any report (a
        clean clone) xdist's own order stays: the units with most tests first."""
        seconds = recorded_seconds(self.config)
        if not seconds:
            return
        unknown = statistics.fmean(seconds.values())
        weight = {unit: sum(seconds.get(without_group(nodeid), unknown) for nodeid in tests)
                  for unit, tests in self.workqueue.items()}
        for unit in sorted(weight, key=weight.__getitem__, reverse=True):
            self.workqueue.move_to_end(unit)

    def remove_node(self, node) -> str | None:
        crashed = super().remove_node(node)
        if self.workqueue and len(self.assigned_work) == 1:
            (last,) = self.assigned_work
            if not last.shutting_down and self._pending_of(self.assigned_work[last]) <= 2:
                self._assign_work_unit(last)
        return crashed
