"""What an emulator offers a test or a script that only talks to it: its endpoints by name, boto3 clients
and the environment that points AWS SDKs at it. Shared by the in-process emulator (emulator.hosting.emulator) and the
handle on a resident one (emulator.hosting.resident)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from emulator.errors import EmulatorError

if TYPE_CHECKING:
    from emulator.hosting.emulated_endpoint import EmulatedEndpoint

# AWS_REGION too: the AWS SDKs for JavaScript, Go and Java read it and not AWS_DEFAULT_REGION (boto3's).
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1",
                     "AWS_REGION": "us-east-1"}
# Set, these would win over AWS_ENDPOINT_URL or the dummy keys: `redirected` unsets them for its block.
SHADOWING = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


class ClientSide:
    """Subclasses provide `endpoints`, `invocation_timeout`, `describe_wait`, `_served_url()` (the front's URL,
    serving it first if need be) and `_state_folder()` (where the SDK's defaults file goes)."""

    invocation_timeout: float
    describe_wait: float

    @property
    def endpoints(self) -> dict[str, "EmulatedEndpoint"]:
        raise NotImplementedError

    def _served_url(self) -> str:
        raise NotImplementedError

    def _state_folder(self) -> Path:
        raise NotImplementedError

    def __getitem__(self, name: str) -> "EmulatedEndpoint":
        endpoints = self.endpoints
        for endpoint_name, endpoint in endpoints.items():
            if endpoint_name.lower() == name.lower():  # names are unique regardless of case, as their ARNs are
                return endpoint
        raise EmulatorError(f"no endpoint {name!r} serves here; serving: {', '.join(endpoints) or 'none'}.")

    @property
    def endpoint(self) -> "EmulatedEndpoint":
        """The only endpoint, for definitions that hold one."""
        endpoints = self.endpoints
        if len(endpoints) != 1:
            raise EmulatorError(f"{len(endpoints)} endpoints serve here; pick one with emulator[name].")
        return next(iter(endpoints.values()))

    def environment(self) -> dict[str, str]:
        """The variables that send every AWS SDK call of a process here: AWS_ENDPOINT_URL and dummy credentials,
        and the SageMaker Python SDK's defaults file (its default bucket; no telemetry: emulator.aws.sdk_config).
        The front is started if it is not yet."""
        from emulator.aws import sdk_config  # noqa: PLC0415 - PyYAML only when asked

        return {"AWS_ENDPOINT_URL": self._served_url(), **DUMMY_CREDENTIALS,
                sdk_config.VARIABLE: str(sdk_config.write(self._state_folder()))}

    @contextlib.contextmanager
    def redirected(self) -> Iterator[dict[str, str]]:
        """Set `environment()` in os.environ for the block (for code under test that builds its own clients);
        AWS_PROFILE, session tokens and per-service AWS_ENDPOINT_URL_* are unset meanwhile."""
        variables = self.environment()
        shadowing = [name for name in os.environ if name in SHADOWING or name.startswith("AWS_ENDPOINT_URL_")]
        saved = {name: os.environ.get(name) for name in [*variables, *shadowing]}
        for name in shadowing:
            del os.environ[name]
        os.environ.update(variables)
        try:
            yield variables
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def boto3_client(self, service: str = "sagemaker-runtime", region: str = "us-east-1") -> Any:
        """A real boto3 client (sagemaker-runtime by default, or sagemaker, ...) pointed here, with dummy credentials
        (the front is started if it is not yet)."""
        import boto3  # noqa: PLC0415 - optional: only tests and users who want boto3 need it
        from botocore.config import Config  # noqa: PLC0415

        return boto3.client(service, endpoint_url=self._served_url(), region_name=region,
                            aws_access_key_id="emulator", aws_secret_access_key="emulator",
                            config=Config(read_timeout=max(self.invocation_timeout, self.describe_wait) + 10))
