"""The copies of one container group behind one name: a variant's instances, or an inference component's copies.

Each copy is the whole chain on ports of its own (its own ContainerGroup). The fleet starts them together,
adds and removes copies while the others serve, and follows each copy's health from its supervisor's events:
a copy whose container stopped leaves the set the front routes to until the supervisor has it answering its
pings again, so requests go to the copies that answer.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable

from emulator.containers.group import ContainerGroup, Events
from emulator.errors import EmulatorError
from emulator.parallel import map_in_threads

MakeGroup = Callable[[Events], ContainerGroup]  # one copy's group, which reports its containers' events to `Events`
Started = Callable[[str, ContainerGroup], None]  # (copy name, its group): a new copy is healthy, not yet routed to


def instance_name() -> str:
    """An EC2-style instance id, as SageMaker names an endpoint's instances in its log streams."""
    return "i-" + secrets.token_hex(9)[:17]


def copy_namer(prefix: str) -> Callable[[], str]:
    """Names copy-1, copy-2, ... for an inference component's copies (never one twice)."""
    numbers = iter(range(1, 1 << 30))
    return lambda: f"{prefix}-{next(numbers)}"


class Fleet:
    def __init__(self, make: MakeGroup, events: Events | None = None, *, on_change: Callable[[], None] = lambda: None,
                 started: Started = lambda name, group: None, name_copy: Callable[[], str] = instance_name):
        """`make(events)`: a new copy's group; `events`: where the copies' container events go (the request log),
        each container named `<copy>/<hostname>`; `on_change()`: the copies that serve changed (publish them);
        `started(name, group)`: a copy passed its pings (ship its logs). A fleet of one copy names its containers
        as a lone group does; once it has more, events name the copy too."""
        self._make, self._events, self._started, self._name_copy = make, events or (lambda *event: None), started, name_copy
        self.on_change = on_change
        self._copies: dict[str, ContainerGroup] = {}  # in the order they were added
        self._adding: list[ContainerGroup] = []  # starting, not yet routed to
        self._down: set[tuple[str, str]] = set()  # (copy, container hostname) seen stopped, not answering again yet
        self._lock = threading.Lock()
        self._scaling = threading.Lock()  # one change of the count at a time
        self._named = name_copy is not instance_name  # an inference component's copies are always named

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._copies)

    def copies(self) -> list[tuple[str, ContainerGroup]]:
        with self._lock:
            return list(self._copies.items())

    def serving(self) -> list[tuple[str, ContainerGroup]]:
        """The copies to route to: those whose containers all run; every copy when none does (its requests then
        fail as a dead container's do, until the supervisor has it back)."""
        with self._lock:
            down = {copy for copy, _ in self._down}
            up = [(name, group) for name, group in self._copies.items() if name not in down]
            return up or list(self._copies.items())

    def scale(self, count: int, drain: Callable[[list[ContainerGroup]], None]) -> None:
        """Run `count` copies: new ones start together beside the serving ones and are routed to once healthy; removed ones
        are first taken out of the routes, then `drain`ed (left to finish what they answer) and stopped. When a new
        copy fails, none of the new ones stays (as SageMaker fails the endpoint's creation)."""
        with self._scaling:
            if count > self.count:
                self._add(count - self.count)
            elif count < self.count:
                with self._lock:
                    leaving = list(self._copies)[count:]
                    groups = [self._copies.pop(name) for name in leaving]
                    self._down = {(copy, host) for copy, host in self._down if copy not in leaving}
                self.on_change()
                drain(groups)

    def stop(self, **options: object) -> None:
        """Stop every copy, those starting included (their start gives up at once)."""
        with self._lock:
            groups = [*self._copies.values(), *self._adding]
        map_in_threads(lambda group: group.stop(**options), groups)

    def _add(self, count: int) -> None:
        self._named = self._named or self.count + count > 1
        names = [self._name_copy() for _ in range(count)]
        groups = [self._make(self._events_of(name)) for name in names]
        with self._lock:
            self._adding.extend(groups)
        try:
            failures = [failure for failure in map_in_threads(_start, groups) if failure]
        finally:
            with self._lock:
                self._adding = [group for group in self._adding if group not in groups]
        if failures:
            map_in_threads(lambda group: group.stop(timeout=0), groups)
            raise EmulatorError(" ".join(dict.fromkeys(failures)))
        for name, group in zip(names, groups):
            self._started(name, group)
        with self._lock:
            self._copies.update(zip(names, groups))
        self.on_change()

    def _events_of(self, copy: str) -> Events:
        def events(endpoint: str, hostname: str, event: str, detail: str) -> None:
            self._events(endpoint, f"{copy}/{hostname}" if self._named else hostname, event, detail)
            self._seen(copy, hostname, event)
        return events

    def _seen(self, copy: str, hostname: str, event: str) -> None:
        """A supervisor's event: a stopped container takes its copy out of the routes; its pings bring it back."""
        with self._lock:
            if copy not in self._copies:
                return
            before = set(self._down)
            if event == "exited":
                self._down.add((copy, hostname))
            elif event == "healthy":
                self._down.discard((copy, hostname))
            changed = before != self._down
        if changed:
            self.on_change()


def _start(group: ContainerGroup) -> str | None:
    try:
        group.start()
    except EmulatorError as failure:
        return str(failure)
    return None
