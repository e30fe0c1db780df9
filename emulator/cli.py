"""`sagemaker-emulator`: serve pipelines, invoke them with a trace of each hop, list, read logs, prune."""

from __future__ import annotations

import argparse
import faulthandler
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import urllib3

from emulator.containers import labels as L
from emulator.invocation.chain import DEFAULT_INVOCATION_TIMEOUT
from emulator.env_option import env_entry, env_mapping
from emulator.errors import EmulatorError
from emulator.export.cli import add_parser as add_export_parser
from emulator.front.server import MAX_CONNECTIONS
from emulator.observe.log import DEFAULT_PER_ENDPOINT
from emulator.control.serverless import DEFAULT_IDLE as DEFAULT_SERVERLESS_IDLE
from emulator.invocation.outcomes import InvocationFailed
from emulator.trace import format_agreement, format_event, format_hops, format_invocation
from emulator.waiting import StopSignals, until_set

DEFAULT_URL = "http://127.0.0.1:8080"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    # SIGTERM (a CI runner's cancel, `kill`) stops like Ctrl-C: every command cleans up what it started.
    signal.signal(signal.SIGTERM, _interrupt)
    # `kill -USR1 <pid>` prints every thread's stack to stderr: what a run that does not stop is waiting on.
    # The process's own stderr: a caller's replacement (a test's capture) may have no file descriptor.
    if sys.__stderr__ is not None:
        faulthandler.register(signal.SIGUSR1, file=sys.__stderr__, all_threads=True)
    try:
        return args.run(args)
    except EmulatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except InvocationFailed as failure:  # a real-time invocation of `parity`
        print(f"error: {failure}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; everything started was removed.", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    # `check` is the contract suite's own command: its package is imported when the command line is read,
    # never by `import emulator`.
    from contract_tests.cli import add_parser as add_check_parser  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="sagemaker-emulator", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="answer the sagemaker control plane and runtime on one port; "
                                              "optionally preload the endpoints of a definition")
    serve.add_argument("definition", type=Path, nargs="?",
                       help="pipeline definition (YAML or JSON CreateModel request) whose endpoints are created at start")
    serve.add_argument("--state", type=Path, default=None,
                       help="folder of the control plane's state, kept across restarts (default with a definition "
                            "file: none, the run serves exactly the file's endpoints; without one: a per-user folder)")
    serve.add_argument("--describe-wait", type=float, default=45.0,
                       help="seconds a DescribeEndpoint of a Creating or Updating endpoint may wait for the status to "
                            "change before answering (default 45, under botocore's 60-s read timeout; 0: answer at once)")
    serve.add_argument("--time-scale", type=float, default=None, metavar="FACTOR",
                       help="multiply a guarded update's waits (baking periods, TerminationWaitInSeconds, "
                            "MaximumExecutionTimeoutInSeconds) and auto scaling's minutes and cooldowns by FACTOR, "
                            "e.g. 0.01 to bake 600 s in 6 (default: "
                            "SAGEMAKER_EMULATOR_TIME_SCALE, else 1)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (0: any free port)")
    _add_start_options(serve)
    serve.add_argument("--log-size", type=int, default=DEFAULT_PER_ENDPOINT,
                       help=f"invocations the request log keeps per endpoint (default {DEFAULT_PER_ENDPOINT}; 0: no log)")
    serve.add_argument("--log-bodies", type=int, default=0, metavar="BYTES",
                       help="keep up to BYTES of each request and response body in the request log (default 0: none)")
    serve.add_argument("--reuse", action="store_true",
                       help="keep the containers running at exit and adopt them next time when nothing changed "
                            "(definition, image ids, model artifacts, environment); `prune` removes them")
    serve.add_argument("--serverless-idle", type=float, default=None, metavar="SECONDS",
                       help="seconds a serverless variant serves nothing before its containers stop; its next "
                            "invocation starts them again, a cold start (default: SAGEMAKER_EMULATOR_SERVERLESS_IDLE, "
                            f"else {DEFAULT_SERVERLESS_IDLE:g})")
    serve.add_argument("--max-instances", type=int, default=None, metavar="N",
                       help="copies of a variant (or inference component) that run at most, whatever its instance "
                            "or copy count (default 4, or SAGEMAKER_EMULATOR_MAX_INSTANCES)")
    serve.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    serve.add_argument("--max-connections", type=int, default=MAX_CONNECTIONS, metavar="N",
                       help=f"connections the front holds at once, idle kept-alive ones included; each carries at most "
                            f"one request in flight (default {MAX_CONNECTIONS}); more wait to be accepted")
    serve.set_defaults(run=_serve)

    invoke = commands.add_parser("invoke", help="send a request to an endpoint; --trace shows each hop")
    invoke.add_argument("endpoint", help="endpoint name")
    invoke.add_argument("input", nargs="?", default="-", help="file to send (default: standard input)")
    invoke.add_argument("--url", default=DEFAULT_URL, help=f"a running `serve` (default {DEFAULT_URL})")
    invoke.add_argument("--definition", type=Path,
                        help="instead of --url: start the definition's endpoint, invoke once, and stop it")
    invoke.add_argument("--content-type", help="Content-Type sent to the first container")
    invoke.add_argument("--accept", help="Accept sent to the last container")
    invoke.add_argument("--custom-attributes", help="X-Amzn-SageMaker-Custom-Attributes")
    invoke.add_argument("--target-container", help="TargetContainerHostname (Direct mode)")
    invoke.add_argument("--trace", action="store_true", help="print each hop as a table on standard error")
    invoke.add_argument("--bodies", action="store_true", help="with --trace: also print what each container received and returned")
    invoke.add_argument("--startup-timeout", type=float, help="with --definition: seconds to wait for /ping")
    _add_instance_type(invoke)
    invoke.set_defaults(run=_invoke)

    batch = commands.add_parser("transform", help="run a batch transform job on a pipeline (or one image)")
    _add_model_options(batch)
    batch.add_argument("--input", type=Path, required=True, help="input file, or folder of files")
    batch.add_argument("--output", type=Path, required=True, help="folder for the <input name>.out files")
    for flag, choices in (("--content-type", None), ("--accept", None), ("--split-type", ["None", "Line", "RecordIO", "TFRecord"]),
                          ("--batch-strategy", ["SingleRecord", "MultiRecord"]), ("--assemble-with", ["None", "Line"]),
                          ("--input-filter", None), ("--output-filter", None), ("--join-source", ["None", "Input"])):
        batch.add_argument(flag, choices=choices)
    for flag in ("--max-payload-mb", "--max-concurrent-transforms", "--timeout", "--max-retries"):
        batch.add_argument(flag, type=int)
    _add_instance_type(batch)
    batch.set_defaults(run=_transform)

    parity = commands.add_parser("parity", help="check that real-time answers equal the batch transform's, record by record")
    _add_model_options(parity)
    parity.add_argument("--data", type=Path, required=True, help="records, one per line")
    parity.add_argument("--content-type", default="text/csv")
    parity.add_argument("--accept", default="text/csv")
    parity.add_argument("--tolerance", type=float, default=1e-9, help="relative tolerance on floats (default 1e-9)")
    parity.set_defaults(run=_parity)

    trace = commands.add_parser("trace", help="print the invocations a running `serve` answered, from any client; "
                                              "--follow keeps printing as they come")
    trace.add_argument("endpoint", nargs="?", help="only this endpoint")
    trace.add_argument("--url", default=DEFAULT_URL, help=f"a running `serve` (default {DEFAULT_URL})")
    trace.add_argument("-f", "--follow", action="store_true", help="keep printing new invocations until Ctrl-C")
    trace.add_argument("--bodies", action="store_true",
                       help="also print what each container received and returned (kept when serve has --log-bodies)")
    trace.set_defaults(run=_trace)

    add_check_parser(commands)
    add_export_parser(commands)

    listing = commands.add_parser("ls", help="list the endpoints of a state folder (status, variants, containers) "
                                             "and the emulator's containers on this Docker engine")
    listing.add_argument("--state", type=Path, default=None, help="the state folder of a `serve` (default: the per-user one)")
    listing.set_defaults(run=_list)

    logs = commands.add_parser("logs", help="print an endpoint's container logs")
    logs.add_argument("endpoint")
    logs.add_argument("--container", help="only this container hostname")
    logs.add_argument("--tail", default="all", help="number of lines from the end (default all)")
    logs.add_argument("-f", "--follow", action="store_true")
    logs.set_defaults(run=_logs)

    prune = commands.add_parser("prune", help="remove the emulator's containers that no running emulator uses "
                                              "(those of killed runs, kept ones nobody holds), and nothing else")
    which = prune.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", dest="everything",
                       help="also stop and remove the containers of running emulators (says how many)")
    which.add_argument("--dead-only", action="store_true",
                       help="only those whose emulator process has died, and not those kept for --reuse")
    prune.set_defaults(run=_prune)
    return parser


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    """The model of `transform` and `parity`: an endpoint of a definition, or a single image."""
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument("--definition", type=Path, help="pipeline definition holding the model")
    model.add_argument("--image", help="a single image instead of a definition")
    parser.add_argument("--model", dest="model_name", help="ModelName: the definition's endpoint to use")
    parser.add_argument("--model-data", help="with --image: its model.tar.gz or folder")
    parser.add_argument("--env", action="append", type=env_entry, default=[], metavar="KEY=VALUE",
                        help="with --image: an environment variable for it (repeatable), e.g. SAGEMAKER_PROGRAM=inference.py")
    parser.add_argument("--startup-timeout", type=float, help="seconds to wait for /ping")


