"""`sagemaker-emulator export kubernetes DEFINITION`: the endpoints as Kubernetes manifests."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from emulator.errors import EmulatorError


def add_parser(commands: Any) -> None:
    export = commands.add_parser("export", help="write a definition's endpoints for another platform")
    targets = export.add_subparsers(required=True, metavar="TARGET")
    kubernetes = targets.add_parser(
        "kubernetes", help="a Deployment and a Service per endpoint (runs on a cluster and under `podman kube play`)")
    kubernetes.add_argument("definition", type=Path, help="pipeline definition (YAML or JSON CreateModel request)")
    kubernetes.add_argument("--endpoint", action="append", dest="names", help="only this endpoint (repeatable)")
    kubernetes.add_argument("-o", "--output", type=Path, help="write here instead of to standard output")
    kubernetes.add_argument("--instance-type", help="a ProductionVariant's InstanceType, e.g. ml.m5.large: resource requests")
    kubernetes.add_argument("--instance-count", type=int, default=1, help="InitialInstanceCount: replicas (default 1)")
    kubernetes.add_argument("--router-image", help="the router's image (default sagemaker-emulator/router:1)")
    kubernetes.add_argument("--host-port", type=int,
                            help="for a local run: also publish each router on 127.0.0.1 from this port up")
    kubernetes.add_argument("--transform-job", type=Path, metavar="FILE",
                            help="instead: this CreateTransformJob request (YAML or JSON) as an indexed Job")
    kubernetes.add_argument("--volume-claim", help="with --transform-job: the PersistentVolumeClaim holding input/ and "
                                                   "output/ (default <job name>-data)")
    kubernetes.set_defaults(run=_export_kubernetes)


def _export_kubernetes(args: argparse.Namespace) -> int:
    from emulator.definition import load_file  # noqa: PLC0415 - keeps `--help` fast
    from emulator.export.render import to_yaml  # noqa: PLC0415

    definitions = load_file(args.definition)
    if args.names:
        unknown = sorted(set(args.names) - {d.name for d in definitions})
        if unknown:
            raise EmulatorError(f"{args.definition} defines no endpoint {unknown[0]!r}; it defines "
                                f"{', '.join(d.name for d in definitions)}. Fix: pass one of those to --endpoint.")
        definitions = [d for d in definitions if d.name in args.names]
    if args.transform_job:
        definitions, manifests = _transform_job(args, definitions)
    else:
        manifests = _endpoints(args, definitions)
    text = to_yaml(manifests, header=[f"Exported by `sagemaker-emulator export kubernetes {args.definition}`.",
                                      "Plain Kubernetes (apps/v1, batch/v1, v1): `kubectl apply -f` on a cluster; "
                                      "endpoints also run under `podman kube play` on one machine."])
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {len(manifests)} objects for {', '.join(d.name for d in definitions)} to {args.output}",
              file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _options(args: argparse.Namespace, host_port: int | None = None) -> Any:
    from emulator.export.kubernetes import ExportOptions  # noqa: PLC0415

    return ExportOptions(instance_type=args.instance_type, instance_count=args.instance_count, host_port=host_port,
                         **({"router_image": args.router_image} if args.router_image else {}))


def _endpoints(args: argparse.Namespace, definitions: list) -> list:
    from emulator.export.kubernetes import endpoint_manifests  # noqa: PLC0415

    manifests = []
    for offset, definition in enumerate(definitions):
        manifests += endpoint_manifests(definition, _options(args, None if args.host_port is None
                                                             else args.host_port + offset))
    return manifests


def _transform_job(args: argparse.Namespace, definitions: list) -> tuple[list, list]:
    """The request's ModelName picks the endpoint, as CreateTransformJob names a model."""
    import yaml  # noqa: PLC0415

    from emulator.export.transform_job import transform_job_manifests  # noqa: PLC0415
    from emulator.transform import from_request  # noqa: PLC0415

    try:
        request = yaml.safe_load(args.transform_job.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise EmulatorError(f"cannot read the transform job request {args.transform_job}: {exc}. "
                            "Fix: give a CreateTransformJob request as YAML or JSON.") from None
    if not isinstance(request, dict):
        raise EmulatorError(f"{args.transform_job} is not a CreateTransformJob request (a mapping). "
                            "Fix: write TransformJobName, ModelName, TransformInput, TransformOutput, ...")
    job = from_request(request)
    model = next((d for d in definitions if d.name == job.model_name), None)
    if model is None:
        raise EmulatorError(f"{args.transform_job}: ModelName {job.model_name!r} is not an endpoint of "
                            f"{args.definition} ({', '.join(d.name for d in definitions)}). Fix: name one of those.")
    return [model], transform_job_manifests(model, request, job, _options(args), claim=args.volume_claim)
