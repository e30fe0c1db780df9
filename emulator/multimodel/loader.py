"""How an invocation gets its model loaded: in the owner process from its model manager, in a front worker by
asking the owner over its internal server (see owner_routes)."""

from __future__ import annotations

import json
import os
from typing import Any

import urllib3

from emulator.front.dispatch import CONTROL_URL_ENV
from emulator.multimodel import registry
from emulator.multimodel.manager import Loaded
from emulator.invocation.outcomes import Hop, InvocationFailed, ModelLoadFailed, ModelNotFound, ModelNotReady

ENSURE_PATH = "/_emulator/multimodel/ensure"
# The owner gives up on a load at its load timeout; this only guards against an owner that hangs.
OWNER_TIMEOUT = urllib3.Timeout(connect=5.0, read=600.0)
_FAILURES = {cls.kind: cls for cls in (ModelNotFound, ModelLoadFailed, ModelNotReady)}


class ModelLoader:
    def __init__(self, control_url: str | None = None):
        self.control_url = control_url or os.environ.get(CONTROL_URL_ENV)
        self._pool: urllib3.HTTPConnectionPool | None = None

    def ensure(self, endpoint: str, url: str, target: str, reload: bool = False) -> Loaded:
        """The model `target` loaded in the container at `url`; raises the failure outcomes of ModelManager."""
        manager = registry.manager_for(url)
        if manager is not None:
            return manager.ensure(target, reload)
        if not self.control_url:
            raise ModelLoadFailed(endpoint, target, 0, "no model manager runs for this container in this process")
        return self._ask_owner(endpoint, url, target, reload)

    def _ask_owner(self, endpoint: str, url: str, target: str, reload: bool) -> Loaded:
        if self._pool is None:  # per worker process: created after gunicorn's fork
            self._pool = urllib3.connection_from_url(self.control_url, maxsize=64, block=False)
        body = json.dumps({"endpoint": endpoint, "url": url, "target": target, "reload": reload}).encode()
        try:
            response = self._pool.urlopen("POST", ENSURE_PATH, body=body, headers={"Content-Type": "application/json"},
                                          timeout=OWNER_TIMEOUT, retries=False)
            answer = json.loads(response.data)
        except (urllib3.exceptions.HTTPError, ValueError) as exc:
            raise ModelLoadFailed(endpoint, target, 0, f"the emulator's owner process did not answer ({exc})") from None
        return loaded_from_dict(answer)


def loaded_to_dict(loaded: Loaded) -> dict[str, Any]:
    return {"model_name": loaded.model_name, "hops": [hop.to_dict() for hop in loaded.hops]}


def failure_to_dict(failure: InvocationFailed) -> dict[str, Any]:
    return {"failure": {"kind": failure.kind, "reason": failure.reason()}}


def loaded_from_dict(answer: dict[str, Any]) -> Loaded:
    """The owner's answer: the model loaded, or the failure outcome it raised (raised here again)."""
    if "failure" in answer:
        raise _FAILURES[answer["failure"]["kind"]](**answer["failure"]["reason"])
    return Loaded(answer["model_name"], [Hop(**hop) for hop in answer["hops"]])


