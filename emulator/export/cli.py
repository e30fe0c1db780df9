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
    kubernetes.set_defaults(run=_export_kubernetes)


def _export_kubernetes(args: argparse.Namespace) -> int:
    from emulator.definition import load_file  # noqa: PLC0415 - keeps `--help` fast
    from emulator.export.kubernetes import ExportOptions, endpoint_manifests  # noqa: PLC0415
    from emulator.export.render import to_yaml  # noqa: PLC0415

    definitions = load_file(args.definition)
    if args.names:
        unknown = sorted(set(args.names) - {d.name for d in definitions})
        if unknown:
            raise EmulatorError(f"{args.definition} defines no endpoint {unknown[0]!r}; it defines "
                                f"{', '.join(d.name for d in definitions)}. Fix: pass one of those to --endpoint.")
        definitions = [d for d in definitions if d.name in args.names]
    manifests = []
    for offset, definition in enumerate(definitions):
        options = ExportOptions(instance_type=args.instance_type, instance_count=args.instance_count,
                                host_port=None if args.host_port is None else args.host_port + offset,
                                **({"router_image": args.router_image} if args.router_image else {}))
        manifests += endpoint_manifests(definition, options)
    text = to_yaml(manifests, header=[f"Exported by `sagemaker-emulator export kubernetes {args.definition}`.",
                                      "Plain Kubernetes (apps/v1, v1): `kubectl apply -f` on a cluster, or "
                                      "`podman kube play` on one machine."])
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {len(manifests)} objects for {', '.join(d.name for d in definitions)} to {args.output}",
              file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
