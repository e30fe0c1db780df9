"""What the image itself declares, checked without starting it."""

from __future__ import annotations

import pytest

from contract_tests.plan import Target
from contract_tests.verdicts import violation
from emulator.containers.docker_backend import BIND_TO_PORT_LABEL, DockerBackend
from emulator.errors import EmulatorError


def test_has_bind_to_port_label(target: Target, backend: DockerBackend) -> None:
    if not target.needs_bind_to_port:
        pytest.skip("a single-container endpoint needs no accept-bind-to-port label")
    try:
        labels = backend.image_labels(target.image)
    except EmulatorError as exc:
        pytest.fail(str(exc), pytrace=False)
    if labels.get(BIND_TO_PORT_LABEL) != "true":
        found = f"it is {labels[BIND_TO_PORT_LABEL]!r}" if BIND_TO_PORT_LABEL in labels else "it is missing"
        violation(
            f"{target.image} lacks the Docker label {BIND_TO_PORT_LABEL}=true ({found}).",
            "SageMaker would fail CreateEndpoint for a multi-container model (an inference pipeline) with this image: "
            f"\"... does not contain required {BIND_TO_PORT_LABEL}=true Docker label(s)\".",
            f"make the server listen on $SAGEMAKER_BIND_TO_PORT (8080 when unset), then add "
            f"`LABEL {BIND_TO_PORT_LABEL}=true` to the Dockerfile.")
