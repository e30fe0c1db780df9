"""The embedded S3, STS and CloudWatch Logs on a real HTTP server in this process, as the owner runs them."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from emulator.aws import clients, embedded


@pytest.fixture(scope="session")
def embedded_aws():
    """The URL of the embedded services; the emulator's own S3 and logs calls go there too."""
    server = make_server("127.0.0.1", 0, embedded.create_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    clients.use_embedded(url)
    yield url
    clients.release_embedded(url)
    server.shutdown()


@pytest.fixture
def aws_client(embedded_aws):
    import boto3

    def client(service: str, region: str = "us-east-1"):
        return boto3.client(service, endpoint_url=embedded_aws, region_name=region,
                            aws_access_key_id="x", aws_secret_access_key="x")

    return client
