"""The serverless idle time: the Emulator's argument, else SAGEMAKER_EMULATOR_SERVERLESS_IDLE, else 600 s;
anything but a positive number is refused with the fix."""

from __future__ import annotations

import pytest

from emulator.errors import EmulatorError
from emulator.hosting.emulator import serverless_idle_of
from emulator.settings import SERVERLESS_IDLE


def test_the_argument_wins_then_the_setting_then_the_default(monkeypatch):
    monkeypatch.delenv(SERVERLESS_IDLE, raising=False)
    assert serverless_idle_of(None) == 600.0
    monkeypatch.setenv(SERVERLESS_IDLE, "2.5")
    assert serverless_idle_of(None) == 2.5
    assert serverless_idle_of(7) == 7.0


@pytest.mark.parametrize("text", ["0", "-3", "soon", "inf", "nan"])
def test_a_setting_that_is_not_a_positive_number_is_refused_with_the_fix(monkeypatch, text):
    monkeypatch.setenv(SERVERLESS_IDLE, text)
    with pytest.raises(EmulatorError, match=f"{SERVERLESS_IDLE} or --serverless-idle\\) is not a positive number. Fix:"):
        serverless_idle_of(None)
