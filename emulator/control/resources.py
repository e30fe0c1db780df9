"""What every kind of resource shares: stored as `{"Describe": <the Describe response>, "Tags": [...], ...}`
under its kind (the ARN's resource type) and lower-cased name; found, refused or listed the same way."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Callable

from emulator.control import pagination
from emulator.control.errors import ValidationException, already_exists, not_found
from emulator.control.operations import operation
from emulator.control.plane import SPOKEN, ControlPlane, arn, key

DEFAULT_MAX_RESULTS = 10  # SageMaker's List* calls return 10 unless told otherwise
RESERVED_PREFIX = "aws:"  # AWS's own tags; no caller may set or delete one


def create(plane: ControlPlane, kind: str, name: str, describe: dict[str, Any], request: dict[str, Any],
           **internal: Any) -> dict[str, Any]:
    """Store a new resource; refused as SageMaker does when the name is taken."""
    document = {"Describe": describe, "Tags": list(request.get("Tags") or []), **internal}
    check_tag_keys([tag.get("Key", "") for tag in document["Tags"]])
    if not plane.store.insert(kind, key(name), document):
        raise already_exists(SPOKEN.get(kind, kind), arn(kind, name))
    return document


def check_tag_keys(keys: list[str]) -> None:
    """SageMaker refuses a tag key of AWS's own prefix, in any case."""
    for tag_key in keys:
        if tag_key.lower().startswith(RESERVED_PREFIX):
            raise ValidationException(f"System prefix '{RESERVED_PREFIX}' reserved for AWS usage in tag key: "
                                      f"{tag_key[:128]}. Fix: choose a key that does not begin with '{RESERVED_PREFIX}'.")


def find(plane: ControlPlane, kind: str, name: str) -> dict[str, Any]:
    document = plane.store.get(kind, key(name))
    if document is None:
        raise not_found(SPOKEN.get(kind, kind), arn(kind, name))
    return document


def save(plane: ControlPlane, kind: str, document: dict[str, Any], name: str) -> None:
    plane.store.put(kind, key(name), document)


def remove(plane: ControlPlane, kind: str, name: str) -> None:
    if not plane.store.delete(kind, key(name)):
        raise not_found(SPOKEN.get(kind, kind), arn(kind, name))


def register_describe_delete_list(kind: str, noun: str, summary: tuple[str, ...]) -> None:
    """Describe<noun>, Delete<noun> and List<noun>s for a kind whose request names it by `<noun>Name`
    and whose List answer holds `<noun>s` of the `summary` members."""
    name_member = f"{noun}Name"

    @operation(f"Describe{noun}")
    def describe(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
        return find(plane, kind, request[name_member])["Describe"]

    @operation(f"Delete{noun}")
    def delete(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
        remove(plane, kind, request[name_member])
        return {}

    @operation(f"List{noun}s")
    def list_all(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
        page, token = listing(plane, kind, request, name_field=name_member, members=summary)
        return {f"{noun}s": page, **({"NextToken": token} if token else {})}


def listing(plane: ControlPlane, kind: str, request: dict[str, Any], *, name_field: str, members: tuple[str, ...],
            status_field: str | None = None, kept: Callable[[dict[str, Any]], bool] = lambda item: True
            ) -> tuple[list[dict[str, Any]], str | None]:
    """The page of summaries a List* call asks for: NameContains, time and status filters, SortBy,
    SortOrder (Descending by default), MaxResults and NextToken; `kept(describe)`: the kind's own filters."""
    items = [document["Describe"] for document in plane.store.all(kind)]
    items = [item for item in items if _kept(item, request, name_field, status_field) and kept(item)]
    sort_by = request.get("SortBy", "CreationTime")
    field = {"Name": name_field, "Status": status_field}.get(sort_by, sort_by)
    order = request.get("SortOrder", "Descending")

    def sort_key(item: dict[str, Any]) -> tuple[Any, str]:
        value = item.get(field, 0) if sort_by == "CreationTime" else str(item.get(field, "")).lower()
        return value, item[name_field].lower()

    chosen, token = pagination.page(items, sort_key, token=request.get("NextToken"),
                                    size=request.get("MaxResults") or DEFAULT_MAX_RESULTS,
                                    descending=order == "Descending", order=f"{sort_by}:{order}")
    return [{member: item[member] for member in members if member in item} for item in chosen], token


def _kept(item: dict[str, Any], request: dict[str, Any], name_field: str, status_field: str | None) -> bool:
    contains = request.get("NameContains")
    if contains and contains.lower() not in item[name_field].lower():
        return False
    if status_field and request.get("StatusEquals") and item.get(status_field) != request["StatusEquals"]:
        return False
    for member, field, before in (("CreationTimeBefore", "CreationTime", True), ("CreationTimeAfter", "CreationTime", False),
                                  ("LastModifiedTimeBefore", "LastModifiedTime", True),
                                  ("LastModifiedTimeAfter", "LastModifiedTime", False)):
        if member in request and field in item:
            limit = _seconds(request[member], member)
            if (item[field] >= limit) if before else (item[field] <= limit):
                return False
    return True


def _seconds(value: Any, member: str) -> float:
    try:
        seconds = float(value) if isinstance(value, (int, float)) else \
            datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError, OSError):
        seconds = math.nan
    if not math.isfinite(seconds):
        raise ValidationException(f"Value '{str(value)[:40]}' at '{member[:1].lower() + member[1:]}' is not a timestamp. "
                                  "Fix: give seconds since the epoch or an ISO 8601 time.")
    return seconds
