"""A schema check of Kubernetes objects against the `kubernetes` client's models (no cluster needed).

Every key must be a field of its model (a typo is an error, as with `kubectl --validate=strict`),
every value of the model's type, and the client's own validation (required fields, enums) must pass.
"""

from __future__ import annotations

import json
import re
from typing import Any

import kubernetes.client as models
from kubernetes.client import ApiClient

PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float), "object": object, "datetime": str}


def check(document: dict[str, Any]) -> None:
    """Raise AssertionError naming the path of the first problem."""
    api_version, kind = document.get("apiVersion", ""), document.get("kind", "")
    version = api_version.rsplit("/", 1)[-1]
    name = f"{version.capitalize()}{kind}"
    assert hasattr(models, name), f"{api_version} {kind}: no such kind in the kubernetes client"
    _walk(document, name, kind)
    ApiClient().deserialize(json.dumps(document), name, "application/json")  # required fields, enums


def _walk(value: Any, type_name: str, path: str) -> None:
    if match := re.fullmatch(r"(?:list|List)\[(.+)\]", type_name):
        assert isinstance(value, list), f"{path}: {value!r} is not a list"
        for index, item in enumerate(value):
            _walk(item, match.group(1), f"{path}[{index}]")
    elif match := re.fullmatch(r"(?:dict\(str, |Dict\[str, )(.+)[)\]]", type_name):
        assert isinstance(value, dict), f"{path}: {value!r} is not a mapping"
        for key, item in value.items():
            assert isinstance(key, str), f"{path}: key {key!r} is not a string"
            _walk(item, match.group(1), f"{path}.{key}")
    elif type_name in PRIMITIVES:
        assert isinstance(value, PRIMITIVES[type_name]), f"{path}: {value!r} is not a {type_name}"
    else:
        model = getattr(models, type_name)
        assert isinstance(value, dict), f"{path}: {value!r} is not a {type_name} mapping"
        fields = {json_key: attr for attr, json_key in model.attribute_map.items()}
        for key, item in value.items():
            assert key in fields, f"{path}.{key}: not a field of {type_name} (fields: {', '.join(sorted(fields))})"
            _walk(item, model.openapi_types[fields[key]], f"{path}.{key}")
