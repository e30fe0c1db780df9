"""`--env KEY=VALUE` (repeatable): environment given on the command line to images that need it, such as
AWS's framework containers (`SAGEMAKER_PROGRAM=inference.py`), for `check`, `parity`, `transform --image`
and the contract suite's `--sagemaker-env`. Imports nothing heavy: pytest reads it in every run."""

from __future__ import annotations

import argparse


def env_entry(text: str) -> str:
    """argparse's (and pytest's) type for one entry: refuses what is not KEY=VALUE."""
    key, equals, _ = text.partition("=")
    if not equals or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE (e.g. --env SAGEMAKER_PROGRAM=inference.py)")
    return text


def env_mapping(entries: list[str] | None) -> dict[str, str]:
    """The entries as a mapping; a key given twice keeps its last value."""
    return dict(entry.split("=", 1) for entry in entries or [])
