"""Where the emulator's own S3 and CloudWatch Logs calls go.

S3 follows boto3's standard settings (credentials, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, profiles),
so real S3, MinIO or LocalStack work, except on a machine where none of them is configured and this
process runs the embedded S3: then the embedded one. SAGEMAKER_EMULATOR_S3 forces a choice:
`embedded`, or `aws` (boto3's settings, e.g. real S3 with the user's credentials and no endpoint URL).
Container logs always go to the embedded CloudWatch Logs: the emulator never writes to a real account.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from emulator.arns import REGION
from emulator.errors import EmulatorError
from emulator.settings import S3_CHOICE, S3_ENDPOINTS, Settings

CHOICE_VARIABLE, ENDPOINT_VARIABLES = S3_CHOICE, S3_ENDPOINTS
EMBEDDED_REGION = REGION
# Any signature is accepted by the embedded services; these keys map to moto's default account.
EMBEDDED_KEYS = {"aws_access_key_id": "emulator", "aws_secret_access_key": "emulator"}

# moto keeps one state per process, so every embedded server of the process serves the same objects:
# any of them will do. Servers come and go (one per Emulator); the latest one still running is used.
_embedded_urls: list[str] = []
_lock = threading.Lock()
_clients: dict[tuple[Any, ...], Any] = {}


def use_embedded(url: str) -> None:
    """The owner process calls this once its internal server (with the embedded services) listens."""
    with _lock:
        _embedded_urls.append(url)


def release_embedded(url: str) -> None:
    """The server at `url` stops."""
    with _lock:
        if url in _embedded_urls:
            _embedded_urls.remove(url)
        for client_key in [client_key for client_key in _clients if client_key[1] == url]:
            del _clients[client_key]


def embedded_url() -> str | None:
    with _lock:
        return _embedded_urls[-1] if _embedded_urls else None


@dataclass(frozen=True)
class S3Access:
    """A boto3 S3 client and, for messages, which S3 it reaches and why."""
    client: Any
    where: str


def s3() -> S3Access:
    settings = Settings.from_environment()
    choice = settings.s3_choice
    if choice not in ("", "embedded", "aws"):
        raise EmulatorError(f"{CHOICE_VARIABLE}={choice!r} is not a choice. Fix: set it to `embedded` (the emulator's "
                            "own S3) or `aws` (boto3's settings: credentials, AWS_ENDPOINT_URL_S3), or unset it.")
    configured = settings.s3_endpoint
    url = embedded_url()
    if choice == "embedded" or (choice == "" and configured is None and url is not None):
        if url is None:
            raise EmulatorError(f"{CHOICE_VARIABLE}=embedded, but no embedded S3 runs in this process. Fix: use "
                                "`sagemaker-emulator serve`, or unset it to use boto3's settings.")
        return S3Access(_client("s3", url), "the emulator's embedded S3")
    where = f"the S3 at {configured[1]} ({configured[0]})" if configured else "AWS S3 (boto3's credentials)"
    return S3Access(_client("s3", None), where)


def logs(region: str = EMBEDDED_REGION) -> Any | None:
    """A CloudWatch Logs client on the embedded service; None when this process runs none."""
    url = embedded_url()
    return None if url is None else _client("logs", url, region)


def _client(service: str, url: str | None, region: str | None = None) -> Any:
    """boto3 clients are thread-safe and costly to build: one per service, URL and region (and, for boto3's own
    settings, per environment: `Emulator.redirected()` and tests change it within one process)."""
    settings = () if url is not None else Settings.from_environment().boto3_s3
    key = (service, url, region or "", settings)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = _build(service, url, region)
        return client


def _build(service: str, url: str | None, region: str | None) -> Any:
    try:
        import boto3  # noqa: PLC0415 - optional dependency (the `s3` extra), only for S3 and logs
        from botocore.config import Config  # noqa: PLC0415
    except ImportError:
        raise EmulatorError("S3 access needs boto3. Fix: `pip install 'sagemaker-emulator[s3]'`.") from None
    config = Config(retries={"mode": "standard"}, max_pool_connections=32)
    if url is None:
        return boto3.session.Session().client(service, config=config)
    return boto3.session.Session().client(service, endpoint_url=url, region_name=region or EMBEDDED_REGION,
                                          config=config, **EMBEDDED_KEYS)
