"""Which models a multi-model container has loaded, least recently used first."""

from __future__ import annotations

from collections import OrderedDict


class LoadedModels:
    def __init__(self, budget: int | None):
        """`budget`: at most this many loaded at once (None: no limit but the container's own, its 507s)."""
        self.budget = budget
        self._order: OrderedDict[str, str] = OrderedDict()  # model name -> its TargetModel, least recent first

    def __contains__(self, name: str) -> bool:
        return name in self._order

    def __len__(self) -> int:
        return len(self._order)

    def touch(self, name: str) -> None:
        """`name` was just used."""
        self._order.move_to_end(name)

    def add(self, name: str, target: str) -> None:
        self._order[name] = target
        self._order.move_to_end(name)

    def remove(self, name: str) -> None:
        self._order.pop(name, None)

    def least_recent(self, sparing: str | None = None) -> tuple[str, str] | None:
        """(name, TargetModel) of the least recently used model other than `sparing`, or None."""
        return next(((name, target) for name, target in self._order.items() if name != sparing), None)

    def over_budget(self, adding: int = 1) -> bool:
        """Whether loading `adding` more would exceed the budget."""
        return self.budget is not None and len(self._order) + adding > self.budget

    def targets(self) -> list[str]:
        """The TargetModels loaded, least recently used first."""
        return list(self._order.values())
