"""pytest plugin of the contract suite, registered under its own `pytest11` entry point: it owns the
suite's `--sagemaker-...` options, so `pytest --pyargs contract_tests` runs with or without the
emulator's plugin. Every pytest run imports it: it imports nothing but the option declarations."""

from __future__ import annotations

import pytest

from contract_tests.options import add_options


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser.getgroup("sagemaker-emulator", "SageMaker endpoint emulator"))
