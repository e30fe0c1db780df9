"""The pytest plugin is imported by every pytest run of anyone who installs the package: keep it cheap."""

import subprocess
import sys

HEAVY = ("docker", "flask", "boto3", "botocore", "urllib3", "requests", "yaml", "emulator.api")


def test_importing_the_plugin_loads_nothing_heavy():
    script = f"import sys, emulator.pytest_plugin; print([m for m in {HEAVY!r} if m in sys.modules])"
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
