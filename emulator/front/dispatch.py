"""One port for every AWS service a deploy script calls: the front's workers answer invocations themselves and
forward everything else to the owner process (emulator.seam.services says which service a request is for)."""

from __future__ import annotations

from typing import Callable, Iterable

from emulator.seam.owner import OwnerClient
from emulator.seam.services import RUNTIME, service_of


class Dispatch:
    """WSGI middleware of the front's workers: invocations stay here (`runtime_app`), everything else
    goes to the owner's internal server."""

    def __init__(self, runtime_app: Callable, owner: OwnerClient):
        self.runtime_app, self.owner = runtime_app, owner

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if service_of(environ) == RUNTIME or not self.owner.present:
            return self.runtime_app(environ, start_response)
        return self.owner.forward(environ, start_response)
