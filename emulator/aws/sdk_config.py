"""A SageMaker Python SDK defaults file for scripts pointed at the emulator.

The SDK finds its default bucket by asking STS for the account at AWS's own URL, which no environment
variable redirects; its defaults file can name the bucket instead, so `Session().default_bucket()` works
unchanged. The file also turns the SDK's telemetry off: nothing leaves the machine. `serve` puts it in
the exported environment as SAGEMAKER_USER_CONFIG_OVERRIDE (which stands in for ~/.config/sagemaker/config.yaml).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from emulator.arns import ACCOUNT, REGION

VARIABLE = "SAGEMAKER_USER_CONFIG_OVERRIDE"
FILE_NAME = "sagemaker-sdk-config.yaml"
# The name the SDK itself would choose: sagemaker-<region>-<account>.
DEFAULT_BUCKET = f"sagemaker-{REGION}-{ACCOUNT}"


def write(folder: Path) -> Path:
    path = Path(folder) / FILE_NAME
    path.write_text(yaml.safe_dump({"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {
        "TelemetryOptOut": True, "Session": {"DefaultS3Bucket": DEFAULT_BUCKET}}}}}, sort_keys=False))
    return path
