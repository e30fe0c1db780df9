"""`sagemaker-emulator check`: the contract suite as a command; it runs `pytest --pyargs contract_tests`."""

from __future__ import annotations

import argparse

from contract_tests.options import DEFINITION, IMAGE, MODEL_DATA, OPTIONS
from emulator.errors import EmulatorError

# Report skip reasons (they name the option to pass) and failures; keep pytest's cache out of the user's folder.
# This command imported the packages before pytest starts, so pytest's note that it cannot rewrite
# their asserts is noise here (the checks' messages do not depend on it).
PYTEST_DEFAULTS = ["--pyargs", "contract_tests", "-rfEs", "-p", "no:cacheprovider",
                   "-W", "ignore::pytest.PytestAssertRewriteWarning"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    check = subparsers.add_parser(
        "check", help="check images, or a pipeline definition, against SageMaker's container contract",
        description="Start each image as SageMaker would and check the container contract; each failure says what "
                    "SageMaker would do and how to fix it. Runs `pytest --pyargs contract_tests`.")
    for option in OPTIONS:
        if option is IMAGE:
            check.add_argument(option.dest, nargs="*", metavar=option.metavar, help=option.help)
        else:
            check.add_argument(f"--{option.name}", **option.arguments())
    check.add_argument("--junitxml", metavar="FILE", help="also write a JUnit XML report (pytest's --junitxml)")
    check.add_argument("-k", dest="keyword", metavar="EXPR", help="only the checks matching EXPR (pytest's -k)")
    check.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import pytest  # noqa: PLC0415 - keeps `sagemaker-emulator --help` fast

    from emulator.artifacts import warn_sagemaker_refusals  # noqa: PLC0415

    if not getattr(args, IMAGE.dest) and not getattr(args, DEFINITION.dest):
        raise EmulatorError("nothing to check. Fix: name one or more images, or pass --definition FILE.")
    warn_sagemaker_refusals(_model_data(args))
    return int(pytest.main(pytest_arguments(args)))


def _model_data(args: argparse.Namespace) -> list[str | None]:
    """The ModelDataUrls the run mounts: the options', or the definition's containers'."""
    definition = getattr(args, DEFINITION.dest)
    if definition is None:
        return list(getattr(args, MODEL_DATA.dest) or [])
    from emulator.definition import load_file  # noqa: PLC0415
    try:
        return [c.model_data for d in load_file(definition) for c in d.containers]
    except EmulatorError:
        return []  # the suite reports the definition's problem itself


def pytest_arguments(args: argparse.Namespace) -> list[str]:
    arguments = list(PYTEST_DEFAULTS)
    for option in OPTIONS:
        value = getattr(args, option.dest)
        for item in value if option.repeatable else [] if value is None else [value]:
            arguments += [f"--sagemaker-{option.name}", str(item)]
    if args.junitxml:
        arguments += ["--junitxml", args.junitxml]
    if args.keyword:
        arguments += ["-k", args.keyword]
    return arguments
