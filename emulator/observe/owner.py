"""The owner process's side of observation: the request log, the socket the front's workers feed it through,
and the introspection routes the workers forward to (mounted on the owner's internal server)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask

from emulator.observe import channel
from emulator.observe.log import RequestLog
from emulator.observe.owner_app import owner_routes
from emulator.seam.worker_settings import RequestLogChannel

if TYPE_CHECKING:
    from emulator.containers.group import ContainerGroup


class Observer:
    def __init__(self, log: RequestLog | None, variants: Callable[[], list[tuple[str, "ContainerGroup"]]], state: str):
        """`variants`: (variant name, its containers) of every endpoint now; `state`: which state the owner keeps."""
        self.log = log
        self.app = Flask("sagemaker-emulator-introspection")  # a WSGI app for the owner's internal server
        self.app.register_blueprint(owner_routes(log, variants, state))
        self._folder: Path | None = None
        self._receiver: channel.Receiver | None = None

    def start(self) -> RequestLogChannel | None:
        """Starts receiving; returns where other processes send their invocations (None: the log is off)."""
        if self.log is None:
            return None
        if self._receiver is None:
            self._folder = Path(tempfile.mkdtemp(prefix="sagemaker-emulator-"))  # mode 0700: only this user
            self._receiver = channel.Receiver(str(self._folder / "requests.sock"), self.log.add).start()
        return RequestLogChannel(self._receiver.path, self.log.body_limit)

    def stop(self) -> None:
        receiver, self._receiver = self._receiver, None
        if receiver is not None:
            receiver.close()
            shutil.rmtree(self._folder, ignore_errors=True)
