"""Each package registers its own pytest options, and the emulator imports no test code."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("docker", "flask", "boto3", "botocore", "urllib3", "requests", "yaml", "emulator.api")


def run(script: str) -> str:
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip()


def test_importing_the_emulator_or_its_cli_imports_no_test_code():
    assert run("import sys, emulator, emulator.cli; print('contract_tests' in sys.modules)") == "False"


def test_the_contract_suites_plugin_loads_nothing_heavy():
    assert run(f"import sys, contract_tests.plugin; print([m for m in {HEAVY!r} if m in sys.modules])") == "[]"
