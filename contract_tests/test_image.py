"""What the image itself declares, checked without starting it."""

from __future__ import annotations

import pytest

from contract_tests import model_access
from contract_tests.plan import Target
from contract_tests.verdicts import violation
from emulator.artifacts import model_folder
from emulator.containers import labels as L
from emulator.containers.docker_backend import BIND_TO_PORT_LABEL, DockerBackend
from emulator.definition import parse
from emulator.errors import DefinitionError, EmulatorError
from emulator.instances import ASSUMED, X86_64, architecture_of, instance


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


def test_is_built_for_the_instance_architecture(target: Target, backend: DockerBackend) -> None:
    wanted = instance((target.endpoint.instance_type if target.endpoint else None) or ASSUMED)
    try:
        built_for = architecture_of(backend.image_architecture(target.image))
    except EmulatorError as exc:
        pytest.fail(str(exc), pytrace=False)
    if built_for != wanted.architecture:
        platform = "amd64" if wanted.architecture == X86_64 else "arm64"
        violation(
            f"{target.image} is built for {built_for}; the instance {wanted.describe()} runs {wanted.architecture}"
            + ("" if target.endpoint and target.endpoint.instance_type else " (assumed: no InstanceType was given)") + ".",
            "SageMaker would start the container and it would die with `exec format error`; the endpoint fails "
            "after its startup health check times out.",
            f"build it for linux/{platform} (`docker buildx build --platform linux/{platform} ...`), or deploy it on "
            f"an instance type of its architecture ({'ml.c7g.large' if built_for == 'arm64' else ASSUMED}).")


def test_declares_no_volume_under_opt_ml(target: Target, backend: DockerBackend) -> None:
    try:
        volumes = backend.image_volumes(target.image)
    except EmulatorError as exc:
        pytest.fail(str(exc), pytrace=False)
    under = sorted(volume for volume in volumes if volume.rstrip("/") == "/opt/ml" or volume.startswith("/opt/ml/"))
    if under:
        violation(
            f"{target.image} declares VOLUME {', '.join(under)}.",
            "SageMaker mounts the model read-only at /opt/ml/model and owns /opt/ml: an anonymous volume there hides "
            "what SageMaker puts in it, or keeps what the image shipped instead of the model.",
            "remove the VOLUME line from the Dockerfile (and write files the server needs under /tmp).")


def test_environment_is_within_sagemakers_limits(target: Target) -> None:
    """A definition's Environment is checked when the definition is read (a mistake stops the run, naming the
    field); the environment given to images (--env) is checked here, by the same rules."""
    try:
        parse({"PrimaryContainer": {"Image": target.image, "Environment": target.environment}})
    except DefinitionError as refused:
        violation(f"{target.image}: {refused.field.removeprefix('PrimaryContainer.')} {refused.problem}",
                  "SageMaker would refuse the model (CreateModel answers a ValidationException) before any container "
                  "starts.", refused.fix)


SHOWN_FILES = 5


def test_user_can_read_the_model(target: Target, backend: DockerBackend) -> None:
    try:
        user = backend.image_user(target.image)
        if not user or user.partition(":")[0] in ("0", "root"):
            return  # root reads every file
        if not target.model_data:
            pytest.skip(f"{target.image} runs as USER {user}; no model to read: pass --sagemaker-model-data PATH")
        files = backend.image_files(target.image, (model_access.PASSWD, model_access.GROUP),
                                    {**L.owner_labels(), L.ENDPOINT: "contract-tests"})
        model = model_folder(target.model_data)
    except EmulatorError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        passwd, group = (None if files[path] is None else files[path].decode("utf-8", "replace")
                         for path in (model_access.PASSWD, model_access.GROUP))
        reader = model_access.identity(user, passwd, group)
    except model_access.UnknownUser as unknown:
        violation(f"{target.image}: {unknown}.",
                  "SageMaker would not start the container (`unable to find user`); the endpoint fails.",
                  "create the user in the Dockerfile (`RUN useradd ...`) before `USER`, or give a numeric uid.")
    denied = model_access.unreadable(model, reader)
    if denied:
        more = f" and {len(denied) - SHOWN_FILES} more" if len(denied) > SHOWN_FILES else ""
        violation(
            f"{target.image} runs as {reader.describe()}, which cannot read {len(denied)} of the model's files at "
            f"/opt/ml/model: {', '.join(denied[:SHOWN_FILES])}{more}.",
            "SageMaker starts the container as its USER with the model unpacked read-only, the archive's modes kept "
            "and root the owner: the server cannot load the model (Permission denied) and the endpoint fails.",
            "make the model readable by all before packing it (`chmod -R a+rX model_dir && tar -czf model.tar.gz "
            "-C model_dir .`), or run the server as root (remove the Dockerfile's USER line).")
