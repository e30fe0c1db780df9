"""The contract suite's options, declared once for pytest (`--sagemaker-...`) and for `sagemaker-emulator check`.

The suite's pytest plugin (contract_tests/plugin.py) imports this module in every pytest run: it imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.env_option import env_entry
from emulator.containers.launcher import DEFAULT_STARTUP_TIMEOUT


@dataclass(frozen=True)
class Option:
    name: str  # `--sagemaker-NAME` for pytest, `--NAME` for `sagemaker-emulator check`
    metavar: str
    help: str
    repeatable: bool = False
    type: Any = str

    @property
    def dest(self) -> str:
        return "sagemaker_" + self.name.replace("-", "_")

    def arguments(self) -> dict[str, Any]:
        """Keyword arguments for pytest's addoption and argparse's add_argument alike."""
        repeat = {"action": "append", "default": []} if self.repeatable else {}
        return dict(dest=self.dest, metavar=self.metavar, help=self.help, type=self.type, **repeat)


IMAGE = Option("image", "IMAGE", "image to check against SageMaker's container contract (repeatable)", repeatable=True)
MODEL_DATA = Option("model-data", "PATH", "model.tar.gz or folder mounted at /opt/ml/model: one per image in order, "
                    "or one for all", repeatable=True)
SAMPLE = Option("sample", "PATH[:CONTENT_TYPE]", "a request body for /invocations (repeatable); the content type "
                "defaults from the extension: .csv text/csv, .json application/json", repeatable=True)
DEFINITION = Option("definition", "FILE", "a pipeline definition: check each of its containers and the chain")
STARTUP_TIMEOUT = Option("startup-timeout", "SECONDS", "seconds a container may take to pass /ping "
                         f"(default {DEFAULT_STARTUP_TIMEOUT:g}, SageMaker's)", type=float)
PARITY_DATA = Option("parity-data", "PATH[:CONTENT_TYPE]", "records, one per line: check that each image given "
                     "answers them in real time exactly as in a batch transform (the preprocessing parity check)")
ENV = Option("env", "KEY=VALUE", "an environment variable for every image given (repeatable), e.g. "
             "SAGEMAKER_PROGRAM=inference.py; a definition's containers take their Environment", repeatable=True,
             type=env_entry)
OPTIONS = (IMAGE, MODEL_DATA, SAMPLE, DEFINITION, STARTUP_TIMEOUT, PARITY_DATA, ENV)


def add_options(group: Any) -> None:
    """Register the options in a pytest option group (called by contract_tests/plugin.py)."""
    for option in OPTIONS:
        group.addoption(f"--sagemaker-{option.name}", **option.arguments())


@dataclass(frozen=True)
class SuiteOptions:
    images: list[str]
    model_data: list[str]
    samples: list[str]
    definition: Path | None
    startup_timeout: float
    parity_data: str | None
    env: list[str]

    @classmethod
    def of(cls, config: Any) -> SuiteOptions:
        value = config.getoption
        definition = value(DEFINITION.dest)
        return cls(images=value(IMAGE.dest), model_data=value(MODEL_DATA.dest), samples=value(SAMPLE.dest),
                   definition=Path(definition) if definition else None,
                   startup_timeout=value(STARTUP_TIMEOUT.dest) or DEFAULT_STARTUP_TIMEOUT,
                   parity_data=value(PARITY_DATA.dest), env=value(ENV.dest))
