"""Which service a request on the port is for: the one rule the front's workers and the owner's internal server
both route by.

`sagemaker` and `sagemaker-runtime` both sign as `sagemaker`: the control plane is told apart by its
`X-Amz-Target: SageMaker.<Operation>` header, the runtime by its `/endpoints/` path (its asynchronous
invocations, which write to the state, are a service of their own that the owner answers). Other services by
the SigV4 credential scope's service name (the Authorization header, or X-Amz-Credential in a presigned
URL); an unsigned request outside the runtime's paths is taken as S3's (public or browser-style reads).
"""

from __future__ import annotations

import re

SAGEMAKER, RUNTIME, ASYNC_RUNTIME, S3 = "sagemaker", "runtime", "runtime-async", "s3"
ASYNC_SUFFIX = "/async-invocations"
RUNTIME_PATHS = ("/endpoints/", "/_emulator/")
SCOPE = re.compile(r"Credential=[^/,\s]*/\d{8}/(?P<region>[^/,\s]*)/(?P<service>[^/,\s]+)/aws4_request")
QUERY_SCOPE = re.compile(r"(?:^|&)X-Amz-Credential=[^&]*?(?:/|%2F)\d{8}(?:/|%2F)(?P<region>[^&/%]*)(?:/|%2F)"
                         r"(?P<service>[^&/%]+)(?:/|%2F)aws4_request", re.IGNORECASE)
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")  # us-east-1, us-gov-west-1


def service_of(environ: dict) -> str:
    """`sagemaker` (control plane), `runtime` (invocations, /ping, the emulator's own routes), `runtime-async`
    (InvokeEndpointAsync), or the service name of the request's SigV4 scope (s3, sts, logs, ...)."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target.startswith("SageMaker."):
        return SAGEMAKER
    scope = _scope_service(environ)
    if scope not in (None, SAGEMAKER):
        return scope
    path = environ.get("PATH_INFO", "")
    if path.startswith("/endpoints/") and path.endswith(ASYNC_SUFFIX):
        return ASYNC_RUNTIME
    if path.startswith(RUNTIME_PATHS) or path == "/ping":
        return RUNTIME
    return SAGEMAKER if scope == SAGEMAKER else S3


def region_of(environ: dict) -> str | None:
    """The region the request is signed for, when it names one that looks like an AWS region."""
    match = _scope(environ)
    region = match.group("region").lower() if match else ""
    return region if REGION.fullmatch(region) else None


def _scope_service(environ: dict) -> str | None:
    match = _scope(environ)
    return match.group("service").lower() if match else None


def _scope(environ: dict) -> re.Match[str] | None:
    return SCOPE.search(environ.get("HTTP_AUTHORIZATION", "")) or QUERY_SCOPE.search(environ.get("QUERY_STRING", ""))
