"""Pings while a container starts, timed: one whose /ping answers, but slower than SageMaker's 2 s, would never
pass SageMaker's health check. Rather than wait the whole startup limit (4 minutes), the suite gives up after
a few such answers and says how slow they were."""

from __future__ import annotations

from contract_tests import calls
from emulator.invocation.container_http import PING_TIMEOUT

MEASURE_TIMEOUT = 10.0  # how long a ping over SageMaker's limit is still waited for, to measure it
SLOW_ANSWERS_TO_FAIL = 3


class PingWatch:
    def __init__(self) -> None:
        self.slow: list[float] = []  # seconds of each answer that came, but too late

    def healthy(self, url: str) -> bool:
        answer = calls.request("GET", url + "/ping", timeout=MEASURE_TIMEOUT)
        if answer.status == 200 and answer.seconds > PING_TIMEOUT:
            self.slow.append(answer.seconds)
            return False
        return answer.status == 200

    @property
    def too_slow(self) -> bool:
        return len(self.slow) >= SLOW_ANSWERS_TO_FAIL

    def problem(self) -> str:
        times = ", ".join(f"{seconds:.1f} s" for seconds in self.slow)
        return (f"answered GET /ping with 200, but slower than SageMaker's {PING_TIMEOUT:g} s per ping ({times}), "
                "so each would count as failed (answer /ping from a cheap handler that does not touch the model, "
                "with a worker or thread kept free for it)")
