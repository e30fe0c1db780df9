"""Fast reruns: a resident emulator per definition, kept running between test runs (opt-in, with reuse).

The first run with reuse starts `python -m emulator.hosting.resident_server` in a session of its own: an emulator
serving the definition (its containers, its front, its control plane). When the run ends the resident stays.
The next run attaches to it in milliseconds when nothing changed: the resident recomputes the key of
emulator.containers.reuse for every endpoint of the file now (definition, image ids, artifact files, environment) and
compares it with what it serves; the run compares the emulator's own code with the resident's. Anything
changed: the resident is stopped (keeping the containers that still match, which the new one adopts) and
a new one starts.

A resident belongs to one scope: this user, the definition file, the emulator's options and the run's
session label. A run holds the scope's lock for as long as it uses the resident; a second live run finds
it held and starts its own emulator in-process instead, so two runs never share one. `sagemaker-emulator
prune` stops residents nobody holds (and removes their kept containers).

This module is imported by the pytest plugin on every reuse run: the standard library and light modules only.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.hosting.client_side import ClientSide
from emulator.errors import EmulatorError, StartupError
from emulator.settings import Settings
from emulator.waiting import wait_until

if TYPE_CHECKING:
    from emulator.hosting.emulated_endpoint import EmulatedEndpoint

STOP_WAIT = 120.0  # seconds for a resident to stop (its front, its control plane; the containers are kept)
ANSWER_WAIT = 60.0  # seconds for a resident to answer one question (it checks image ids and artifacts)
FAILURE = "failure.txt"  # why the resident could not start, as the in-process emulator would have said it


def root() -> Path:
    from emulator.artifacts import cache_dir  # noqa: PLC0415

    return cache_dir() / "resident"


def scope(source: str | Path, options: dict[str, Any]) -> str:
    """Whose resident: this user, the definition file, the options it serves with, the session label."""
    text = json.dumps({"user": os.getuid(), "source": str(Path(source).resolve()), "options": options,
                       "session": Settings.from_environment().session or ""}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def code_stamp() -> int:
    """The newest modification time of the emulator's own modules: a resident started by other code is out of date."""
    package = Path(__file__).parent
    return max(entry.stat().st_mtime_ns for entry in package.rglob("*.py"))


def serializable(options: dict[str, Any]) -> bool:
    """A resident receives its options as JSON: a callback or an object cannot cross."""
    try:
        json.dumps(options)
    except TypeError:
        return False
    return True


class ResidentEmulator(ClientSide):
    """This run's handle on a resident emulator: its endpoints (invoked in-process, logged in its request
    log), boto3 clients and the environment pointed at its front. `stop()` lets go; the resident stays."""

    def __init__(self, folder: Path, lock: int, answer: dict[str, Any]):
        self.folder, self._lock = folder, lock
        self.url, self.pid = answer["url"], answer["pid"]
        self._state, self._database, self._log = Path(answer["state"]), answer["database"], answer.get("log")
        self.invocation_timeout, self.describe_wait = answer["invocation_timeout"], answer["describe_wait"]
        self._table = None
        self._sender = None

    @property
    def endpoints(self) -> dict[str, "EmulatedEndpoint"]:
        """The endpoints that serve now, read from the resident's serving table as its front's workers do."""
        from emulator.hosting.emulated_endpoint import EmulatedEndpoint  # noqa: PLC0415 - only when a test invokes in-process
        from emulator.multimodel.loader import ModelLoader  # noqa: PLC0415
        from emulator.observe.channel import Sender  # noqa: PLC0415
        from emulator.seam.serving import ServingTable  # noqa: PLC0415

        if self._table is None:
            self._table = ServingTable(self._database, models=ModelLoader)
            self._sender = Sender(self._log["socket"], int(self._log["body_limit"])) if self._log else None
        sender = self._sender
        return {served.name: EmulatedEndpoint(served, None, sender.add if sender else None,
                                              bool(sender and sender.capture_bodies))
                for served in self._table.all().values()}

    def _served_url(self) -> str:
        return self.url

    def _state_folder(self) -> Path:
        return self._state

    def stop(self) -> None:
        """Let go of the resident (it keeps serving for the next run); calling it again is harmless."""
        if self._sender is not None:
            self._sender.flush()
        if self._lock >= 0:
            os.close(self._lock)
            self._lock = -1


def attach(source: str | Path, options: dict[str, Any]) -> ResidentEmulator | None:
    """The resident emulator of this definition and options, started if there is none or it is out of date.
    None when another live run holds it (the caller then starts its own emulator)."""
    folder = root() / scope(source, options)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = hold(folder / "lock")
    if lock is None:
        return None
    try:
        answer = ask(folder, "attach")
        if answer is not None and answer["ok"] and answer.get("code") != code_stamp():
            answer = {"ok": False, "why": "the emulator's own code changed (an upgrade, or an edit)"}
        if answer is not None and not answer["ok"]:
            print(f"sagemaker-emulator: the resident emulator of {source} is out of date ({answer['why']}); "
                  "starting a new one", file=sys.stderr, flush=True)
            stop(folder)
            answer = None
        if answer is None:
            answer = _start(folder, source, options)
        return ResidentEmulator(folder, lock, answer)
    except BaseException:
        os.close(lock)
        raise


