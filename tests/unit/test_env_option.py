"""`--env KEY=VALUE` for check (and pytest's --sagemaker-env), parity and transform --image."""

from __future__ import annotations

import argparse

import pytest

from contract_tests.options import SuiteOptions
from contract_tests.plan import make_plan
from emulator.cli import _parser
from emulator.env_option import env_entry, env_mapping


def test_entries_are_key_value_and_the_last_one_wins():
    assert env_mapping(["SAGEMAKER_PROGRAM=a.py", "X=1=2", "SAGEMAKER_PROGRAM=inference.py"]) == {
        "SAGEMAKER_PROGRAM": "inference.py", "X": "1=2"}
    for bad in ("NO_EQUALS", "=value"):
        with pytest.raises(argparse.ArgumentTypeError, match="is not KEY=VALUE"):
            env_entry(bad)


def test_check_gives_the_environment_to_every_image_it_checks():
    options = SuiteOptions(images=["one:1", "two:1"], model_data=[], samples=[], definition=None, startup_timeout=5,
                           parity_data=None, env=["SAGEMAKER_PROGRAM=inference.py"])
    assert [t.environment for t in make_plan(options).targets] == [{"SAGEMAKER_PROGRAM": "inference.py"}] * 2


@pytest.mark.parametrize("command", [["check", "img:1"], ["parity", "--image", "img:1", "--data", "rows.csv"],
                                     ["transform", "--image", "img:1", "--input", "in", "--output", "out"]])
def test_the_commands_take_env_options(command):
    args = _parser().parse_args([*command, "--env", "A=1", "--env", "B=2"])
    assert env_mapping(getattr(args, "env", None) or args.sagemaker_env) == {"A": "1", "B": "2"}
