"""How an invocation gets its model loaded: in the owner process from its model manager, in a front worker by
asking the owner over its internal server (see owner_routes)."""

from __future__ import annotations

from typing import Any

import urllib3

from emulator.multimodel import registry
from emulator.multimodel.manager import Loaded
from emulator.invocation.outcomes import Hop, InvocationFailed, ModelLoadFailed, ModelNotFound, ModelNotReady
from emulator.seam.owner import OwnerClient, OwnerUnreachable

ENSURE_PATH = "/_emulator/multimodel/ensure"
# The owner gives up on a load at its load timeout; this only guards against an owner that hangs.
OWNER_TIMEOUT = urllib3.Timeout(connect=5.0, read=600.0)
_FAILURES = {cls.kind: cls for cls in (ModelNotFound, ModelLoadFailed, ModelNotReady)}


class ModelLoader:
    def __init__(self, owner: OwnerClient | None = None):
        """`owner`: how a front worker reaches the owner process (None: in the owner itself)."""
        self.owner = owner

    def ensure(self, endpoint: str, url: str, target: str, reload: bool = False) -> Loaded:
        """The model `target` loaded in the container at `url`; raises the failure outcomes of ModelManager."""
        manager = registry.manager_for(url)
        if manager is not None:
            return manager.ensure(target, reload)
        if self.owner is None or not self.owner.present:
            raise ModelLoadFailed(endpoint, target, 0, "no model manager runs for this container in this process")
        question = {"endpoint": endpoint, "url": url, "target": target, "reload": reload}
        try:
            return loaded_from_dict(self.owner.ask(ENSURE_PATH, question, OWNER_TIMEOUT))
        except OwnerUnreachable as exc:
            raise ModelLoadFailed(endpoint, target, 0, str(exc)) from None


def loaded_to_dict(loaded: Loaded) -> dict[str, Any]:
    return {"model_name": loaded.model_name, "hops": [hop.to_dict() for hop in loaded.hops]}


def failure_to_dict(failure: InvocationFailed) -> dict[str, Any]:
    return {"failure": {"kind": failure.kind, "reason": failure.reason()}}


def loaded_from_dict(answer: dict[str, Any]) -> Loaded:
    """The owner's answer: the model loaded, or the failure outcome it raised (raised here again)."""
    if "failure" in answer:
        raise _FAILURES[answer["failure"]["kind"]](**answer["failure"]["reason"])
    return Loaded(answer["model_name"], [Hop(**hop) for hop in answer["hops"]])


