"""One SageMaker Python SDK local-mode run, inside bench/.venv-sagemaker; bench/local_mode.py starts it.

Deploys one image with instance_type="local", times the first answer, then `--requests` predictions,
deletes the endpoint, and prints one JSON object on its last line. Standard library and the SDK only.

Nothing may leave the machine: an audit hook refuses every socket connection to a non-loopback address
(and counts the attempts), on top of the proxy variables and dummy credentials the orchestrator sets.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import socket
import sys
import time

clock = time.perf_counter
blocked: list[str] = []


def refuse_remote_connections(event: str, args: tuple) -> None:
    if event != "socket.connect":
        return
    sock, address = args
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return  # the Docker engine's unix socket
    host = address[0]
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        blocked.append(f"{host}:{address[1]}")
        raise ConnectionRefusedError(f"bench: connection to {host}:{address[1]} refused (nothing may leave the machine)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--image", required=True)
    parser.add_argument("--model-data", required=True, help="file://.../model.tar.gz")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--wait", choices=["true", "false"], required=True)
    parser.add_argument("--body-file", required=True)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--max-seconds", type=float, default=60)
    args = parser.parse_args()
    sys.addaudithook(refuse_remote_connections)
    with open(args.body_file, "rb") as stream:
        body = stream.read()

    imported = clock()
    import sagemaker
    from sagemaker.deserializers import BytesDeserializer
    from sagemaker.local import LocalSession
    from sagemaker.model import Model
    from sagemaker.predictor import Predictor
    from sagemaker.serializers import IdentitySerializer

    result: dict = {"sdk_version": sagemaker.__version__, "wait": args.wait == "true",
                    "import_s": clock() - imported}
    name = f"bench-local-mode-{args.port}"
    began = clock()
    session = LocalSession()
    session.config = {"local": {"local_code": True, "serving_port": args.port}}
    model = Model(image_uri=args.image, model_data=args.model_data, role="arn:aws:iam::123456789012:role/dummy",
                  predictor_cls=Predictor, sagemaker_session=session, name=name)
    predictor = None
    try:
        predictor = model.deploy(initial_instance_count=1, instance_type="local", endpoint_name=name,
                                 serializer=IdentitySerializer(content_type="text/csv"),
                                 deserializer=BytesDeserializer(accept="text/csv"), wait=args.wait == "true")
        result["deploy_returned_s"] = clock() - began
        if predictor is None:
            predictor = Predictor(name, sagemaker_session=session, serializer=IdentitySerializer(content_type="text/csv"),
                                  deserializer=BytesDeserializer(accept="text/csv"))
        deadline = clock() + 300
        while True:  # with wait=False: poll until the endpoint answers
            try:
                first = predictor.predict(body)
                break
            except Exception:
                if clock() > deadline:
                    raise
                time.sleep(0.05)
        result["first_answer_s"] = clock() - began
        result["first_answer_bytes"] = len(first)
        # The floor, alternating with predict (ABBA): the same request straight to the container's port.
        import urllib3

        pool = urllib3.PoolManager()
        url = f"http://127.0.0.1:{args.port}/invocations"
        headers = {"Content-Type": "text/csv", "Accept": "text/csv"}
        subjects = {"predict_ms": lambda: predictor.predict(body),
                    "direct_ms": lambda: pool.request("POST", url, body=body, headers=headers).data}
        latencies: dict[str, list[float]] = {name: [] for name in subjects}
        stop_at = clock() + args.max_seconds
        for number in range(args.requests):
            for name in (list(subjects) if number % 2 == 0 else list(subjects)[::-1]):
                started = clock()
                subjects[name]()
                latencies[name].append((clock() - started) * 1000)
            if clock() > stop_at:
                break
        result.update(latencies)
    finally:
        removing = clock()
        if predictor is not None:
            try:
                predictor.delete_model()
            except Exception as exc:  # noqa: BLE001 - the endpoint's removal below matters, not this
                result["delete_model_error"] = str(exc)
            predictor.delete_endpoint(delete_endpoint_config=True)
        result["teardown_s"] = clock() - removing
        result["blocked_connections"] = blocked
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
