"""The package's layers (docs/architecture.md) hold: each folder imports only from the layers below it, the front
and the control plane never import each other, and only the settings modules and entry points read the environment."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "emulator"
# Bottom to top; a room may import a room of its own layer or of a layer below.
LAYERS = [
    {"errors", "settings", "shapes", "arns", "waiting", "parallel", "batches", "trace", "env_option", "__init__"},
    {"instances"},
    {"definition", "invocation"},
    {"seam", "transform"},
    {"aws"},
    {"artifacts"},
    {"multimodel"},
    {"containers"},
    {"observe", "capture"},
    {"control"},
    {"asynchronous"},
    {"front"},
    {"hosting", "export"},
    {"api"},
    {"cli", "pytest_plugin"},
]
RANK = {room: rank for rank, rooms in enumerate(LAYERS) for room in rooms}
# Entry points (a process's main, gunicorn's hooks, the API's redirected()) and the settings modules.
READS_ENVIRONMENT = {"settings.py", "seam/worker_settings.py", "export/transform_shard.py", "hosting/client_side.py"}


def room_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports() -> list[tuple[str, str, str]]:
    """(file, its room, the room it imports), for every import of an emulator module."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        room = relative.parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "emulator":
                targets = ([f"emulator.{alias.name}" for alias in node.names] if node.module == "emulator"
                           else [node.module])
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names if alias.name.split(".")[0] == "emulator"]
            else:
                continue
            found += [(str(relative), room, room_of(target)) for target in targets]
    return found


def test_every_room_has_a_layer():
    rooms = {path.relative_to(PACKAGE).parts[0].removesuffix(".py") for path in PACKAGE.rglob("*.py")}
    assert rooms - set(RANK) == set(), "add the new folder or module to LAYERS (and to docs/architecture.md)"


def test_no_import_runs_up_a_layer():
    upward = [f"{file} imports {target}" for file, room, target in imports()
              if target in RANK and RANK[target] > RANK[room]]
    assert upward == []


def test_the_front_and_the_control_plane_meet_only_in_the_seam():
    crossing = [f"{file} imports {target}" for file, room, target in imports()
                if {room, target} == {"front", "control"}]
    assert crossing == []


def test_only_settings_and_entry_points_read_the_environment():
    readers = {str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py") if "os.environ" in path.read_text()}
    assert readers <= READS_ENVIRONMENT
