"""Every setting the environment gives the emulator, in one place: its own SAGEMAKER_EMULATOR_* variables, the
XDG folders, and the boto3 variables that choose an S3. Nothing else in the package reads the environment, but
the front's worker settings (emulator.seam.worker_settings), which the owner writes for the workers it starts.

Read when used (`Settings.from_environment()` is a few dictionary look-ups), not cached: `Emulator.redirected()`,
`serve --env` and tests change the environment within one process.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SESSION = "SAGEMAKER_EMULATOR_SESSION"  # the session label of this run's containers (emulator.containers.labels)
CACHE = "SAGEMAKER_EMULATOR_CACHE"  # model archives, S3 objects, kept containers' keys, residents
MAX_LOADED_MODELS = "SAGEMAKER_EMULATOR_MAX_LOADED_MODELS"  # a multi-model container's budget
MODEL_LOAD_TIMEOUT = "SAGEMAKER_EMULATOR_MODEL_LOAD_TIMEOUT"  # seconds
RESIDENT_IDLE = "SAGEMAKER_EMULATOR_RESIDENT_IDLE"  # seconds a resident emulator waits unused before it stops
# The emulator in a container: `auto` (the image's default) or a Docker network (emulator.containers.siblings).
NETWORK = "SAGEMAKER_EMULATOR_NETWORK"
MAX_INSTANCES = "SAGEMAKER_EMULATOR_MAX_INSTANCES"  # copies a variant (or a component) runs at most
DEFAULT_MAX_INSTANCES = 4  # a config written for 40 instances must not start 40 copies on a laptop
TIME_SCALE = "SAGEMAKER_EMULATOR_TIME_SCALE"  # what a guarded update's waits are multiplied by (0.01: 600 s in 6)
SERVERLESS_IDLE = "SAGEMAKER_EMULATOR_SERVERLESS_IDLE"  # seconds a serverless variant idles before it stops
S3_CHOICE = "SAGEMAKER_EMULATOR_S3"  # embedded | aws | unset (emulator.aws.clients)
S3_ENDPOINTS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
# What boto3 reads to build an S3 client: a client built under other values is not reused.
BOTO3_S3 = (*S3_ENDPOINTS, "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
            "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


@dataclass(frozen=True)
class Settings:
    state_home: Path  # XDG_STATE_HOME: the per-user control-plane state lives below it
    cache_folder: Path
    runtime_folder: Path  # XDG_RUNTIME_DIR, else the temporary directory: private sockets
    session: str | None
    max_loaded_models: str | None  # as given: emulator.multimodel.manager.ModelSettings parses and words errors
    model_load_timeout: str | None
    resident_idle: str | None
    network: str | None  # the network of the containers' siblings when the emulator runs in a container
    time_scale: str | None  # as given: emulator.hosting.emulator parses and words errors
    serverless_idle: str | None  # as given, as time_scale
    s3_choice: str
    s3_endpoint: tuple[str, str] | None  # (variable, URL) of the first S3 endpoint boto3 would use
    boto3_s3: tuple[str | None, ...]  # the values of BOTO3_S3
    max_instances: str | None = None  # as given: emulator.hosting.emulator.max_instances_of parses it

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        home = os.path.expanduser("~")
        cache = environ.get(CACHE) or os.path.join(environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"),
                                                   "sagemaker-emulator")
        endpoint = next(((name, environ[name]) for name in S3_ENDPOINTS if environ.get(name)), None)
        return cls(state_home=Path(environ.get("XDG_STATE_HOME") or os.path.join(home, ".local", "state")),
                   cache_folder=Path(cache),
                   runtime_folder=Path(environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()),
                   session=environ.get(SESSION) or None,
                   max_loaded_models=environ.get(MAX_LOADED_MODELS) or None,
                   model_load_timeout=environ.get(MODEL_LOAD_TIMEOUT) or None,
                   resident_idle=environ.get(RESIDENT_IDLE) or None,
                   network=environ.get(NETWORK) or None,
                   time_scale=environ.get(TIME_SCALE) or None,
                   serverless_idle=environ.get(SERVERLESS_IDLE) or None,
                   s3_choice=environ.get(S3_CHOICE, "").strip().lower(),
                   s3_endpoint=endpoint,
                   boto3_s3=tuple(environ.get(name) for name in BOTO3_S3),
                   max_instances=environ.get(MAX_INSTANCES) or None)

    @property
    def default_state_folder(self) -> Path:
        return self.state_home / "sagemaker-emulator"
