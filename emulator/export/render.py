"""Manifests as one YAML stream, each object under its comment lines."""

from __future__ import annotations

from typing import Any

import yaml

from emulator.export.kubernetes import Manifest


class _PlainDumper(yaml.SafeDumper):
    """Repeated values written out again (`&id001` anchors make a manifest hard to read); files as blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    """Several lines (a ConfigMap's file) as a literal block, as written."""
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_PlainDumper.add_representer(str, _text)


def to_yaml(manifests: list[Manifest], header: list[str] = ()) -> str:
    documents = []
    for manifest in manifests:
        comment = "".join(f"# {line}\n" for line in manifest.notes)
        documents.append(comment + yaml.dump(manifest.body, Dumper=_PlainDumper, sort_keys=False, width=120))
    preface = "".join(f"# {line}\n" for line in header)
    return preface + "---\n" + "---\n".join(documents)
