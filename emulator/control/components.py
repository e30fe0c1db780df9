"""CreateInferenceComponent, DescribeInferenceComponent, ListInferenceComponents, UpdateInferenceComponent,
UpdateInferenceComponentRuntimeConfig and DeleteInferenceComponent. Their copies are run by
emulator.control.component_copies, under the lifecycle.

A component records what it runs (`Model`: its model's Describe, or one made of its Container; `Specification`;
`CopyCount`), so it runs, restarts and describes itself even after its model is deleted. An update in progress
waits in `Pending` until its copies serve.
"""

from __future__ import annotations

from typing import Any

from emulator.control import resources
from emulator.control.errors import ValidationException
from emulator.control.lifecycle import settled
from emulator.control.operations import operation
from emulator.control.plane import INFERENCE_COMPONENT as COMPONENT, MODEL, ControlPlane, arn, key, now
from emulator.control.records import DeployedVariant, EndpointRecord, EndpointRecords

IN_PROGRESS = ("Creating", "Updating")
SUMMARY = ("InferenceComponentName", "InferenceComponentArn", "EndpointName", "EndpointArn", "VariantName",
           "InferenceComponentStatus", "CreationTime", "LastModifiedTime")


@operation("CreateInferenceComponent")
def create_inference_component(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    name, endpoint_name = request["InferenceComponentName"], request["EndpointName"]
    endpoint = EndpointRecords(plane.store).find(endpoint_name)
    variant = _hosting_variant(endpoint, request.get("VariantName"))
    specification = _one_specification(request)
    if "RuntimeConfig" not in request:
        raise ValidationException("Value null at 'runtimeConfig' failed to satisfy constraint: Member must not be null. "
                                  "Fix: give RuntimeConfig={'CopyCount': N}.")
    created = now()
    describe = {"InferenceComponentName": name, "InferenceComponentArn": arn(COMPONENT, name),
                "EndpointName": endpoint.name, "EndpointArn": endpoint.arn,
                "VariantName": variant.name, "InferenceComponentStatus": "Creating",
                "CreationTime": created, "LastModifiedTime": created}
    model, source = _model_of(plane, specification)
    resources.create(plane, COMPONENT, name, describe, request, Specification=specification, Model=model,
                     Source=source, CopyCount=request["RuntimeConfig"]["CopyCount"],
                     InstanceType=variant.instance_type, Pending=None)
    plane.lifecycle.components.create(name)
    return {"InferenceComponentArn": describe["InferenceComponentArn"]}


@operation("DescribeInferenceComponent")
def describe_inference_component(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    name = request["InferenceComponentName"]
    document = (settled(plane, lambda: plane.store.get(COMPONENT, key(name)),
                        lambda found: found["Describe"]["InferenceComponentStatus"] not in IN_PROGRESS,
                        plane.describe_wait) if plane.describe_wait else None) or resources.find(plane, COMPONENT, name)
    describe = dict(document["Describe"])
    specification = {member: value for member, value in document["Specification"].items() if member != "Container"}
    container = document["Specification"].get("Container")
    if container is not None:
        specification["Container"] = {
            "DeployedImage": {"SpecifiedImage": container["Image"], "ResolvedImage": container["Image"],
                              "ResolutionTime": describe["CreationTime"]},
            **{member: container[member] for member in ("ArtifactUrl", "Environment") if member in container}}
    running = plane.lifecycle.components.copy_count(name)
    desired = (document.get("Pending") or {}).get("CopyCount", document["CopyCount"])
    return {**describe, "Specification": specification,
            "RuntimeConfig": {"DesiredCopyCount": desired, "CurrentCopyCount": running}}


@operation("ListInferenceComponents")
def list_inference_components(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    wanted = {field: request[member] for member, field in (("EndpointNameEquals", "EndpointName"),
                                                          ("VariantNameEquals", "VariantName")) if member in request}
    page, token = resources.listing(plane, COMPONENT, request, name_field="InferenceComponentName",
                                    status_field="InferenceComponentStatus", members=SUMMARY,
                                    kept=lambda item: all(item.get(f) == v for f, v in wanted.items()))
    return {"InferenceComponents": page, **({"NextToken": token} if token else {})}


@operation("UpdateInferenceComponent")
def update_inference_component(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    document = _in_service(plane, request["InferenceComponentName"])
    pending: dict[str, Any] = {}
    if "Specification" in request or "Specifications" in request:
        pending["Specification"] = _one_specification(request)
        pending["Model"], pending["Source"] = _model_of(plane, pending["Specification"])
    if "RuntimeConfig" in request:
        pending["CopyCount"] = request["RuntimeConfig"]["CopyCount"]
    return _update(plane, document, pending)


@operation("UpdateInferenceComponentRuntimeConfig")
def update_runtime_config(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    document = _in_service(plane, request["InferenceComponentName"])
    return _update(plane, document, {"CopyCount": request["DesiredRuntimeConfig"]["CopyCount"]})


@operation("DeleteInferenceComponent")
def delete_inference_component(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    name = request["InferenceComponentName"]
    document = resources.find(plane, COMPONENT, name)
    document["Describe"].update(InferenceComponentStatus="Deleting", LastModifiedTime=now())
    resources.save(plane, COMPONENT, document, name)
    plane.lifecycle.components.delete(name)
    return {}


def _update(plane: ControlPlane, document: dict[str, Any], pending: dict[str, Any]) -> dict[str, Any]:
    describe = document["Describe"]
    document["Pending"] = pending
    describe.update(InferenceComponentStatus="Updating", LastModifiedTime=now())
    resources.save(plane, COMPONENT, document, describe["InferenceComponentName"])
    plane.lifecycle.components.update(describe["InferenceComponentName"])
    return {"InferenceComponentArn": describe["InferenceComponentArn"]}


def _hosting_variant(endpoint: EndpointRecord, variant_name: str | None) -> DeployedVariant:
    """The endpoint's variant that takes the component: it must host components (its config gave it no model)."""
    if endpoint.status != "InService":
        raise ValidationException(f"Endpoint {endpoint.name} is {endpoint.status}: an inference component can be "
                                  "created on an InService endpoint only. Fix: wait for it.")
    known = ", ".join(variant.name for variant in endpoint.deployed.variants)
    if variant_name is None:
        raise ValidationException("Value null at 'variantName': name the endpoint's production variant that hosts the "
                                  f"inference component (its variants: {known}).")
    variant = endpoint.deployed.variant(variant_name)
    if variant is None:
        raise ValidationException(f"Endpoint {endpoint.name} has no production variant named {variant_name}; its "
                                  f"variants are: {known}.")
    if variant.model is not None:
        raise ValidationException(f"Variant {variant_name} of endpoint {endpoint.name} hosts model "
                                  f"{variant.model['ModelName']}, not inference components. Fix: create the endpoint "
                                  "from an endpoint configuration whose variant has no ModelName.")
    return variant


def _one_specification(request: dict[str, Any]) -> dict[str, Any]:
    """The component's Specification: ModelName or Container, and ComputeResourceRequirements; not adapters."""
    specifications = request.get("Specifications")
    if specifications is not None and "Specification" in request:
        raise ValidationException("Specify either Specification or Specifications, not both.")
    if specifications is not None and len(specifications) > 1:
        raise ValidationException("Specifications with one specification per instance type are not emulated: an "
                                  "endpoint here runs one instance type per variant. Fix: give one Specification.")
    specification = (specifications or [None])[0] if specifications is not None else request.get("Specification")
    if specification is None:
        raise ValidationException("Value null at 'specification' failed to satisfy constraint: Member must not be "
                                  "null. Fix: give Specification with ModelName or Container.")
    if specification.get("BaseInferenceComponentName"):
        raise ValidationException(
            "BaseInferenceComponentName (an adapter on a base inference component) is not emulated: SageMaker loads "
            "an adapter into the base component's running container through that container's own adapter API, "
            "which the emulator cannot reproduce for every container. Fix: deploy the adapted model as a component "
            "of its own (ModelName or Container), or test adapters on SageMaker.")
    has_model, has_container = bool(specification.get("ModelName")), bool(specification.get("Container"))
    if has_model == has_container:
        raise ValidationException("An inference component's Specification needs exactly one of ModelName and "
                                  "Container.")
    if "ComputeResourceRequirements" not in specification:
        raise ValidationException("Value null at 'specification.computeResourceRequirements' failed to satisfy "
                                  "constraint: Member must not be null. Fix: give ComputeResourceRequirements with at "
                                  "least MinMemoryRequiredInMb.")
    if has_container and not specification["Container"].get("Image"):
        raise ValidationException("Value null at 'specification.container.image': the emulator runs the container's "
                                  "image. Fix: give Container.Image, or ModelName.")
    return specification


def _model_of(plane: ControlPlane, specification: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """What the copies run: the named model's Describe (and the file it came from), or one of the Container."""
    if specification.get("ModelName"):
        model = resources.find(plane, MODEL, specification["ModelName"])
        return model["Describe"], model.get("Source")
    container = specification["Container"]
    primary = {"Image": container["Image"], **({"ModelDataUrl": container["ArtifactUrl"]} if "ArtifactUrl" in container
                                              else {}), "Environment": container.get("Environment") or {}}
    return {"ModelName": "component", "PrimaryContainer": primary}, None


def _in_service(plane: ControlPlane, name: str) -> dict[str, Any]:
    document = resources.find(plane, COMPONENT, name)
    status = document["Describe"]["InferenceComponentStatus"]
    if status != "InService":
        raise ValidationException(f'Cannot update inference component "{arn(COMPONENT, name)}" in status {status}.'
                                  + (" Fix: a Failed inference component can only be deleted." if status == "Failed"
                                     else " Fix: wait until it is InService."))
    return document

