"""What the owner process runs for the AWS services around SageMaker: the embedded S3, STS, CloudWatch Logs and
CloudWatch mounted on its internal server (and used by its own S3 calls when nothing else is configured), IAM,
the shipping of every endpoint container's output to CloudWatch Logs, the endpoints' metrics in CloudWatch and
the evaluation of its alarms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emulator.aws import clients, cloudwatch, embedded, iam
from emulator.aws.durable_s3 import DurableS3
from emulator.observe.log_shipping import Destination, LogShipper, endpoint_group, endpoint_stream, instance_id
from emulator.containers.docker_backend import DockerBackend
from emulator.containers.group import ContainerGroup


class AwsServices:
    def __init__(self, backend: DockerBackend, s3_folder: Path):
        """`s3_folder`: where the embedded S3's buckets and objects are kept (emulator.aws.durable_s3)."""
        self.logs = LogShipper(backend)
        self.s3 = DurableS3(s3_folder)
        self.alarms = cloudwatch.AlarmEvaluator()
        self._metrics: list[cloudwatch.Source] = []
        self._url: str | None = None

    def start(self, internal: Any) -> "AwsServices":
        """`internal`: the owner's server (emulator.control.server.InternalServer). What the S3 kept is back first."""
        self.s3.restore()
        app = embedded.create_app()
        for service in embedded.SERVICES:
            internal.mount(service, self.s3.wrap(app) if service == "s3" else app)
        internal.mount(iam.SERVICE, iam.create_app())
        # In place of moto's own: the caller is a role, as on SageMaker; bad input refused as AWS refuses it.
        internal.mount("sts", embedded.guarded(iam.create_sts_app()))
        internal.mount(iam.QUERY_PROTOCOL, iam.unanswered)
        self._url = internal.url
        clients.use_embedded(self._url)
        self.alarms.start()
        return self

    def serve_metrics(self, source: cloudwatch.Source) -> None:
        """`source`'s datapoints in the embedded CloudWatch, until stop."""
        self._metrics.append(source)
        cloudwatch.publish(source)

    def ship_endpoint_logs(self, endpoint_name: str, variant: str, endpoint: ContainerGroup,
                           instance: str | None = None) -> None:
        """Each container's output to `/aws/sagemaker/Endpoints/<name>`, stream `<variant>/<instance>` (a
        pipeline's: `<variant>/<instance>/<container>`), until the container is removed. `instance`: the copy's
        name, as the request log names it (None: a new instance id)."""
        instance = instance or instance_id()
        for container in endpoint.containers:
            hostname = container.hostname if endpoint.definition.is_pipeline else None
            self.logs.follow(container.id, Destination(endpoint_group(endpoint_name),
                                                       endpoint_stream(variant, instance, hostname)))

    def stop(self) -> None:
        self.alarms.stop()
        for source in self._metrics:
            cloudwatch.withdraw(source)
        self.logs.close()
        if self._url is not None:
            clients.release_embedded(self._url)
            self._url = None