def _add_start_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint", action="append", dest="names", help="start only this endpoint (repeatable)")
    parser.add_argument("--startup-timeout", type=float, help="seconds to wait for /ping (default 240, or the definition's)")
    parser.add_argument("--invocation-timeout", type=float, default=DEFAULT_INVOCATION_TIMEOUT,
                        help="seconds a container may take to answer (default 60)")
    _add_instance_type(parser)


def _add_instance_type(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--instance-type", help="the SageMaker instance type the definition's containers run on "
                                                "(over its InstanceType; default ml.m5.large)")
    parser.add_argument("--no-instance-limits", dest="instance_limits", action="store_false",
                        help="give the containers the whole machine, not their instance type's vCPUs and memory")


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def _serve(args: argparse.Namespace) -> int:
    from emulator.api import Emulator  # noqa: PLC0415 - keeps `--help` fast
    from emulator.artifacts import warn_sagemaker_refusals  # noqa: PLC0415
    from emulator.instances import ASSUMED  # noqa: PLC0415
    from emulator.control.store import default_state_folder  # noqa: PLC0415

    # A definition file is a run of its own: exactly its endpoints, nothing restored, nothing kept (and so two
    # files can be served side by side). Without a file, the per-user state is the emulator's memory.
    state = args.state or (None if args.definition else default_state_folder())
    emulator = Emulator(args.definition, names=args.names, state=state, startup_timeout=args.startup_timeout,
                        invocation_timeout=args.invocation_timeout, progress=_progress, describe_wait=args.describe_wait,
                        log_size=args.log_size, log_bodies=args.log_bodies, reuse=args.reuse,
                        instance_type=args.instance_type, instance_limits=args.instance_limits,
                        max_instances=args.max_instances, time_scale=args.time_scale,
                        serverless_idle=args.serverless_idle)
    # A multi-model container's ModelDataUrl is a prefix (a folder here), not an archive.
    warn_sagemaker_refusals(c.model_data for d in emulator.definitions for c in d.containers if not c.multi_model)
    front_failed: list[str] = []  # why the front died for good (it is restarted when it can be)
    failed = threading.Event()
    try:
        emulator.listen(args.host, args.port, workers=args.workers, max_connections=args.max_connections)
        emulator.front.on_failure = lambda reason: (front_failed.append(reason), failed.set())
        print(f"state: {state}" if state else "state: none kept (a definition file's run; --state DIR keeps it)",
              file=sys.stderr, flush=True)
        if emulator.definitions:
            print(f"starting {', '.join(d.name for d in emulator.definitions)} ...", file=sys.stderr, flush=True)
        assumed = [d.name for d in emulator.definitions if not d.instance_type]
        if assumed:
            print(f"instance type: {ASSUMED} assumed for {', '.join(assumed)} (InstanceType in the definition, or "
                  "--instance-type, chooses another)", file=sys.stderr, flush=True)
        emulator.start()
        url = emulator.serve()
        stop = StopSignals().install()  # once serving, Ctrl-C and SIGTERM are the normal way to stop
        _print_ready(url, emulator, kept=state is not None)
        until_set(failed, stop)
    finally:
        # A second Ctrl-C (or a supervisor's SIGTERM) must not cut the cleanup short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("stopping: keeping containers for the next --reuse run ..." if args.reuse
              else "stopping: removing containers ...", file=sys.stderr, flush=True)
        emulator.stop()
    if front_failed:
        print(f"error: {front_failed[0]}", file=sys.stderr, flush=True)
        return 1
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _print_ready(url: str, emulator: Any, kept: bool) -> None:
    print(f"\nServing on {url}", flush=True)
    for name, endpoint in emulator.endpoints.items():
        for variant in endpoint.served.variants:
            hops = " -> ".join(r.hostname for r in variant.chain.routes)
            print(f"  endpoint {name} [{variant.name}] ({variant.chain.mode}): {hops}")
    exports = " ".join(f"{name}={value}" for name, value in emulator.environment().items())
    print("\nPoint boto3, the AWS CLI and the SageMaker SDK here (the sagemaker API, sagemaker-runtime and more, "
          f"on this one port):\n  export {exports}", flush=True)
    if emulator.endpoints:
        first = next(iter(emulator.endpoints))
        print(f"then: sagemaker-emulator invoke {first} --url {url} --content-type text/csv --trace FILE", flush=True)
    print("Ctrl-C stops everything; endpoints InService come back at the next start with the same --state." if kept
          else "Ctrl-C stops everything and keeps nothing (--state DIR keeps the endpoints for the next start).", flush=True)


