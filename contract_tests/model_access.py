"""Can the image's USER read the model as SageMaker lays it out?

SageMaker starts the container as the image's USER (as `docker run` does) with the model unpacked read-only at
/opt/ml/model. Who owns the unpacked files there is not documented; the check assumes root, the owner of what a
service unpacks, with the archive's modes (*unconfirmed*). So a non-root user reads a file only when the archive
lets everyone read it, or root's group when the user is in group 0. The user is resolved as Docker's runtime
resolves it, from the image's /etc/passwd and /etc/group: a name the image does not list cannot start at all,
and a numeric uid it does not list runs in group 0.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

ROOT_GROUP = 0
PASSWD, GROUP = "/etc/passwd", "/etc/group"
READ, TRAVERSE = 0o4, 0o1


class UnknownUser(ValueError):
    """The image's USER (or its group) names no entry of the image's own files: Docker cannot start it."""


@dataclass(frozen=True)
class Identity:
    user: str  # as the image's USER says it
    uid: int
    gids: frozenset[int]  # its primary group and those /etc/group lists it in

    @property
    def is_root(self) -> bool:
        return self.uid == 0

    def describe(self) -> str:
        return f"USER {self.user} (uid {self.uid}, groups {', '.join(map(str, sorted(self.gids)))})"


def identity(user: str, passwd: str | None, group: str | None) -> Identity:
    """`user`: the image's USER (`name`, `uid`, `name:group`, `uid:gid`; "" is root); the image's files' text."""
    if not user:
        return Identity("root", 0, frozenset({ROOT_GROUP}))
    name, _, group_spec = user.partition(":")
    accounts = _table(passwd)  # name -> (name, x, uid, gid, ...)
    entry = accounts.get(name) if not _is_id(name) else next(
        (fields for fields in accounts.values() if fields[2] == name), None)
    if entry is None and not _is_id(name):
        raise UnknownUser(f"USER {user}: the image's {PASSWD} has no user {name!r}")
    uid = int(name) if _is_id(name) else int(entry[2])
    groups = _table(group)
    if group_spec:
        if _is_id(group_spec):
            primary = int(group_spec)
        elif group_spec in groups:
            primary = int(groups[group_spec][2])
        else:
            raise UnknownUser(f"USER {user}: the image's {GROUP} has no group {group_spec!r}")
    else:
        primary = int(entry[3]) if entry and _is_id(entry[3]) else ROOT_GROUP
    login = entry[0] if entry else None
    member_of = {int(fields[2]) for fields in groups.values()
                 if login and len(fields) > 3 and login in fields[3].split(",")}
    return Identity(user, uid, frozenset({primary, *member_of}))


def _table(text: str | None) -> dict[str, list[str]]:
    """The entries of a passwd or group file, by name; lines that are not entries are skipped."""
    rows = [line.split(":") for line in (text or "").splitlines() if line and not line.startswith("#")]
    return {fields[0]: fields for fields in rows if len(fields) >= 4 and _is_id(fields[2])}


def _is_id(text: str) -> bool:
    return text.isascii() and text.isdigit()


def unreadable(folder: Path, reader: Identity) -> list[str]:
    """The model's files and folders `reader` cannot read (folders: list and enter), as `path (mode 0600)`,
    relative to the model folder; a folder it cannot enter is listed, not what is in it."""
    if reader.is_root:
        return []
    found: list[str] = []
    for root, folders, files in os.walk(folder):
        for name in sorted(folders):
            path = Path(root, name)
            if not path.is_symlink() and not _allows(path, reader, READ | TRAVERSE):
                found.append(_shown(path, folder))
                folders.remove(name)  # its content is out of reach anyway
        for name in sorted(files):
            path = Path(root, name)
            if not path.is_symlink() and not _allows(path, reader, READ):
                found.append(_shown(path, folder))
    return found


def _allows(path: Path, reader: Identity, wanted: int) -> bool:
    mode = path.lstat().st_mode
    granted = (mode >> 3) & 0o7 if ROOT_GROUP in reader.gids else mode & 0o7  # root owns it: group or others
    return granted & wanted == wanted


def _shown(path: Path, folder: Path) -> str:
    return f"{path.relative_to(folder)} (mode {stat.S_IMODE(path.lstat().st_mode):04o})"
