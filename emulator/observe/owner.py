"""The owner process's side of observation: the request log, the socket the front's workers feed it through,
and the internal HTTP server the workers forward /_emulator/ reads to."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from emulator.front.introspection import OWNER_URL_ENV
from emulator.observe import channel
from emulator.observe.log import RequestLog
from emulator.observe.owner_app import owner_routes
from emulator.observe.owner_server import OwnerServer

if TYPE_CHECKING:
    from emulator.endpoint import Endpoint


class Observer:
    def __init__(self, log: RequestLog | None, endpoints: Callable[[], list["Endpoint"]]):
        self.log, self._endpoints = log, endpoints
        self._folder: Path | None = None
        self._receiver: channel.Receiver | None = None
        self._server: OwnerServer | None = None

    def start(self) -> dict[str, str]:
        """Starts receiving and serving; returns the environment the front's workers need."""
        if self._server is None:
            self._server = OwnerServer(owner_routes(self.log, self._endpoints)).start()
            if self.log is not None:
                self._folder = Path(tempfile.mkdtemp(prefix="sagemaker-emulator-"))  # mode 0700: only this user
                self._receiver = channel.Receiver(str(self._folder / "requests.sock"), self.log.add).start()
        environment = {OWNER_URL_ENV: self._server.url}
        if self._receiver is not None:
            environment.update(channel.environment(self._receiver.path, self.log.body_limit))
        return environment

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()
        receiver, self._receiver = self._receiver, None
        if receiver is not None:
            receiver.close()
            shutil.rmtree(self._folder, ignore_errors=True)
