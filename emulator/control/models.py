"""CreateModel, DescribeModel, DeleteModel, ListModels.

A model is checked at creation as the emulator will run it (the same rules as a definition file):
a request SageMaker would take but the emulator cannot run is refused now, naming the member and the fix.
"""

from __future__ import annotations

from typing import Any

from emulator.control import resources
from emulator.control.errors import ValidationException
from emulator.control.operations import operation
from emulator.control.plane import MODEL, ControlPlane, arn, now
from emulator.definition import EndpointDefinition, parse
from emulator.errors import DefinitionError

SOURCE = "CreateModel"


def runnable(model: dict[str, Any], endpoint: str, startup_timeout: float | None = None,
             source: str | None = None, instance_type: str | None = None) -> EndpointDefinition:
    """The containers `endpoint` runs for a model (its Describe document), as a definition file would say them;
    `source`: the file a preloaded model came from (its messages and container reuse name it); `instance_type`:
    the variant's."""
    request = {name: value for name, value in model.items() if name not in ("ModelArn", "CreationTime")}
    if startup_timeout is not None:
        request["ContainerStartupHealthCheckTimeoutInSeconds"] = startup_timeout
    if instance_type is not None:
        request["InstanceType"] = instance_type
    return parse({**request, "ModelName": endpoint}, source=source or SOURCE)[0]


@operation("CreateModel")
def create_model(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    name = request["ModelName"]
    describe = {member: value for member, value in request.items() if member != "Tags"}
    try:
        runnable(describe, name)
    except DefinitionError as error:
        raise ValidationException(f"{error.field or 'the request'}: {error.problem} Fix: {error.fix}") from None
    describe.update(ModelArn=arn(MODEL, name), CreationTime=now())
    resources.create(plane, MODEL, name, describe, request)
    return {"ModelArn": describe["ModelArn"]}


resources.register_describe_delete_list(MODEL, "Model", ("ModelName", "ModelArn", "CreationTime"))