def ask(folder: Path, operation: str, timeout: float = ANSWER_WAIT) -> dict[str, Any] | None:
    """One question to the resident of `folder`; None when none answers (never started, stopped, killed)."""
    path = socket_path(folder)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout)
        try:
            connection.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            return None
        try:
            connection.sendall(json.dumps({"op": operation}).encode() + b"\n")
            answer = connection.makefile("rb").readline()
        except (ConnectionResetError, BrokenPipeError):  # it closed its socket while we asked: it is gone
            return None
        except TimeoutError:
            raise StartupError(f"the resident emulator in {folder} did not answer within {timeout:g} s. Fix: "
                               "`sagemaker-emulator prune` stops it (its output is in output.log there).") from None
    return json.loads(answer) if answer else None


def stop(folder: Path) -> bool:
    """Stop the resident of `folder` and wait until it is gone; False when none was running."""
    answer = ask(folder, "stop")
    if answer is None:
        return False
    # Its containers are free once it has exited: `prune` judges them by that.
    if not wait_until(lambda: not alive(answer["pid"]), timeout=STOP_WAIT, interval=0.1).ready:
        raise StartupError(f"the resident emulator in {folder} did not stop within {STOP_WAIT:g} s; "
                           f"its output is in {folder / 'output.log'}.")
    return True


def folders_of(source: str | Path) -> list[Path]:
    """The resident folders of a definition file, whatever their options and session."""
    wanted = str(Path(source).resolve())
    return [settings.parent for settings in root().glob("*/resident.json")
            if json.loads(settings.read_text())["source"] == wanted]


def stop_unheld() -> tuple[list[str], list[str]]:
    """`prune`: stop every resident no run holds. Returns (stopped, held) folder names."""
    stopped, held = [], []
    for folder in sorted(root().glob("*/")) if root().is_dir() else []:
        lock = hold(folder / "lock")
        if lock is None:
            held.append(folder.name)
            continue
        try:
            if stop(folder):
                stopped.append(folder.name)
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            os.close(lock)
    return stopped, held


def socket_path(folder: Path) -> Path:
    """Where the resident of `folder` answers. Not in `folder`: a unix socket's path holds 107 bytes, and a
    cache under a deep home folder is longer; so in a private folder of the runtime or temporary directory."""
    runtime = Settings.from_environment().runtime_folder / f"sagemaker-emulator-{os.getuid()}"
    runtime.mkdir(mode=0o700, exist_ok=True)
    status = runtime.stat()
    if status.st_uid != os.getuid() or status.st_mode & 0o077:
        raise EmulatorError(f"{runtime} belongs to another user or others may enter it, so a resident emulator "
                            "cannot answer there privately. Fix: remove it (it is recreated), or set XDG_RUNTIME_DIR.")
    return runtime / f"{hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]}.sock"


def _start(folder: Path, source: str | Path, options: dict[str, Any]) -> dict[str, Any]:
    (folder / "resident.json").write_text(json.dumps({"source": str(Path(source).resolve()), "options": options}))
    failure = folder / FAILURE
    failure.unlink(missing_ok=True)
    pid = _launch(folder)
    answer: dict[str, Any] | None = None

    def answered() -> bool:
        nonlocal answer
        answer = ask(folder, "attach")
        return answer is not None

    # Its own startup timeouts end a start that hangs: this waits as long as the resident lives.
    if wait_until(answered, timeout=float("inf"), abort=lambda: "exited" if not alive(pid) else None).ready:
        if not answer["ok"]:  # the file changed while it started: the next run starts a new one
            raise StartupError(f"{source} changed while its resident emulator started ({answer['why']}); run again.")
        return answer
    if failure.exists():
        raise StartupError(failure.read_text())
    raise StartupError(f"the resident emulator for {source} exited at start; its output is in {folder / 'output.log'}.")


def _launch(folder: Path) -> int:
    """Start the resident through a launcher that exits at once (below, `python -m emulator.hosting.resident`): the
    resident is then no child of this run's process, which neither waits for it nor warns that it still runs."""
    launcher = subprocess.run([sys.executable, "-m", "emulator.hosting.resident", str(folder)], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, check=False)
    if launcher.returncode:
        raise StartupError(f"the resident emulator could not be launched: {launcher.stderr.strip()}")
    return int(launcher.stdout)


def alive(pid: int) -> bool:
    """The process runs (a zombie, exited but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as status:
            return status.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:  # no /proc (macOS): the signal said it
        return True


def hold(path: Path) -> int | None:
    """An flock on `path`, held until its descriptor closes (or the process ends, however it ends)."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    return descriptor


if __name__ == "__main__":  # the launcher (_launch): start the resident in a session of its own, say its pid
    with open(Path(sys.argv[1]) / "output.log", "wb") as output:
        resident = subprocess.Popen([sys.executable, "-m", "emulator.hosting.resident_server", sys.argv[1]],
                                    stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                    start_new_session=True)  # ended neither by the run's end nor by its Ctrl-C
    print(resident.pid, flush=True)
    os._exit(0)  # at once, without Popen's destructor: the resident is meant to outlive this launcher
