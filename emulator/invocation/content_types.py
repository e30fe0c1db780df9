"""SageMaker's header rules for a serial pipeline, and the pitfalls worth a warning."""

from __future__ import annotations


def hop_headers(index: int, count: int, content_type: str | None, accept: str | None,
                forwarded: dict[str, str]) -> dict[str, str]:
    """Headers for hop `index` of `count`: Content-Type as given, Accept only to the last container, and the
    caller's `forwarded` headers (InvocationRequest.forwarded) to every one.
    `content_type` is the caller's for the first hop and the previous response's, verbatim, after it.
    Intermediate containers get no Accept and fall back to SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT.
    """
    headers = dict(forwarded)
    if content_type:
        headers["Content-Type"] = content_type
    if accept and index == count - 1:
        headers["Accept"] = accept
    return headers


def charset_warning(content_type: str | None, producer: str, consumer: str) -> str | None:
    """A parameter such as `; charset=utf-8` added by one container travels verbatim to the next,
    and containers that compare the whole header (XGBoost's, for one) reject it."""
    if content_type and ";" in content_type:
        return (f"{producer} answered Content-Type {content_type!r}; {consumer} receives it verbatim, "
                "parameters included. Containers that compare the whole header reject it (a known XGBoost pitfall).")
    return None


def base_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()