def _read_input(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise EmulatorError(f"cannot read the input file {name}: {exc.strerror}.") from None


def _invoke(args: argparse.Namespace) -> int:
    body = _read_input(args.input)
    if args.definition:
        outcome = _invoke_definition(args, body)
    else:
        outcome = _invoke_url(args, body)
    if args.trace:
        print(format_hops(outcome["hops"]), file=sys.stderr)
    if outcome.get("error"):
        error = outcome["error"]
        print(f"error: {error['__type']} ({outcome['status']}): {error['Message']}", file=sys.stderr)
        return 1
    sys.stdout.write(outcome["body"])
    if not outcome["body"].endswith("\n"):
        sys.stdout.write("\n")
    return 0


def _invoke_url(args: argparse.Namespace, body: bytes, url: str | None = None) -> dict[str, Any]:
    """The invocation as the front's traced route answers it (`url`: the front; by default --url)."""
    url = url or args.url
    headers = {name: value for name, value in (
        ("Content-Type", args.content_type), ("Accept", args.accept),
        ("X-Amzn-SageMaker-Custom-Attributes", args.custom_attributes),
        ("X-Amzn-SageMaker-Target-Container-Hostname", args.target_container)) if value is not None}
    route = f"{url.rstrip('/')}/_emulator/endpoints/{args.endpoint}/invocations?bodies={str(args.bodies).lower()}"
    try:
        response = urllib3.PoolManager().request("POST", route, body=body, headers=headers, timeout=3600, retries=False)
    except urllib3.exceptions.HTTPError as exc:
        raise EmulatorError(f"nothing answers at {url} ({exc}). Fix: start it with "
                            "`sagemaker-emulator serve FILE`, pass its --url, or use --definition FILE.") from None
    data = json.loads(response.data)
    if response.status != 200:  # a wire error before the chain ran (unknown endpoint, bad header)
        return {"error": data, "status": response.status, "hops": []}
    return data


def _invoke_definition(args: argparse.Namespace, body: bytes) -> dict[str, Any]:
    """Start the definition's endpoint and ask its front: the answer is the one `--url` shows, by one path."""
    from emulator.api import Emulator  # noqa: PLC0415

    with Emulator(args.definition, names=[args.endpoint], startup_timeout=args.startup_timeout,
                  progress=_progress, instance_type=args.instance_type,
                  instance_limits=args.instance_limits) as emulator:
        return _invoke_url(args, body, emulator.serve())


def _trace(args: argparse.Namespace) -> int:
    pool = urllib3.PoolManager(retries=False)
    since = 0
    while True:
        query = urlencode({"since": since, "wait": 5 if args.follow else 0, **({"endpoint": args.endpoint} if args.endpoint else {})})
        try:
            answer = pool.request("GET", f"{args.url.rstrip('/')}/_emulator/invocations?{query}", timeout=30)
        except urllib3.exceptions.HTTPError as exc:
            raise EmulatorError(f"nothing answers at {args.url} ({exc}). Fix: start it with "
                                "`sagemaker-emulator serve FILE`, or pass its --url.") from None
        if answer.status != 200:
            raise EmulatorError(f"{args.url} answered {answer.status}: {answer.data.decode('utf-8', 'replace')[:300]}")
        page = json.loads(answer.data)
        entries = sorted(page["invocations"] + page["events"], key=lambda entry: entry["seq"])
        for entry in entries:
            text = format_invocation(entry, args.bodies) if entry["kind"] == "invocation" else format_event(entry)
            print(text, flush=True)
        if any("shadow" in entry for entry in entries) or not args.follow:
            for tally in page.get("shadow_agreement", []):
                print(format_agreement(tally), flush=True)
        # A smaller number than ours: the emulator was started again, with a new log.
        since = page["next"] if page["next"] >= since else 0
        if not args.follow:
            return 0


def _model(args: argparse.Namespace) -> Any:
    """The model of `transform` and `parity`: an endpoint of a definition, or one image."""
    from emulator.hosting.batch import load_model  # noqa: PLC0415

    if args.image:
        model_data = {"ModelDataUrl": str(Path(args.model_data).resolve())} if args.model_data else {}
        container = {"Image": args.image, "Environment": env_mapping(args.env), **model_data}
        return load_model({"PrimaryContainer": container}, None)
    if args.env:
        raise EmulatorError("--env goes with --image; a definition's containers take theirs from its Environment. "
                            "Fix: set Environment in the definition.")
    return load_model(args.definition, args.model_name)


def _parity(args: argparse.Namespace) -> int:
    from emulator.hosting.parity import check_parity  # noqa: PLC0415

    report = check_parity(_model(args), args.data, content_type=args.content_type, accept=args.accept,
                          tolerance=args.tolerance, startup_timeout=args.startup_timeout, progress=_progress)
    print(report.explain())
    return 0 if report.ok else 1


def _transform(args: argparse.Namespace) -> int:
    from emulator.hosting.batch import job_from_options, transform  # noqa: PLC0415
    from emulator.instances import ASSUMED  # noqa: PLC0415

    model = _model(args)
    options = {key: getattr(args, key) for key in (
        "content_type", "accept", "split_type", "batch_strategy", "assemble_with", "input_filter", "output_filter",
        "join_source", "max_payload_mb", "max_concurrent_transforms", "timeout", "max_retries", "instance_type")}
    job = job_from_options(model.name, args.input, args.output, **options)
    if not (job.instance_type or model.instance_type):
        print(f"instance type: {ASSUMED} assumed (--instance-type, or InstanceType in the definition, chooses "
              "another)", file=sys.stderr)
    report = transform(model, job, args.input, args.output, startup_timeout=args.startup_timeout, progress=_progress,
                       instance_limits=args.instance_limits)
    params = report.params
    print(f"transformed {report.records} records of {len(report.files)} file(s) in {report.requests} requests, "
          f"{report.seconds:.1f} s, into {args.output}\n  MaxConcurrentTransforms={params.max_concurrent_transforms} "
          f"BatchStrategy={params.batch_strategy.value} MaxPayloadInMB={params.max_payload_in_mb} "
          f"(from: {', '.join(f'{k} {v}' for k, v in params.sources.items())})")
    return 0


def _list(args: argparse.Namespace) -> int:
    from emulator.containers.docker_backend import DockerBackend  # noqa: PLC0415

    _list_endpoints(args.state)
    containers = DockerBackend().list_managed()
    if not containers:
        print("no emulator containers on this engine.")
        return 0
    print(f"\n{'endpoint':20} {'container':16} {'status':10} {'port':6} {'owner':10} {'name':40} state")
    for c in sorted(containers, key=lambda c: (c.labels.get(L.ENDPOINT, ""), c.name)):
        owner = "gone" if L.owner_is_gone(c.labels) else f"pid {c.labels.get(L.PID, '?')}"
        print(f"{c.labels.get(L.ENDPOINT, '?'):20} {c.labels.get(L.CONTAINER_HOSTNAME, '?'):16} {c.status:10} "
              f"{c.labels.get(L.HOST_PORT, '-'):6} {owner:10} {c.name:40} {L.state_of(c.labels)}")
    return 0


def _list_endpoints(state: Path | None) -> None:
    """The endpoints a state folder records, with the containers each variant (and each inference component)
    serves from, copy by copy."""
    from emulator.control.plane import ENDPOINT, INFERENCE_COMPONENT  # noqa: PLC0415
    from emulator.control.records import read_all as records_of  # noqa: PLC0415
    from emulator.control.store import database_path, default_state_folder, read_all  # noqa: PLC0415
    from emulator.seam.serving import connect, read_serving  # noqa: PLC0415

    folder = state or default_state_folder()
    database = database_path(folder)
    if not database.exists():
        print(f"no control-plane state in {folder}.")
        return
    connection = connect(database, readonly=True)
    try:
        records, serving = records_of(read_all(connection, ENDPOINT)), read_serving(connection)
        components = [document["Describe"] for document in read_all(connection, INFERENCE_COMPONENT)]
    finally:
        connection.close()
    print(f"endpoints of {folder}:" if records else f"no endpoints in {folder}.")
    for record in records:
        print(f"  {record.name}  {record.status}  (config {record.config_name})")
        spec = serving.get(record.name.lower())
        served = {variant.name: variant for variant in spec.variants} if spec else {}
        idle = "coming back after a restart" if spec and spec.starting else "not serving"
        for variant in record.deployed.variants:
            if variant.model is None:
                print(f"    {variant.name}  hosts inference components:")
                continue
            print(f"    {variant.name}  weight {variant.weight:g}  model {variant.model['ModelName']}: "
                  f"{_copies(served.get(variant.name)) or idle}")
        running = {component.component: component for component in spec.components} if spec else {}
        for ic in components:
            if ic["EndpointName"].lower() == record.name.lower():
                print(f"    component {ic['InferenceComponentName']}  {ic['InferenceComponentStatus']}  on "
                      f"{ic['VariantName']}: {_copies(running.get(ic['InferenceComponentName'])) or 'no copy serves'}")
        if record.failure_reason:
            print(f"    FailureReason: {record.failure_reason}")


def _copies(variant: Any) -> str:
    """`hostname URL, ...` of a variant's one copy, or `copy: hostname URL; ...` of each of its copies."""
    if variant is None:
        return ""
    if not variant.copies:
        return ", ".join(f"{hostname} {url}" for hostname, url in variant.routes)
    return "; ".join(f"{copy.name}: " + ", ".join(f"{hostname} {url}" for hostname, url in copy.routes)
                     for copy in variant.copies)


def _logs(args: argparse.Namespace) -> int:
    from emulator.containers.docker_backend import DockerBackend  # noqa: PLC0415

    backend = DockerBackend()
    filters = {L.ENDPOINT: args.endpoint}
    if args.container:
        filters[L.CONTAINER_HOSTNAME] = args.container
    containers = backend.list_managed(**filters)
    if not containers:
        raise EmulatorError(f"no container of endpoint {args.endpoint}"
                            f"{' named ' + args.container if args.container else ''} runs; see `sagemaker-emulator ls`.")
    tail = args.tail if args.tail == "all" else int(args.tail)
    if args.follow:
        if len(containers) > 1:
            names = ", ".join(c.labels.get(L.CONTAINER_HOSTNAME, c.name) for c in containers)
            raise EmulatorError(f"--follow reads one container; pick one with --container ({names}).")
        for chunk in backend.logs(containers[0].id, tail=tail, follow=True):
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
        return 0
    for container in containers:
        hostname = container.labels.get(L.CONTAINER_HOSTNAME, container.name)
        print(f"==> {args.endpoint}/{hostname} ({container.name}) <==")
        sys.stdout.write(backend.logs(container.id, tail=tail).decode("utf-8", "replace"))
    return 0


def _prune(args: argparse.Namespace) -> int:
    from emulator.containers.docker_backend import DockerBackend  # noqa: PLC0415
    from emulator.hosting import resident  # noqa: PLC0415
    from emulator.containers.leftovers import prune, remove_dead_runs  # noqa: PLC0415

    backend = DockerBackend()
    used: list[str] = []
    if args.dead_only:
        removed = remove_dead_runs(backend)
    else:
        stopped, held = resident.stop_unheld()  # their containers are then kept ones nobody holds
        if stopped or held:
            print(f"stopped {len(stopped)} resident emulators kept for reuse"
                  + (f"; {len(held)} in use by a run left running" if held else ""))
        removed, used = prune(backend, everything=args.everything)
    if used and args.everything:
        print(f"stopped {len(used)} in use by running emulators: {', '.join(used)}")
    print(f"removed {len(removed)}: {', '.join(removed)}" if removed else "nothing to remove.")
    if used and not args.everything:
        print(f"left {len(used)} in use by running emulators; `prune --all` stops them too.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
