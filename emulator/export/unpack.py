"""The init container of an exported pod: unpack a model archive into /opt/ml/model, checked as the emulator does.

    python3 -m emulator.export.unpack ARCHIVE FOLDER
"""

from __future__ import annotations

import sys
from pathlib import Path

from emulator.artifacts import extract
from emulator.errors import ArtifactError


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python3 -m emulator.export.unpack ARCHIVE FOLDER", file=sys.stderr)
        return 2
    try:
        extract(Path(args[0]), Path(args[1]))
    except ArtifactError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"unpacked {args[0]} into {args[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
