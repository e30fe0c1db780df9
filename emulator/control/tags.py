"""AddTags, ListTags, DeleteTags on any resource of the store, found by its ARN."""

from __future__ import annotations

import re
from typing import Any

from emulator.control import pagination, resources
from emulator.control.errors import ValidationException, not_found
from emulator.control.operations import operation
from emulator.control.plane import SPOKEN, ControlPlane, key

MAX_TAGS = 50
RESOURCE_ARN = re.compile(r"(arn:aws[a-z-]*:sagemaker:[^:]*:[^:]*:([a-z-]+)/)(.+)")


@operation("AddTags")
def add_tags(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    resources.check_tag_keys([tag["Key"] for tag in request["Tags"]])
    kind, name, document = _resource(plane, request["ResourceArn"])
    tags = {tag["Key"]: tag for tag in document["Tags"]}
    tags.update({tag["Key"]: tag for tag in request["Tags"]})
    if len(tags) > MAX_TAGS:
        raise ValidationException(f"A resource may have at most {MAX_TAGS} tags; this request would give it {len(tags)}. "
                                  "Fix: delete some with DeleteTags first.")
    document["Tags"] = list(tags.values())
    resources.save(plane, kind, document, name)
    return {"Tags": document["Tags"]}


@operation("ListTags")
def list_tags(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    _, _, document = _resource(plane, request["ResourceArn"])
    # In key order: a page's token is the last key it held, a place no other tag's change moves.
    page, token = pagination.page(document["Tags"], lambda tag: (tag["Key"],), token=request.get("NextToken"),
                                  size=request.get("MaxResults") or MAX_TAGS, order="Key")
    return {"Tags": page, **({"NextToken": token} if token else {})}


@operation("DeleteTags")
def delete_tags(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    resources.check_tag_keys(request["TagKeys"])
    kind, name, document = _resource(plane, request["ResourceArn"])
    document["Tags"] = [tag for tag in document["Tags"] if tag["Key"] not in request["TagKeys"]]
    resources.save(plane, kind, document, name)
    return {}


def _resource(plane: ControlPlane, resource_arn: str) -> tuple[str, str, dict[str, Any]]:
    match = RESOURCE_ARN.fullmatch(resource_arn)
    if match is None:
        raise ValidationException(f"Value '{resource_arn[:200]}' at 'resourceArn' is not the ARN of a SageMaker resource. "
                                  "Fix: pass the ModelArn, EndpointConfigArn, EndpointArn (...) a Create or Describe call returned.")
    prefix, kind, name = match.groups()
    document = plane.store.get(kind, key(name))
    # The name alone does not find it: the ARN's account and region must be the resource's own.
    if document is None or f"{prefix}{name.lower()}" not in document["Describe"].values():
        raise not_found(SPOKEN.get(kind, kind), resource_arn[:256])
    return kind, name, document
