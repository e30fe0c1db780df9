"""The model managers of the multi-model containers this process owns, by the container's URL."""

from __future__ import annotations

import threading

from emulator.multimodel.manager import ModelManager

_managers: dict[str, ModelManager] = {}
_lock = threading.Lock()


def register(manager: ModelManager) -> None:
    with _lock:
        _managers[manager.url] = manager


def unregister(manager: ModelManager) -> None:
    with _lock:
        if _managers.get(manager.url) is manager:
            del _managers[manager.url]


def manager_for(url: str) -> ModelManager | None:
    with _lock:
        return _managers.get(url)
