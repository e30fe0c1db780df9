"""One multi-model container's models, managed in the owner process: fetched and unpacked once, loaded once
(concurrent first requests wait for the one load), unloaded least recently used first."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import urllib3

from emulator.invocation import container_http
from emulator.artifacts import MODELS_MOUNT, cache_dir, extract
from emulator.errors import EmulatorError
from emulator.multimodel.lru import LoadedModels
from emulator.multimodel.target import BadTargetModel, model_name, model_path
from emulator.invocation.outcomes import Hop, ModelLoadFailed, ModelNotFound, ModelNotReady
from emulator.settings import MAX_LOADED_MODELS, MODEL_LOAD_TIMEOUT, Settings

DEFAULT_LOAD_TIMEOUT = 60.0  # SageMaker answers ModelNotReadyException past it (developer guide, invoke-multi-model-endpoint)
UNLOAD_TIMEOUT = urllib3.Timeout(connect=2.0, read=30.0)
INSUFFICIENT_STORAGE = 507  # the container has no room for the model: unload one and try again


@dataclass(frozen=True)
class ModelSettings:
    budget: int | None = None  # loaded models at most per container; None: as many as the container takes
    load_timeout: float = DEFAULT_LOAD_TIMEOUT

    @classmethod
    def from_environment(cls) -> "ModelSettings":
        """What `serve` is started with: SAGEMAKER_EMULATOR_MAX_LOADED_MODELS, SAGEMAKER_EMULATOR_MODEL_LOAD_TIMEOUT."""
        settings = Settings.from_environment()
        budget, timeout = settings.max_loaded_models, settings.model_load_timeout
        try:
            return cls(int(budget) if budget else None, float(timeout) if timeout else DEFAULT_LOAD_TIMEOUT)
        except ValueError:
            raise EmulatorError(f"{MAX_LOADED_MODELS}={budget!r} / {MODEL_LOAD_TIMEOUT}={timeout!r}: not numbers. Fix: give "
                                "a whole number of models and a number of seconds.") from None


@dataclass
class Loaded:
    """The model is loaded under `model_name`; `hops`: the loads and unloads this took (none when it was loaded)."""
    model_name: str
    hops: list[Hop] = field(default_factory=list)

    @property
    def invoke_path(self) -> str:
        return f"/models/{self.model_name}/invoke"


class ModelManager:
    def __init__(self, endpoint: str, hostname: str, url: str, prefix: str, settings: ModelSettings = ModelSettings()):
        """`prefix`: the container's ModelDataUrl (an s3:// prefix or a local folder)."""
        self.endpoint, self.hostname, self.url, self.prefix, self.settings = endpoint, hostname, url, prefix, settings
        self.folder = _models_folder()  # mounted at /opt/ml/models
        self._loaded = LoadedModels(settings.budget)
        self._lock = threading.Lock()  # guards _loaded and _load_locks
        self._load_locks: dict[str, threading.Lock] = {}
        self._pool = container_http.pool.connection_from_url(url) if url else None

    def attach(self, url: str) -> None:
        """The container runs, at `url`."""
        self.url, self._pool = url, container_http.pool.connection_from_url(url)

    def remove_folder(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def ensure(self, target: str, reload: bool = False) -> Loaded:
        """The model `target` loaded in the container. `reload`: the container said it does not have it
        (it restarted, or another request's load unloaded it meanwhile): load it again."""
        try:
            path = model_path(target)
        except BadTargetModel as problem:
            raise ModelNotFound(self.endpoint, target, self.prefix, f"TargetModel is not usable: {problem}.") from None
        name = model_name(self.prefix, path)
        with self._lock:
            if reload:
                self._loaded.remove(name)
            elif name in self._loaded:
                self._loaded.touch(name)
                return Loaded(name)
            load_lock = self._load_locks.setdefault(name, threading.Lock())
        deadline = time.monotonic() + self.settings.load_timeout
        if not load_lock.acquire(timeout=self.settings.load_timeout):  # another request's load of it goes on
            raise ModelNotReady(self.endpoint, target, self.settings.load_timeout)
        try:
            with self._lock:
                if name in self._loaded:  # loaded by the request we waited for
                    self._loaded.touch(name)
                    return Loaded(name)
            self._unpack(path, name, target)
            hops: list[Hop] = []
            self._load(name, target, hops, deadline)
            return Loaded(name, hops)
        finally:
            load_lock.release()

    def loaded(self) -> list[str]:
        """The TargetModels loaded now, least recently used first."""
        with self._lock:
            return self._loaded.targets()

    # -- the artifact -------------------------------------------------------------------------------------------
    def _unpack(self, path: str, name: str, target: str) -> None:
        """Unpack the artifact once into <folder>/<name>/model; it stays there after an unload."""
        destination = self.folder / name / "model"
        if destination.is_dir():
            return
        archive = self._fetch(path, target)
        staging = Path(tempfile.mkdtemp(dir=self.folder, prefix=f".{name}-"))
        try:
            extract(archive, staging)
        except EmulatorError as problem:
            raise ModelNotFound(self.endpoint, target, self.prefix, str(problem)) from None
        os.chmod(staging, 0o755)
        destination.parent.mkdir(mode=0o755, exist_ok=True)
        os.rename(staging, destination)

    def _fetch(self, path: str, target: str) -> Path:
        if self.prefix.startswith("s3://"):
            from emulator.aws import object_cache, s3  # noqa: PLC0415 - only for s3:// prefixes

            try:
                url = str(s3.S3Url.parse(self.prefix, "ModelDataUrl").child(path))
                return object_cache.fetch(url, cache_dir() / "s3", field="TargetModel")
            except EmulatorError as problem:
                raise ModelNotFound(self.endpoint, target, self.prefix, str(problem)) from None
        archive = Path(self.prefix) / path
        if not archive.is_file():
            raise ModelNotFound(self.endpoint, target, self.prefix, f"{archive} does not exist.")
        return archive

    # -- the container's model API ------------------------------------------------------------------------------
    def _load(self, name: str, target: str, hops: list[Hop], deadline: float) -> None:
        """POST /models, after unloading what the budget needs; on 507, unload the least recent and try again."""
        while True:
            with self._lock:
                victims = []
                while self._loaded.over_budget() and (victim := self._loaded.least_recent(sparing=name)):
                    self._loaded.remove(victim[0])
                    victims.append(victim)
            for victim in victims:
                self._unload(*victim, hops)
            status, answer = self._post_load(name, target, hops, deadline)
            if status in (200, 409):  # 409: the container had it already (it answered a load we gave up on)
                with self._lock:
                    self._loaded.add(name, target)
                return
            if status != INSUFFICIENT_STORAGE:
                raise ModelLoadFailed(self.endpoint, target, status, answer)
            with self._lock:
                victim = self._loaded.least_recent(sparing=name)
                if victim:
                    self._loaded.remove(victim[0])
            if victim is None:
                raise ModelLoadFailed(self.endpoint, target, status, answer)
            self._unload(*victim, hops)

    def _post_load(self, name: str, target: str, hops: list[Hop], deadline: float) -> tuple[int, str]:
        body = json.dumps({"model_name": name, "url": f"{MODELS_MOUNT}/{name}/model"}).encode()
        hop = Hop(self.hostname, "application/json", None, len(body), action="load", model=target)
        hops.append(hop)
        started = time.perf_counter()
        left = deadline - time.monotonic()
        if left <= 0:
            raise ModelNotReady(self.endpoint, target, self.settings.load_timeout)
        try:
            response = self._pool.urlopen("POST", "/models", body=body, headers={"Content-Type": "application/json"},
                                          timeout=urllib3.Timeout(connect=2.0, read=left), retries=False)
        except urllib3.exceptions.ReadTimeoutError:
            raise ModelNotReady(self.endpoint, target, self.settings.load_timeout) from None
        except urllib3.exceptions.HTTPError as exc:
            raise ModelLoadFailed(self.endpoint, target, 0, f"the container did not answer ({exc})") from None
        finally:
            hop.ms = round((time.perf_counter() - started) * 1000, 3)
        hop.status, hop.content_type_out, hop.bytes_out = response.status, response.headers.get("Content-Type"), len(response.data)
        return response.status, response.data.decode("utf-8", "replace")

    def _unload(self, name: str, target: str, hops: list[Hop]) -> None:
        """DELETE /models/<name>; the model stays unpacked on disk. An error is in its hop, and ends nothing."""
        hop = Hop(self.hostname, None, None, 0, action="unload", model=target)
        hops.append(hop)
        started = time.perf_counter()
        try:
            response = self._pool.urlopen("DELETE", f"/models/{name}", timeout=UNLOAD_TIMEOUT, retries=False)
            hop.status, hop.bytes_out = response.status, len(response.data)
        except urllib3.exceptions.HTTPError:
            hop.status = 0
        hop.ms = round((time.perf_counter() - started) * 1000, 3)


def _models_folder() -> Path:
    root = cache_dir() / "multimodel"
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="models-", dir=root))
    os.chmod(folder, 0o755)  # the container's user reads it
    return folder
