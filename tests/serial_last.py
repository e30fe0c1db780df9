"""Parallel runs (pytest-xdist, `--dist loadgroup`): a test file stays on one worker, and the tests marked
`serial` run last, on one worker, once every other worker has finished.

A file's module-scoped fixtures (an emulator, a pipeline) are started once, by the worker that runs the
file. Tests marked `serial` measure time or load the machine on purpose; beside other tests their bounds
would measure the neighbours, so they wait until they have the machine to themselves.
"""

from __future__ import annotations

import pytest
from xdist.scheduler import LoadGroupScheduling

SERIAL = "serial"  # the xdist group of the tests marked serial


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook turns the groups into node ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker(SERIAL):
            item.add_marker(pytest.mark.xdist_group(SERIAL))
        elif not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getvalue("dist") == "loadgroup":
        return SerialLast(config, log)
    return None


class SerialLast(LoadGroupScheduling):
    """xdist's loadgroup scheduling, holding the serial group back: workers that run out of other work
    stop, and the last one left runs the serial group alone."""

    def _assign_work_unit(self, node) -> None:
        parallel = next((group for group in self.workqueue if group != SERIAL), None)
        if parallel is not None:
            self.workqueue.move_to_end(parallel, last=False)
            super()._assign_work_unit(node)
        elif len(self.assigned_work) == 1:
            super()._assign_work_unit(node)
        elif any(not other.shutting_down for other in self.assigned_work if other is not node):
            node.shutdown()
        # else: every other worker is stopping; this one gets the serial group when they have gone

    def remove_node(self, node) -> str | None:
        crashed = super().remove_node(node)
        if self.workqueue and len(self.assigned_work) == 1:
            (last,) = self.assigned_work
            if not last.shutting_down and self._pending_of(self.assigned_work[last]) <= 2:
                self._assign_work_unit(last)
        return crashed
