"""The emulated account and region, and the AWS names built from them."""

from __future__ import annotations

ACCOUNT = "123456789012"
REGION = "us-east-1"


def log_stream_arn(endpoint: str) -> str:
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{endpoint}"


def see_logs(endpoint: str) -> str:
    """The sentence that ends SageMaker's ModelError messages."""
    return (f"See https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}"
            f"#logEventViewer:group=/aws/sagemaker/Endpoints/{endpoint} in account {ACCOUNT} for more information.")
